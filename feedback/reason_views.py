"""The reason lists page: managers add, rename, retire and bring back reasons here (the admin is not needed)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from alignment.roles import Role, role_required
from feedback.models import Reason
from feedback.reasons import reason_add, reason_update

REASON_KEEPERS = (Role.SALES_MANAGER, Role.MARKETING_MANAGER, Role.ADMIN)


class ReasonAddForm(forms.Form):
    kind = forms.ChoiceField(choices=Reason.Kind.choices, label=_("List"))
    label = forms.CharField(max_length=100, label=_("Reason"))
    needs_comment = forms.BooleanField(required=False, label=_("Ask for a comment"))


class ReasonEditForm(forms.Form):
    label = forms.CharField(max_length=100, label=_("Reason"))
    needs_comment = forms.BooleanField(required=False, label=_("Ask for a comment"))
    is_active = forms.BooleanField(required=False, label=_("In use"))


def _page(request: HttpRequest, add_form: ReasonAddForm, *, status: int = 200) -> HttpResponse:
    reasons = list(Reason.objects.all())
    for reason in reasons:
        reason.form = ReasonEditForm(
            prefix=f"r{reason.pk}",
            initial={
                "label": reason.label,
                "needs_comment": reason.needs_comment,
                "is_active": reason.is_active,
            },
        )
    context = {"reasons": reasons, "kinds": Reason.Kind.choices, "add_form": add_form}
    return render(request, "feedback/reasons.html", context, status=status)


@role_required(*REASON_KEEPERS)
@require_http_methods(["GET", "POST"])
def reasons(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, ReasonAddForm())
    form = ReasonAddForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    reason = reason_add(**form.cleaned_data, user=request.user, now=timezone.now())
    messages.success(
        request,
        gettext("Added “%(label)s” to the %(kind)s reasons.")
        % {"label": reason.label, "kind": reason.get_kind_display().lower()},
    )
    return redirect("feedback:reasons")


@role_required(*REASON_KEEPERS)
@require_POST
def reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reason = get_object_or_404(Reason, pk=pk)
    form = ReasonEditForm(request.POST, prefix=f"r{reason.pk}")
    if not form.is_valid():
        messages.error(
            request,
            gettext("“%(label)s” was not changed: a reason needs a name (100 characters at most).")
            % {"label": reason.display_label},
        )
        return redirect("feedback:reasons")
    changes = form.cleaned_data
    if changes.get("label") == reason.display_label:  # a default label shown in the reader's words, unchanged
        changes = {**changes, "label": reason.label}
    reason = reason_update(reason_id=reason.pk, **changes, user=request.user, now=timezone.now())
    if reason.is_active:
        messages.success(request, gettext("Saved “%(label)s”: in use.") % {"label": reason.display_label})
    else:
        messages.success(
            request,
            gettext("Saved “%(label)s”: retired (kept on the records that used it).")
            % {"label": reason.display_label},
        )
    return redirect("feedback:reasons")
