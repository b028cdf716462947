"""What was refused or set aside, said in the reader's language: data problems (old rows too), the events API's
answers under Accept-Language, inbound webhook refusals, the agreement's terms and calendar errors, number
errors in imports, and the texts of an import job that a worker wrote (its row problems, why it stopped)."""

from __future__ import annotations

import base64
import csv
import html
import io
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from alignment.models import UserPreference
from alignment.phrasebook import Phrasebook
from leads.intake import import_services
from leads.models import DataProblem, ImportJob
from leads.services import write_key_create
from sla import services
from sla.content import threshold_set
from sla.models import Side

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def suzuki(marketing_manager):
    UserPreference.objects.create(user=marketing_manager, language="ja", time_zone="Asia/Tokyo")
    return marketing_manager


def basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{raw}:".encode()).decode()}


def test_data_problems_read_in_japanese_old_rows_included(login, suzuki):
    # given problems stored in English, the way the events API has always written them
    DataProblem.objects.create(source="api", field="batch[0].traits.email", problem="'n/a' is not a valid e-mail address",
                               value="n/a", created_at=T0)  # fmt: skip
    DataProblem.objects.create(source="mautic", field="batch[1].type", value="",
                               problem="'bogus' is not a Segment message type (identify, track)", created_at=T0)  # fmt: skip
    DataProblem.objects.create(source="api", field="x", problem="something only this row says", created_at=T0)

    body = html.unescape(login(suzuki).get(reverse("leads:data_problems")).content.decode())

    # then a Japanese marketer reads them in Japanese, values and field paths as they came
    assert "'n/a' は有効なメールアドレスではありません" in body
    assert "'bogus' は Segment のメッセージ種別ではありません（identify, track）" in body
    assert "is not a valid e-mail address" not in body
    # and a text no template knows reads as it was stored
    assert "something only this row says" in body


def test_the_events_api_sets_aside_and_refuses_in_the_requests_language(client):
    _, raw = write_key_create(name="website", now=timezone.now())
    batch = {
        "batch": [{"type": "identify", "userId": "u1", "traits": {"email": "n/a", "employees": "たくさん"}}]
    }

    # when a Japanese client sends a bad e-mail and employee count, then an empty body
    kept = client.post("/v1/batch", data=batch, content_type="application/json",
                       headers={**basic(raw), "Accept-Language": "ja"})  # fmt: skip
    empty = client.post("/v1/batch", data=b"", content_type="application/json",
                        headers={**basic(raw), "Accept-Language": "ja"})  # fmt: skip
    english = client.post("/v1/batch", data=b"", content_type="application/json", headers=basic(raw))

    # then what was set aside, and why the body was refused, are in Japanese; codes do not change
    assert kept.status_code == 200
    assert sorted(kept.json()["set_aside"]) == [
        "batch[0].traits.email: 'n/a' は有効なメールアドレスではありません",
        "batch[0].traits.employees: 「たくさん」は従業員数として読めません",
    ]
    assert empty.status_code == 400 and english.status_code == 400
    assert empty.json()["code"] == english.json()["code"]
    assert empty.json()["message"] == "リクエスト本文が空です。JSON オブジェクトを送ってください"
    assert english.json()["message"] == "request body is empty: send a JSON object"
    # and the data-problems list keeps one language (English) for every reader to be said in their own
    assert set(DataProblem.objects.values_list("problem", flat=True)) == {
        "'n/a' is not a valid e-mail address", "“たくさん” is not a number of employees"}  # fmt: skip


def test_an_inbound_webhook_refusal_reads_in_japanese(client, settings):
    settings.INBOUND_GENERIC_SECRET = ""
    response = client.post("/inbound/events/", data={}, content_type="application/json",
                           headers={"Accept-Language": "ja"})  # fmt: skip
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "disabled"
    assert response.json()["message"] == "汎用の受信 Webhook が設定されていません（INBOUND_GENERIC_SECRET）"


def test_the_agreements_terms_and_calendar_errors_read_in_japanese():
    from sla import content, wording
    from sla.exceptions import InvalidContent

    starter = content.starter_content()
    bad_zone = {**starter, "terms": {**starter["terms"], "calendar": {**starter["terms"]["calendar"],
                                                                        "time_zone": "Mars/Olympus"}}}  # fmt: skip
    bad_claim = {**starter, "terms": {**starter["terms"], "tiers": {
        **starter["terms"]["tiers"], "hot": {**starter["terms"]["tiers"]["hot"], "claim_minutes": -5}}}}  # fmt: skip
    said = {}
    for name, changed in (("zone", bad_zone), ("claim", bad_claim), ("section", {**starter, "extra": {}})):
        with pytest.raises(InvalidContent) as error:
            content.validate(changed)
        with translation.override("ja"):
            said[name] = wording.problem_words(error.value)
        said[f"{name}-en"] = wording.problem_words(error.value)
    assert said["zone"] == "不明なタイムゾーン 'Mars/Olympus' です"
    assert said["zone-en"] == "unknown time zone 'Mars/Olympus'"
    assert said["claim"] == "正の整数である必要があります"
    assert said["section"] == "不明なセクション: extra"
    assert said["section-en"] == "Unknown section(s): extra"


def _upload(client, rows: list[list[str]]) -> ImportJob:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([["Email", "Company", "Budget"], *rows])
    upload = SimpleUploadedFile("leads.csv", out.getvalue().encode(), content_type="text/csv")
    client.post(reverse("leads:import_new"), {"file": upload, "preset": "auto"})
    job = ImportJob.objects.latest("pk")
    client.post(reverse("leads:import_mapping", args=[job.pk]), {
        "c0_target": "email", "c0_name": "email", "c1_target": "company", "c1_name": "company",
        "c2_target": "number", "c2_name": "budget",
    })  # fmt: skip
    job.refresh_from_db()
    return job


def test_a_worker_writes_an_imports_row_problems_in_the_uploaders_language(login, suzuki):
    job = _upload(
        login(suzuki), [["a@acme.example", "アクメ", "1,20,0"], ["b@acme.example", "ベータ", "12.000"]]
    )
    assert job.mapping, "the mapping was saved"

    # when a worker (no request, the site's language) runs the import
    translation.activate("en-gb")
    import_services.import_start(job_id=job.pk, user=suzuki, now_func=timezone.now)
    job.refresh_from_db()

    # then the uneven number is explained in Japanese for the person who uploaded the file
    assert job.status == ImportJob.Status.DONE, job.failure
    assert [e["message"] for e in job.errors] == [
        "「1,20,0」は数値ではありません（桁区切りの位置が不揃いです）。"
    ]


def test_why_an_import_stopped_reads_in_japanese(login, suzuki):
    job = _upload(login(suzuki), [["a@acme.example", "アクメ", "10"]])
    # given a job a worker stopped, with its reason stored in English (a row written before this change too)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED, finished_at=T0, rejected=1,
        failure="Stopped after 1,200 rows: Stopped 3 times on a database error; last: server closed the connection",
        errors=[{"row": 4, "column": "", "value": "", "message": "Could not be saved: duplicate key"}],
    )  # fmt: skip
    body = login(suzuki).get(reverse("leads:import_detail", args=[job.pk])).content.decode()
    assert (
        "1,200 行目まで処理して中断しました: データベースのエラーで 3 回中断しました。"
        "最後のエラー: server closed the connection"
    ) in body
    assert "保存できませんでした: duplicate key" in body
    assert "Stopped after" not in body


def test_an_import_paused_by_the_database_says_so_in_japanese(login, suzuki):
    job = _upload(login(suzuki), [["a@acme.example", "アクメ", "10"]])
    # given a run the database stopped: queued again, the reason kept until a worker resumes it
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.QUEUED,
        failure="Paused on a database error, will resume: server closed the connection",
    )
    body = login(suzuki).get(reverse("leads:import_detail", args=[job.pk])).content.decode()
    assert "データベースのエラーで一時停止しました（自動で再開します）: server closed the connection" in body


def test_a_phrasebook_with_a_sayer_says_that_placeholder_its_own_way():
    book = Phrasebook(["%(clock)s deadline missed"], sayers={"clock": str.upper})
    assert book.say("Claim deadline missed") == "CLAIM deadline missed"
    assert book.say("Claim deadline met") == "Claim deadline met"


def test_a_phrasebook_says_known_messages_and_leaves_others_as_they_are():
    book = Phrasebook(["Stopped after %(rows)s rows: %(error)s", "Could not be saved: %(message)s"])
    with translation.override("ja"):
        assert book.say("Stopped after 2 rows: Could not be saved: x") == (
            "2 行目まで処理して中断しました: 保存できませんでした: x"
        )
        assert book.say("Stopped after two") == "Stopped after two"
    assert book.say("Stopped after 2 rows: boom") == "Stopped after 2 rows: boom"


def test_nurture_tabs_name_default_reasons_in_japanese(login, suzuki):
    from feedback.reasons import ensure_default_reasons

    ensure_default_reasons()
    from feedback.models import Reason

    reason = Reason.objects.get(kind=Reason.Kind.REJECTION, code="not_a_fit")
    page = login(suzuki).get(reverse("feedback:nurture"))
    assert page.status_code == 200
    from django.template import Context, Template

    with translation.override("ja"):
        tab = Template("{% load alignment_tags %}{{ label|stock }}").render(Context({"label": reason.label}))
    assert tab == "ターゲット外"


def test_the_lead_page_says_why_a_lead_is_in_its_segment_in_japanese(
    login, suzuki, agreement, make_lead, sales_manager
):
    from leads.tests.test_segmenting import segment_agreement
    from sla.models import Segment

    segment = Segment.objects.create(name="日本の大企業", position=10, conditions=[
        {"field": "country", "op": "equals", "value": "Japan"}, {"field": "employees", "op": "gte", "value": 500}])  # fmt: skip
    segment_agreement(
        segment, 200, suzuki, sales_manager
    )  # a segment takes leads once its agreement is in force
    lead = make_lead(now=T0, country="Japan", employees=2000)

    body = html.unescape(login(suzuki).get(lead.get_absolute_url()).content.decode())

    assert "セグメント: 日本の大企業" in body
    assert "理由: 国が Japan、かつ 従業員数が 500 以上" in body
    assert "employees ≥" not in body


def test_why_a_signature_was_voided_reads_in_japanese(login, suzuki, agreement):
    # given a proposed draft signed by marketing, then edited: the signature is voided (its reason stored in English)
    draft = services.agreement_draft_create(user=suzuki, now=T0, title="見直し")
    services.agreement_propose(version_id=draft.pk, user=suzuki, now=T0)
    services.agreement_sign(version_id=draft.pk, user=suzuki, now=T0, side=Side.MARKETING)
    services.agreement_change(version_id=draft.pk, user=suzuki, now=T0, change=lambda c: threshold_set(c, 60))

    body = login(suzuki).get(reverse("sla:version", args=[draft.pk])).content.decode()

    # then the Japanese reader is told why in Japanese
    assert "承認後に内容が変更された" in body
    assert "Content changed after signing" not in body
