"""The CRM opportunity import page: upload an export of won / lost opportunities, see what it matched."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alignment.roles import MANAGERS, Role, role_required
from feedback import opportunities
from feedback.models import OpportunityImport
from leads.intake import imports

IMPORTERS = MANAGERS | {Role.MARKETER, Role.ADMIN}


class OpportunityForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CRM opportunity export (CSV or Excel)"),
        help_text=gettext_lazy(
            "One row per opportunity: an e-mail or external id column, a stage or won column; amount and close "
            "date if you have them."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,text/csv"}),
    )


@role_required(*IMPORTERS)
def opportunity_import(request: HttpRequest) -> HttpResponse:
    form = OpportunityForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > imports.MAX_BYTES:
            form.add_error(
                "file", _("The file is larger than %(mb)d MB.") % {"mb": imports.MAX_BYTES // 2**20}
            )
        else:
            try:
                record = opportunities.opportunities_import(
                    data=upload.read(), filename=upload.name, user=request.user, now=timezone.now()
                )
            except opportunities.OpportunityFileError as error:
                form.add_error("file", str(error))
            else:
                messages.success(
                    request,
                    _("%(leads)d leads now have a known result from the CRM (%(won)d won, %(lost)d lost).")
                    % {"leads": record.leads, "won": record.won, "lost": record.lost},
                )
                return redirect("feedback:opportunities")
    status = 400 if request.method == "POST" else 200
    recent = OpportunityImport.objects.select_related("imported_by")[:10]
    return render(request, "feedback/opportunities.html", {"form": form, "imports": recent}, status=status)
