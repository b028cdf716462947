"""The home page: per role, the counts and to-dos that say where to start (signatures, breaches, my due leads).

It lives in `feedback` because it reads both the agreement (`sla`) and the leads; `alignment` imports no app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from alignment.roles import ALL_ROLES, SALES, Role, role_required, user_roles
from leads.models import LONG_LATE, Lead, SlaBreach, State, Tier
from leads.scoping import visible_leads
from sla.models import AgreementVersion, Status
from sla.services import signing_sides


@dataclass(frozen=True)
class Todo:
    """One thing waiting for the user: what, how many, where to do it, and whether it is urgent."""

    text: str
    count: int
    url: str
    urgent: bool = False


@dataclass
class HomeFigures:
    todos: list[Todo] = field(default_factory=list)
    counts: list[tuple[str, int, str]] = field(default_factory=list)  # (label, number, link)


def home_figures(*, user: Any, now: datetime) -> HomeFigures:
    """What this user should look at first, in a handful of aggregate queries whatever the data size."""
    roles = user_roles(user)
    figures = HomeFigures()
    queue_url = reverse("leads:queue")
    week_ago = now - timedelta(days=7)

    sides = signing_sides(user)
    if sides:
        waiting = [
            version
            for version in AgreementVersion.objects.filter(status=Status.PROPOSED).prefetch_related(
                "signatures"
            )
            if not {s.side for s in version.signatures.all() if s.voided_at is None} >= set(sides)
        ]
        for version in waiting:
            figures.todos.append(
                Todo(
                    _("Version %(number)s of the agreement awaits your signature")
                    % {"number": version.number},
                    1,
                    version.get_absolute_url(),
                    urgent=True,
                )  # fmt: skip
            )

    if roles & SALES:
        mine = (
            Lead.objects.in_queue()
            .filter(owner=user)
            .aggregate(
                overdue=Count("pk", filter=Q(sla_due_at__lt=now)),
                due_today=Count(
                    "pk", filter=Q(sla_due_at__gte=now, sla_due_at__lt=now + timedelta(hours=24))
                ),
                total=Count("pk"),
            )
        )
        unassigned_hot = (
            visible_leads(user, Lead.objects.in_queue()).filter(owner__isnull=True, tier=Tier.HOT).count()
        )
        if mine["overdue"]:
            figures.todos.append(Todo(ngettext("%(n)s of your leads is past a deadline", "%(n)s of your leads are past a deadline",
                                               mine["overdue"]) % {"n": mine["overdue"]}, mine["overdue"],
                                      reverse("leads:my_day"), urgent=True))  # fmt: skip
        if mine["due_today"]:
            figures.todos.append(Todo(ngettext("%(n)s of your leads falls due in the next 24 hours",
                                               "%(n)s of your leads fall due in the next 24 hours",
                                               mine["due_today"]) % {"n": mine["due_today"]}, mine["due_today"],
                                      reverse("leads:my_day")))  # fmt: skip
        if unassigned_hot:
            figures.todos.append(Todo(ngettext("%(n)s hot lead waiting to be claimed", "%(n)s hot leads waiting to be claimed",
                                               unassigned_hot) % {"n": unassigned_hot}, unassigned_hot,
                                      f"{queue_url}?tab=unassigned&tier=hot", urgent=True))  # fmt: skip
        figures.counts.append((_("Your open leads"), mine["total"], f"{queue_url}?tab=mine"))

    if roles & {Role.SALES_MANAGER, Role.ADMIN}:
        queue = visible_leads(user, Lead.objects.in_queue()).aggregate(
            overdue=Count("pk", filter=Q(sla_due_at__lt=now)),
            long_late=Count("pk", filter=Q(sla_due_at__lt=now - LONG_LATE)),
            open=Count("pk"),
        )
        breaches = SlaBreach.objects.filter(detected_at__gte=week_ago).count()
        if queue["long_late"]:
            figures.todos.append(Todo(ngettext("%(n)s lead late by more than a day: reassign or close",
                                               "%(n)s leads late by more than a day: reassign or close",
                                               queue["long_late"]) % {"n": queue["long_late"]},
                                      queue["long_late"], f"{queue_url}?tab=overdue", urgent=True))  # fmt: skip
        figures.counts += [
            (_("Open leads with sales"), queue["open"], queue_url),
            (_("Past a deadline"), queue["overdue"], f"{queue_url}?tab=overdue"),
            (_("SLA breaches in the last 7 days"), breaches, f"{queue_url}?tab=overdue"),
        ]

    if roles & {Role.MARKETER, Role.MARKETING_MANAGER}:
        recent = Lead.objects.aggregate(
            handed_over=Count("pk", filter=Q(mql_at__gte=week_ago)),
            handed_back=Count("pk", filter=Q(state=State.RECYCLED, decided_at__gte=week_ago)),
        )
        figures.counts += [
            (_("MQLs handed to sales in the last 7 days"), recent["handed_over"], queue_url),
            (
                _("Handed back to marketing in the last 7 days"),
                recent["handed_back"],
                reverse("feedback:nurture"),
            ),
        ]
    return figures


@role_required(ALL_ROLES)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"figures": home_figures(user=request.user, now=timezone.now())})
