"""Sales managers see every rep's availability and change it (a segment team's manager: their teams' reps only);
the Assign menu and round-robin read the same."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from alignment.names import person_name
from alignment.roles import Role, role_required
from leads.models import RepProfile
from leads.queue.assignment import rep_profile_update, rep_statuses
from leads.routing.forms import RepRoutingForm
from sla.services import segment_scope


@role_required(Role.SALES_MANAGER, Role.ADMIN)
@require_GET
def routing(request: HttpRequest) -> HttpResponse:
    return _page(request)


@role_required(Role.SALES_MANAGER, Role.ADMIN)
@require_POST
def routing_rep(request: HttpRequest, pk: int) -> HttpResponse:
    User = get_user_model()
    rep = get_object_or_404(User.objects.filter(is_active=True, groups__name=Role.REP.value), pk=pk)
    team = _team_of(request.user)
    if team is not None and rep.pk not in team:
        raise Http404("Not a rep of your segments.")
    profile = RepProfile.objects.filter(user=rep).first() or RepProfile(user=rep)
    form = RepRoutingForm(request.POST, instance=profile, prefix=f"rep{rep.pk}")
    if not form.is_valid():
        return _page(request, invalid=(rep.pk, form), status=422)
    values = {name: form.cleaned_data[name] for name in form.Meta.fields}
    rep_profile_update(rep=rep, by=request.user, now=timezone.now(), **values)
    messages.success(request, _("Saved routing for %(rep)s.") % {"rep": person_name(rep)})
    return redirect("leads:routing")


def _team_of(user: Any) -> set[int] | None:
    """The people of the user's segment teams (None: the user works across every segment)."""
    scope = segment_scope(user)
    if scope is None:
        return None
    User = get_user_model()
    return set(User.objects.filter(groups__segment__in=scope).values_list("pk", flat=True))


def _page(
    request: HttpRequest, *, invalid: tuple[int, RepRoutingForm] | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    rows = []
    team = _team_of(request.user)
    for status_ in rep_statuses(now=now):
        pk = status_.user.pk
        if team is not None and pk not in team:
            continue  # another segment's rep: their manager sets their routing
        form = (
            invalid[1]
            if invalid and invalid[0] == pk
            else RepRoutingForm(instance=status_.profile, prefix=f"rep{pk}")
        )
        rows.append({"status": status_, "form": form})
    return render(request, "leads/routing.html", {"rows": rows, "now": now}, status=status)
