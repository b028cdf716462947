"""The data-quality list: values set aside on the way in, for the marketers who own the forms and integrations."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alignment.roles import MARKETING, Role, role_required
from leads.models import DataProblem

PER_PAGE = 50


@role_required(MARKETING, Role.ADMIN)
@require_GET
def data_problems(request: HttpRequest) -> HttpResponse:
    """Newest first, one page at a time (two queries: a count and the page); `?lead=` narrows to one lead."""
    problems = DataProblem.objects.recent()
    lead = request.GET.get("lead", "")
    if lead.isdigit() and len(lead) <= 18:
        problems = problems.filter(lead_id=int(lead))
    page = Paginator(problems, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "leads/data_problems.html", {"page": page, "problems": page.object_list})
