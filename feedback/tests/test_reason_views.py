"""Managers keep the reason lists in the product: add, rename, ask for a comment, retire (no admin page)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alignment.models import AuditEntry
from feedback.forms import RejectForm
from feedback.models import Reason
from feedback.reasons import ensure_default_reasons

pytestmark = pytest.mark.django_db


def test_a_manager_adds_renames_and_retires_a_reason_and_reps_see_the_change(
    sales_manager, login, django_assert_max_num_queries
):
    ensure_default_reasons()
    client = login(sales_manager)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("feedback:reasons")).content.decode()
    assert "/admin/" not in page and "Add a reason" in page
    # when the manager adds a rejection reason
    response = client.post(reverse("feedback:reasons"), {"kind": "rejection", "label": "Wrong region"})
    assert response.status_code == 302
    added = Reason.objects.get(kind="rejection", label="Wrong region")
    assert added.code == "wrong_region" and added.is_active
    # and retires "Student or job seeker" while renaming it
    student = Reason.objects.get(kind="rejection", code="student")
    client.post(reverse("feedback:reason_edit", args=[student.pk]), {f"r{student.pk}-label": "Student"})
    student.refresh_from_db()
    assert (student.label, student.is_active, student.needs_comment) == ("Student", False, False)
    # then the reject form offers the new reason and no longer the retired one
    offered = {r.label for r in RejectForm().fields["reason"].queryset}
    assert "Wrong region" in offered and "Student" not in offered
    assert AuditEntry.objects.filter(action="feedback.reason_changed").exists()
    page = client.get(reverse("feedback:reasons")).content.decode()
    assert "Saved “Student”: retired" in page


def test_bad_input_is_a_clear_4xx_and_reps_may_not_edit(sales_manager, rep, login):
    ensure_default_reasons()
    client = login(sales_manager)
    assert client.post(reverse("feedback:reasons"), {"kind": "nonsense", "label": ""}).status_code == 422
    assert client.post(reverse("feedback:reason_edit", args=[999_999]), {}).status_code == 404
    other = Reason.objects.first()
    assert login(rep).post(reverse("feedback:reason_edit", args=[other.pk]), {}).status_code == 403
    assert login(rep).get(reverse("feedback:reasons")).status_code == 403
