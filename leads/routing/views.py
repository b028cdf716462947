"""Sales managers see every rep's availability and change it; the Assign menu and round-robin read the same."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from alignment.names import person_name
from alignment.roles import Role, role_required
from leads.models import RepProfile
from leads.queue.assignment import rep_profile_update, rep_statuses
from leads.routing.forms import RepRoutingForm


@role_required(Role.SALES_MANAGER, Role.ADMIN)
@require_GET
def routing(request: HttpRequest) -> HttpResponse:
    return _page(request)


@role_required(Role.SALES_MANAGER, Role.ADMIN)
@require_POST
def routing_rep(request: HttpRequest, pk: int) -> HttpResponse:
    User = get_user_model()
    rep = get_object_or_404(User.objects.filter(is_active=True, groups__name=Role.REP.value), pk=pk)
    profile = RepProfile.objects.filter(user=rep).first() or RepProfile(user=rep)
    form = RepRoutingForm(request.POST, instance=profile, prefix=f"rep{rep.pk}")
    if not form.is_valid():
        return _page(request, invalid=(rep.pk, form), status=422)
    values = {name: form.cleaned_data[name] for name in form.Meta.fields}
    rep_profile_update(rep=rep, by=request.user, now=timezone.now(), **values)
    messages.success(request, _("Saved routing for %(rep)s.") % {"rep": person_name(rep)})
    return redirect("leads:routing")


def _page(
    request: HttpRequest, *, invalid: tuple[int, RepRoutingForm] | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    rows = []
    for status_ in rep_statuses(now=now):
        pk = status_.user.pk
        form = (
            invalid[1]
            if invalid and invalid[0] == pk
            else RepRoutingForm(instance=status_.profile, prefix=f"rep{pk}")
        )
        rows.append({"status": status_, "form": form})
    return render(request, "leads/routing.html", {"rows": rows, "now": now}, status=status)
