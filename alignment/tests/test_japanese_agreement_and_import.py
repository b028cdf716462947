"""A Japanese manager edits a draft agreement, compares versions and previews an import, all in Japanese: the
editor's operators and errors, the schema's refusals, the version comparison and the import's row problems."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from alignment.models import AuditEntry, UserPreference
from leads.models import ImportJob
from sla import services
from sla.models import AgreementVersion

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "section-fit_rules"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def suzuki(marketing_manager):
    """The marketing manager, who reads the product in Japanese."""
    marketing_manager.first_name, marketing_manager.last_name = "花子", "鈴木"
    marketing_manager.save()
    UserPreference.objects.create(user=marketing_manager, language="ja")
    return marketing_manager


@pytest.fixture
def draft(suzuki, sales_manager) -> AgreementVersion:
    services.agreement_ensure_starter(marketing_manager=suzuki, sales_manager=sales_manager, now=T0)
    return services.agreement_draft_create(user=suzuki, now=T0 + timedelta(hours=1), title="属性の見直し")


def visible(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def rule_post(**overrides: str) -> dict[str, str]:
    data = {"name": "従業員100名以上", "points": "10", "field": "employees", "op": "gte", "value": "100"}
    data.update(overrides)
    return {f"fit_rules-f3-{key}": value for key, value in data.items()}


def test_an_invalid_rule_value_is_refused_in_japanese_and_the_draft_is_unchanged(login, suzuki, draft):
    client = login(suzuki)
    url = reverse("sla:rule_edit", args=[draft.pk, "fit_rules", "f3"])
    # given the edit row, in Japanese: the operators and the value's help
    row = client.get(url, headers=HTMX)
    assert row.status_code == 200
    assert "のいずれか" in visible(row) and "の範囲内" in visible(row)
    assert "is one of" not in visible(row)
    before = AgreementVersion.objects.get(pk=draft.pk).content

    # when the manager types words where a number is needed
    response = client.post(url, rule_post(value="たくさん"), headers=HTMX)

    # then the refusal is beside the field, in Japanese, and nothing was saved
    assert response.status_code == 422
    assert "「たくさん」は数値ではありません。" in visible(response)
    assert "is not a number" not in visible(response)
    assert AgreementVersion.objects.get(pk=draft.pk).content == before

    # when a range is given the wrong way round
    response = client.post(url, rule_post(op="between", value="500, 10"), headers=HTMX)
    assert "1 つ目の数値は 2 つ目以下にしてください。" in visible(response)


def test_a_rule_on_an_outcome_is_refused_by_the_schema_in_japanese(login, suzuki, draft):
    # when the rule reads a field sales fill in after hand-off (the pure schema refuses it, in English words)
    response = login(suzuki).post(
        reverse("sla:rule_edit", args=[draft.pk, "fit_rules", "f3"]),
        rule_post(field="outcome_won", op="equals", value="yes"),
        headers=HTMX,
    )
    # then the manager reads why in Japanese, the field's name kept as typed
    assert response.status_code == 422
    body = visible(response)
    assert "「outcome_won」は営業への引き渡し後に記入される項目です" in body
    assert "is filled in after hand-off" not in body


def test_the_version_comparison_reads_in_japanese(login, suzuki, draft):
    client = login(suzuki)
    # given the draft's fit rule f3 gets more points and the MQL threshold moves
    response = client.post(
        reverse("sla:rule_edit", args=[draft.pk, "fit_rules", "f3"]), rule_post(points="20"), headers=HTMX
    )
    assert response.status_code == 200

    # when the manager compares the draft with the agreement in force
    page = client.get(reverse("sla:diff", args=[draft.pk]))

    # then sections and changes are in Japanese, the rule's own name kept
    assert page.status_code == 200
    body = visible(page)
    assert "属性ルール" in body
    assert re.search(r"従業員100名以上: \+10 → \+20 点", body), body
    assert "Fit rules" not in body and " points" not in body


def test_the_audit_log_of_a_japanese_edit_stays_in_english(login, suzuki, draft):
    login(suzuki).post(
        reverse("sla:rule_edit", args=[draft.pk, "fit_rules", "f3"]), rule_post(points="20"), headers=HTMX
    )
    changes = AuditEntry.objects.filter(object_id=str(draft.pk)).latest("pk").changes["content"][0]
    assert any("→ +20 points" in change for change in changes), changes


def test_an_import_preview_names_row_problems_in_japanese(login, suzuki):
    client = login(suzuki)
    out = io.StringIO(newline="")
    csv.writer(out).writerows(
        [
            ["Record ID", "First Name", "Last Name", "Email", "Company Name", "Number of Employees"],
            ["11", "一郎", "田中", "tanaka@acme.example", "アクメ", "250"],
            ["12", "次郎", "佐藤", "sato@", "サトウ商事", "10"],
            ["13", "三郎", "鈴木", "suzuki@suzuki.example", "鈴木工業", "たくさん"],
        ]
    )
    upload = SimpleUploadedFile("hubspot.csv", out.getvalue().encode(), content_type="text/csv")
    response = client.post(reverse("leads:import_new"), {"file": upload, "preset": "hubspot"})
    job = ImportJob.objects.get()
    mapping = client.get(response["Location"])
    # the mapping page labels its choices in Japanese
    assert "カスタム属性（テキスト）" in visible(mapping) and "外部ID（CRM のレコードID）" in visible(mapping)

    preview = visible(client.get(reverse("leads:import_preview", args=[job.pk])))

    assert "「sato@」は有効なメールアドレスではありません。" in preview
    assert "「たくさん」は従業員数として読めません。" in preview
    assert "is not a valid e-mail address" not in preview


def test_default_reasons_read_in_japanese_and_a_typed_label_as_typed():
    from django.utils import translation

    from feedback.models import Reason

    with translation.override("ja"):
        assert str(Reason(kind=Reason.Kind.REJECTION, code="not_a_fit", label="Not a fit")) == "ターゲット外"
        assert str(Reason(kind=Reason.Kind.LOSS, code="x", label="価格が合わない")) == "価格が合わない"
    assert str(Reason(kind=Reason.Kind.REJECTION, code="not_a_fit", label="Not a fit")) == "Not a fit"


def test_the_minimum_contact_attempts_refusal_reads_in_japanese():
    from django.utils import translation

    from leads.lifecycle.words import reject_refusal_words

    with translation.override("ja"):
        text = reject_refusal_words(attempts=1, minimum=3)
    assert text is not None and "最低 3 回のコンタクト" in text and "あと 2 回" in text
    assert reject_refusal_words(attempts=0, minimum=1) == (
        "The agreement asks for at least 1 contact attempt before a lead is rejected; 0 logged so far. "
        "Log 1 more before rejecting."
    )
    assert reject_refusal_words(attempts=3, minimum=3) is None


def test_the_assign_menus_availability_notes_read_in_japanese():
    from datetime import time

    from django.utils import translation

    from leads.queue.availability import availability
    from leads.queue.wording import availability_words

    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    busy = availability(
        is_away=False, away_from=now - timedelta(hours=1), away_until=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
        works_from=time(12, 0), works_until=time(18, 0), open_leads=5, capacity=5, now=now, local_now=time(10, 0),
    )  # fmt: skip
    with translation.override("ja"):
        assert (
            availability_words(busy)
            == "12月3日(木) 09:00 まで不在、勤務時間外（12:00–18:00）、担当上限に到達（5/5）"
        )
    # in English the menu reads exactly as before
    assert availability_words(busy) == busy.reason
    assert (
        busy.reason == "away until Thu 3 Dec 09:00, outside working hours (12:00–18:00), over capacity (5/5)"
    )
