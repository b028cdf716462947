"""The five roles, as Django groups, and the decorator every view uses to say which roles may use it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy


class Role(StrEnum):
    REP = "Rep"
    SALES_MANAGER = "Sales manager"
    MARKETER = "Marketer"
    MARKETING_MANAGER = "Marketing manager"
    ADMIN = "Admin"


# Group names stay English (they are data); what people read goes through gettext.
ROLE_LABELS: dict[Role, Promise] = {
    Role.REP: pgettext_lazy("role", "Rep"),
    Role.SALES_MANAGER: pgettext_lazy("role", "Sales manager"),
    Role.MARKETER: pgettext_lazy("role", "Marketer"),
    Role.MARKETING_MANAGER: pgettext_lazy("role", "Marketing manager"),
    Role.ADMIN: pgettext_lazy("role", "Admin"),
}

ALL_ROLES: frozenset[Role] = frozenset(Role)
MANAGERS: frozenset[Role] = frozenset({Role.SALES_MANAGER, Role.MARKETING_MANAGER})
SALES: frozenset[Role] = frozenset({Role.REP, Role.SALES_MANAGER})
MARKETING: frozenset[Role] = frozenset({Role.MARKETER, Role.MARKETING_MANAGER})


def user_roles(user: Any) -> frozenset[Role]:
    """The roles a user holds; a superuser holds Admin. Cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_alignment_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        user._alignment_groups = frozenset(names)  # also read by sla.services.segment_scope (team groups)
        cached = frozenset(role for role in Role if role.value in names)
        if user.is_superuser:
            cached |= {Role.ADMIN}
        user._alignment_roles = cached
    return cached


def user_group_names(user: Any) -> frozenset[str]:
    """Every group the user is in (fetched once with their roles): roles, and segment teams (sla.Segment)."""
    user_roles(user)
    return getattr(user, "_alignment_groups", frozenset())


def has_role(user: Any, *roles: Role) -> bool:
    return bool(user_roles(user) & set(roles))


ViewFunc = Callable[..., HttpResponse]


def role_required(*roles: Role | Iterable[Role]) -> Callable[[ViewFunc], ViewFunc]:
    """Let only users holding one of `roles` in; anonymous users go to the login page, others get a 403.

    The allowed roles are kept on the view as `allowed_roles`, so the role × URL test can check every URL.
    """
    allowed: set[Role] = set()
    for item in roles:
        allowed |= {item} if isinstance(item, Role) else set(item)
    frozen = frozenset(allowed)

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_roles(request.user) & frozen:
                raise PermissionDenied(_("Your role does not give access to this page."))
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = frozen  # type: ignore[attr-defined]
        return wrapper

    return decorator


def roles_context(request: HttpRequest) -> dict[str, Any]:
    roles = user_roles(getattr(request, "user", None))
    return {
        "user_roles": sorted(role.value for role in roles),
        "user_role_labels": sorted(str(ROLE_LABELS[role]) for role in roles),
        "is_rep": Role.REP in roles,
        "is_manager": bool(roles & MANAGERS),
        "is_sales": bool(roles & SALES),
        "is_marketing": bool(roles & MARKETING),
        "is_admin_role": Role.ADMIN in roles,
    }
