"""Demo users, one per role, for `make run` (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from alignment.roles import Role


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    first_name: str
    last_name: str
    role: Role


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("rep", "demo-rep-pass", "Riley", "Park", Role.REP),
    DemoUser("rep2", "demo-rep2-pass", "Sam", "Okafor", Role.REP),
    DemoUser("salesmanager", "demo-sales-pass", "Dana", "Whitfield", Role.SALES_MANAGER),
    DemoUser("marketer", "demo-marketer-pass", "Alex", "Moreno", Role.MARKETER),
    DemoUser("marketingmanager", "demo-marketing-pass", "Jordan", "Lee", Role.MARKETING_MANAGER),
    DemoUser("admin", "demo-admin-pass", "Ada", "Admin", Role.ADMIN),
)


def ensure_demo_users() -> list[DemoUser]:
    """Create (or reset to the documented password) one user per role. Running it twice is harmless."""
    User = get_user_model()
    for demo in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=demo.username)
        user.first_name, user.last_name = demo.first_name, demo.last_name
        user.email = f"{demo.username}@example.com"
        user.is_staff = user.is_superuser = demo.role is Role.ADMIN
        user.set_password(demo.password)
        user.save()
        user.groups.add(Group.objects.get_or_create(name=demo.role.value)[0])
    return list(DEMO_USERS)
