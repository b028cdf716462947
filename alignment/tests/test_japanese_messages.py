"""Messages in the reader's language: notifications and e-mails in each recipient's language and time zone (never
the sender's), API errors in the request's language with machine-readable codes that never change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from alignment.models import OutboxMessage, UserPreference
from leads.models import Lead, State
from leads.queue import lead_assign, lead_claim
from leads.scoring import leads_rescore
from leads.signals import sla_warnings_found

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def hot_lead(make_lead):
    lead = make_lead(now=START, email="taro@sample.co.jp", first_name="太郎", last_name="山田",
                     company="株式会社サンプル", employees=300, activities=[("demo_request", START, {})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=START)
    lead.refresh_from_db()
    assert lead.state == State.MQL
    return lead


def payloads(event: str, user) -> dict[str, dict]:
    rows = OutboxMessage.objects.filter(event=event, recipient__in=[user.email, str(user.pk)])
    return {m.channel: m.payload for m in rows}


def test_a_hot_lead_is_announced_to_each_rep_in_their_own_language(
    agreement, make_lead, rep, sales_manager, django_capture_on_commit_callbacks
):
    # given a Japanese rep and an English-speaking sales manager (no preference: the site's language)
    UserPreference.objects.create(user=rep, language="ja", time_zone="Asia/Tokyo")

    # when a lead nobody owns becomes hot, both are told
    with django_capture_on_commit_callbacks(execute=True):
        hot_lead(make_lead)

    # then the rep reads Japanese, family name first, in the e-mail and in the bell
    ja = payloads("lead.hot", rep)
    assert ja["email"]["subject"] == "ホットリード: 山田 太郎（株式会社サンプル）"
    assert ja["inapp"]["text"].startswith("ホットリード: 山田 太郎（株式会社サンプル） — ")
    assert ja["inapp"]["text"].endswith("SLA の期限内に着手してください。")
    # and the manager the same event in English, given name first
    en = payloads("lead.hot", sales_manager)
    assert en["email"]["subject"] == "Hot lead: 太郎 山田 (株式会社サンプル)"
    assert "Claim within the SLA." in en["inapp"]["text"]
    # and the e-mail that left carries the rep's Japanese subject
    assert "ホットリード: 山田 太郎（株式会社サンプル）" in [m.subject for m in mail.outbox]


def test_a_warning_gives_the_deadline_in_the_recipients_zone_and_language(agreement, make_lead, rep):
    # given a Japanese rep in Tokyo who owns a hot lead
    UserPreference.objects.create(user=rep, language="ja", time_zone="Asia/Tokyo")
    lead = hot_lead(make_lead)
    lead_claim(lead_id=lead.pk, rep=rep, now=START)

    # when the engine warns that first contact is due at 01:15 UTC
    sla_warnings_found.send(sender=Lead, warnings=[(lead.pk, "first_contact", START + timedelta(minutes=15))])

    # then the rep reads it in Japanese, with the deadline at 10:15 Tokyo time
    text = payloads("sla.warning", rep)["inapp"]["text"]
    assert text.startswith("SLA 警告: 山田 太郎 の「初回接触」の期限が近づいています")
    assert "2026/03/10 10:15 JST" in text


def test_an_assignment_is_written_in_the_new_owners_language_not_the_managers(
    agreement, make_lead, rep, sales_manager
):
    # given a Japanese-speaking manager and an English-speaking rep
    UserPreference.objects.create(user=sales_manager, language="ja")
    lead = hot_lead(make_lead)

    # when the manager assigns the lead to the rep
    lead_assign(lead_id=lead.pk, rep=rep, by=sales_manager, now=START)

    # then the rep is told in English
    text = payloads("lead.assigned", rep)["inapp"]["text"]
    assert text.startswith("太郎 山田 was assigned to you by ")


def test_api_errors_speak_the_requests_language_and_keep_their_codes(client):
    # when a client that prefers Japanese posts without a write key, and asks for an unknown API path
    unauthorised = client.post("/v1/batch", data={"batch": []}, content_type="application/json",
                               headers={"Accept-Language": "ja"})  # fmt: skip
    missing = client.get("/api/no-such-thing/", headers={"Accept-Language": "ja"})
    english = client.post("/v1/batch", data={"batch": []}, content_type="application/json")

    # then the messages are Japanese and the codes the same as in English
    assert unauthorised.status_code == 401
    assert unauthorised.json()["code"] == english.json()["code"] == "unauthorized"
    assert unauthorised.json()["message"].startswith("書き込みキーがありません")
    assert english.json()["message"].startswith("No write key")
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "code": "not_found",
        "message": "この API パスはありません: /api/no-such-thing/",
    }


def test_the_review_page_suggestions_follow_the_readers_language(login, marketing_manager, agreement):
    # given a Japanese marketing manager
    UserPreference.objects.create(user=marketing_manager, language="ja")
    # when they open a month that has not ended yet
    page = login(marketing_manager).get(reverse("feedback:review") + "?month=2999-01")
    # then the maturity note is Japanese
    assert "この月はまだ終わっていません。" in page.content.decode()


def test_a_refused_action_is_explained_in_the_readers_language():
    from django.utils import translation

    from leads.lifecycle import rules as life
    from leads.lifecycle.words import refusal_words

    # when a rep tries to accept a lead that was already won
    with pytest.raises(life.NotAllowed) as refused:
        life.move(life.Action.ACCEPT, life.State.WON)

    # then the pure rules say why in English, and a Japanese reader reads it in Japanese
    assert str(refused.value) == "Only an MQL can be accepted; this lead is Won."
    with translation.override("ja"):
        assert refusal_words(refused.value) == "受け入れられるのは MQL だけです。このリードは「受注」です。"


def test_the_e_mails_a_japanese_rep_receives_have_no_english_words(
    agreement, make_lead, rep, django_capture_on_commit_callbacks
):
    from alignment.testing.japanese import data_words, english_in

    # given a Japanese rep in Tokyo told of a hot lead, then warned about its first contact
    UserPreference.objects.create(user=rep, language="ja", time_zone="Asia/Tokyo")
    with django_capture_on_commit_callbacks(execute=True):
        lead = hot_lead(make_lead)
        lead_claim(lead_id=lead.pk, rep=rep, now=START)
        sla_warnings_found.send(
            sender=Lead, warnings=[(lead.pk, "first_contact", START + timedelta(minutes=15))]
        )

    # then each e-mail to the rep, subject and body, is Japanese (names, addresses and links are data)
    sent = [m for m in mail.outbox if rep.email in m.to]
    assert len(sent) >= 2
    allowed = data_words()
    assert {m.subject: english_in(f"{m.subject} {m.body}", allowed) for m in sent} == {
        m.subject: [] for m in sent
    }
    assert any("2026/03/10 10:15 JST" in m.body for m in sent)
