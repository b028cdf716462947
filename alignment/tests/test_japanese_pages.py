"""Every page a Japanese team opens in its daily queue work and its monthly review meeting, rendered in Japanese:
no English word may be left on any of them (text, tooltips, labels read aloud, chart labels). Latin words allowed
are data (names, companies, addresses, the agreement's rule names, reason labels) and codes everyone writes as
they are (MQL, SLA, CSV, ...): `alignment.tests.japanese`."""

from __future__ import annotations

import csv
import io
import json
import re
import zoneinfo
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from alignment.demo import ensure_demo_users
from alignment.models import Notification, UserPreference
from alignment.roles import Role
from alignment.tests.japanese import LATIN, data_words, english_in, page_text
from alignment.webhooks import subscription_create, webhook_send_test
from feedback.demo import demo_cycles_generate
from feedback.models import Cycle, Reason
from feedback.reasons import ensure_default_reasons
from feedback.reports import previous_month
from feedback.services import lead_reject
from leads import jobs
from leads.demo import demo_leads_generate
from leads.intake.problems import problems_record
from leads.intake.segment import MESSAGE_TYPES, parse_batch
from leads.lifecycle.services import lead_pause, lead_resume
from leads.models import ImportJob, Lead, LeadEvent, RescoreJob, SlaBreach, SlaWarning, State
from leads.queue import lead_claim
from leads.queue.assignment import lead_assign, lead_release
from leads.queue.breaches import sla_breaches_scan
from leads.scoring import Rules, leads_rescore
from leads.segmenting import lead_place
from leads.signals import sla_warnings_found
from sla import services as sla_services
from sla.models import AgreementVersion, Side
from sla.segment_book import SegmentBook
from sla.tests.segment_factory import japan_segment_create

pytestmark = pytest.mark.django_db

HEADERS = ["Record ID", "First Name", "Last Name", "Email", "Company Name", "Number of Employees", "Score"]
# The import pages name the columns of other systems' exports as those systems spell them, and the columns of
# the rejected-rows file ("row", "errors") as the file has them.
OTHER_SYSTEMS = {"Record", "Lead", "Prospect", "Education", "Tags", "Quality", "Converted", "Status", "Lifecycle",
                 "Stage", "Rating", "Select", "row", "errors"}  # fmt: skip


def _upload(client) -> ImportJob:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(
        [
            HEADERS,
            ["11", "一郎", "田中", "tanaka@acme.example", "アクメ", "250", "1.200"],
            ["12", "次郎", "佐藤", "sato@", "サトウ商事", "10", "12"],
            ["13", "三郎", "鈴木", "suzuki@suzuki.example", "鈴木工業", "たくさん", "たくさん"],
        ]
    )
    upload = SimpleUploadedFile("hubspot.csv", out.getvalue().encode(), content_type="text/csv")
    client.post(reverse("leads:import_new"), {"file": upload, "preset": "hubspot"})
    return ImportJob.objects.latest("pk")


@pytest.fixture
def month(agreement, make_user, make_lead, django_capture_on_commit_callbacks):
    """Six months of demo history, Japanese users in Tokyo for each role, a fresh hot lead, a draft, an import,
    data problems from the events API and a webhook with a test delivery."""
    ensure_default_reasons()
    ensure_demo_users()
    reps = list(get_user_model().objects.filter(groups__name=Role.REP.value))
    now = timezone.now()
    demo_leads_generate(rules=Rules.of(agreement), now=now, reps=reps, count=160)
    demo_cycles_generate()
    users = {
        "rep": make_user(Role.REP, username="yamada", first_name="花子", last_name="山田"),
        "manager": make_user(Role.MARKETING_MANAGER, username="sato", first_name="一郎", last_name="佐藤"),
        "sales": make_user(Role.SALES_MANAGER, username="kato", first_name="次郎", last_name="加藤"),
        "admin": make_user(Role.ADMIN, username="ito", first_name="三郎", last_name="伊藤"),
    }
    for user in users.values():
        UserPreference.objects.create(user=user, language="ja", time_zone="Asia/Tokyo")
    lead = make_lead(now=now, email="taro@sample.co.jp", first_name="太郎", last_name="鈴木",
                     company="株式会社サンプル", job_title="営業部長", employees=1200,
                     activities=[("demo_request", now - timedelta(minutes=3), {})])  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):  # the hot-lead notice reaches the rep's bell
        leads_rescore(lead_ids=[lead.pk], now=now)
    lead_claim(lead_id=lead.pk, rep=users["rep"], now=now)  # My Day has the rep's clock, the bell a warning
    sla_warnings_found.send(sender=Lead, warnings=[(lead.pk, "first_contact", now + timedelta(minutes=15))])
    draft = sla_services.agreement_draft_create(user=users["manager"], now=now, title="属性の見直し")
    rejected: list = []
    bad = {"batch": [{"type": "identify", "userId": "u1", "traits": {"email": "n/a", "employees": "unknown"},
                      "timestamp": "yesterday"}, {"type": "bogus"}]}  # fmt: skip
    messages = parse_batch(bad, received_at=now, rejected=rejected)
    problems_record(
        [(p, None) for p in rejected] + [(p, None) for m in messages for p in m.problems],
        source="api",
        now=now,
    )
    hook = subscription_create(
        url="https://crm.example/hooks", event_types=["lead.mql", "sla.breached"], description="CRM", now=now
    )
    webhook_send_test(subscription=hook, now=now)
    return {"users": users, "lead": lead, "draft": draft, "hook": hook, "now": now, "sent": json.dumps(bad)}


def test_every_page_of_the_month_reads_in_japanese(login, month):
    users, now = month["users"], month["now"]
    rep, manager, admin = (login(users[name]) for name in ("rep", "manager", "admin"))
    job = _upload(manager)
    manager.get(reverse("leads:import_mapping", args=[job.pk]))
    review_month = previous_month(date(now.year, now.month, 1))
    draft = month["draft"]
    active = AgreementVersion.objects.active()
    pages = {
        "queue": (rep, reverse("leads:queue")),
        "lead": (rep, month["lead"].get_absolute_url()),
        "my-day": (rep, reverse("leads:my_day")),
        "notifications": (rep, reverse("notifications")),
        "preferences": (rep, reverse("preferences")),
        "agreement": (rep, reverse("sla:active")),
        "home": (manager, reverse("home")),
        "leads": (manager, reverse("leads:list")),
        "versions": (manager, reverse("sla:versions")),
        "agreement-version": (manager, reverse("sla:version", args=[active.pk])),
        "draft-editor": (manager, reverse("sla:version", args=[draft.pk])),
        "diff": (manager, reverse("sla:diff", args=[draft.pk])),
        "rule-edit": (manager, reverse("sla:rule_edit", args=[draft.pk, "fit_rules", "f3"])),
        "rule-add": (manager, reverse("sla:rule_add", args=[draft.pk, "engagement_rules"])),
        **{
            f"part-{part}": (manager, reverse("sla:part_edit", args=[draft.pk, part]))
            for part in ("threshold", "sql", "terms", "marketing", "calendar")
        },
        "opportunities": (manager, reverse("feedback:opportunities")),
        "whatif": (manager, reverse("feedback:whatif", args=[draft.pk])),
        "review": (manager, f"{reverse('feedback:review')}?month={review_month:%Y-%m}"),
        "trend": (manager, reverse("feedback:trend")),
        "nurture": (manager, reverse("feedback:nurture")),
        "reasons": (manager, reverse("feedback:reasons")),
        "data-problems": (manager, reverse("leads:data_problems")),
        "imports": (manager, reverse("leads:import_list")),
        "import-new": (manager, reverse("leads:import_new")),
        "import-mapping": (manager, reverse("leads:import_mapping", args=[job.pk])),
        "import-preview": (manager, reverse("leads:import_preview", args=[job.pk])),
        "routing": (login(users["sales"]), reverse("leads:routing")),
        "webhooks": (admin, reverse("webhooks")),
        "webhook": (admin, reverse("webhook_detail", args=[month["hook"].pk])),
        "deliveries": (admin, reverse("deliveries")),
    }
    # (every page shows something to read: a notice in the bell, handed-back leads, data problems)
    assert Notification.objects.filter(user=users["rep"]).exists()
    assert Cycle.objects.filter(outcome=Cycle.Outcome.REJECTED, lead__state=State.RECYCLED).exists()
    seen: dict[str, str] = {}
    for name, (client, url) in pages.items():
        response = client.get(
            url, headers={"HX-Request": "true"} if "/rules/" in url or "/parts/" in url else {}
        )
        assert response.status_code == 200, (name, url, response.status_code)
        seen[name] = response.content.decode()
    # the import, run: its result page
    manager.post(reverse("leads:import_start", args=[job.pk]))
    seen["import-result"] = manager.get(reverse("leads:import_detail", args=[job.pk])).content.decode()

    headers = " ".join(HEADERS)
    allowed = (
        data_words()
        | set(LATIN.findall(month["sent"]))
        | OTHER_SYSTEMS
        | set(LATIN.findall(f"{headers} {headers.lower()}"))
        | set(MESSAGE_TYPES)
    )
    left = {
        name: words for name, content in seen.items() if (words := english_in(page_text(content), allowed))
    }
    assert left == {}, "\n".join(f"{name}: {word}" for name, words in left.items() for word in words)
    # and dates read the Japanese way (2026年12月3日, 2026/12/03 19:25), in Tokyo time
    for name in (
        "leads",
        "versions",
        "nurture",
        "imports",
        "import-result",
        "data-problems",
    ):
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}/\d{2}/\d{2}", page_text(seen[name])), name
    tokyo = timezone.localtime(now, zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo:%Y/%m/%d} {tokyo.hour}:{tokyo:%M}" in page_text(seen["data-problems"])


@pytest.fixture
def japanese_sales(make_user):
    users = {
        "rep": make_user(Role.REP, username="yamada", first_name="花子", last_name="山田"),
        "other": make_user(Role.REP, username="tanaka", first_name="一郎", last_name="田中"),
        "sales": make_user(Role.SALES_MANAGER, username="kato", first_name="次郎", last_name="加藤"),
        "manager": make_user(Role.MARKETING_MANAGER, username="sato", first_name="三郎", last_name="佐藤"),
    }
    for user in users.values():
        UserPreference.objects.create(user=user, language="ja", time_zone="Asia/Tokyo")
    return users


def test_a_leads_history_reads_in_japanese(
    login, agreement, japanese_sales, make_lead, django_capture_on_commit_callbacks
):
    # given a hot lead's whole life with sales, as the services write it (in English, in the database)
    ensure_default_reasons()
    rep, other, sales = (japanese_sales[name] for name in ("rep", "other", "sales"))
    now = timezone.now()
    lead = make_lead(now=now, email="taro@sample.co.jp", first_name="太郎", last_name="鈴木",
                     company="株式会社サンプル", job_title="営業部長", employees=1200, country="Japan",
                     activities=[("demo_request", now - timedelta(minutes=3), {})])  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        leads_rescore(lead_ids=[lead.pk], now=now)  # handed over: "requested a demo"
        lead_claim(lead_id=lead.pk, rep=rep, now=now)
        due = Lead.objects.get(pk=lead.pk).first_contact_due_at
        sla_breaches_scan(now=due - timedelta(minutes=2))  # the rep is warned
        sla_breaches_scan(now=due + timedelta(minutes=1))  # missed: back to the shared queue
        at = due + timedelta(minutes=5)
        lead_assign(lead_id=lead.pk, rep=other, by=sales, now=at)
        lead_assign(lead_id=lead.pk, rep=rep, by=sales, now=at + timedelta(minutes=1))
        lead_release(lead_id=lead.pk, user=rep, now=at + timedelta(minutes=2))
        lead_claim(lead_id=lead.pk, rep=rep, now=at + timedelta(minutes=3))
        lead_pause(lead_id=lead.pk, actor=rep, now=at + timedelta(minutes=5))
        lead_resume(lead_id=lead.pk, actor=rep, now=at + timedelta(hours=2, minutes=10))
        too_early = Reason.objects.get(kind=Reason.Kind.REJECTION, code="too_early")
        lead_reject(lead_id=lead.pk, user=rep, reason=too_early, comment="", now=at + timedelta(hours=3))
    # and a segment for large Japanese companies with its own agreement, which the next placement moves the lead to
    large = japan_segment_create(name="日本の大企業")
    manager = japanese_sales["manager"]
    draft = sla_services.agreement_draft_create(user=manager, now=now, title="大企業の合意", segment=large)
    sla_services.agreement_propose(version_id=draft.pk, user=manager, now=now)
    sla_services.agreement_sign(version_id=draft.pk, user=manager, now=now, side=Side.MARKETING)
    sla_services.agreement_sign(version_id=draft.pk, user=sales, now=now, side=Side.SALES)
    moved: list[LeadEvent] = []
    lead_place(
        Lead.objects.get(pk=lead.pk),
        SegmentBook.load(),
        given=None,
        now=at + timedelta(hours=4),
        events=moved,
    )
    LeadEvent.objects.bulk_create(moved)
    assert SlaBreach.objects.filter(lead=lead).exists() and SlaWarning.objects.filter(lead=lead).exists()

    # when the sales manager opens the lead, and the rep their notifications
    pages = {
        "lead": login(sales).get(lead.get_absolute_url()).content.decode(),
        "notifications": login(rep).get(reverse("notifications")).content.decode(),
    }

    # then every change reads in Japanese: why it was handed over, who changed the owner and why, the breach,
    # the pause, the rejection and the segment move with its conditions
    history = page_text(pages["lead"].split('id="lead-history"')[1])
    for said in ("デモを申し込んだ", "自分で着手", "「初回接触」の期限超過", "SLA 監視", "割り当て", "再割り当て",
                 "共有キューに戻した", "顧客の返答待ち", "期限を 2 時間 5 分 延長",
                 "差し戻し: 時期尚早", "セグメント振り分け", "日本の大企業", "従業員数"):  # fmt: skip
        assert said in history, (said, history)
    left = {
        name: words
        for name, content in pages.items()
        if (words := english_in(page_text(content), data_words()))
    }
    assert left == {}, "\n".join(f"{name}: {word}" for name, words in left.items() for word in words)


def test_a_paused_then_failed_rescore_reads_in_japanese(login, agreement, japanese_sales):
    # given the activation's rescoring stopped by the database: paused, then given up by the watchdog
    now = timezone.now()
    job = RescoreJob.objects.create(agreement=agreement, reason=f"v{agreement.number} activated", total=120,
                                    done=40, status="running", attempts=1, heartbeat_at=now, created_at=now)  # fmt: skip
    driver = (
        "server closed the connection unexpectedly"  # the database driver's own words, quoted as they are
    )
    jobs.job_stopped(jobs.RESCORE, job_id=job.pk, error=OperationalError(driver), now=now)
    manager = login(japanese_sales["manager"])
    status = reverse("leads:rescore_status") + f"?version={agreement.pk}"
    paused = manager.get(status).content.decode()
    RescoreJob.objects.filter(pk=job.pk).update(status="running", attempts=jobs.max_attempts())
    jobs.jobs_watchdog(now=now + timedelta(seconds=jobs.lease_seconds() + 1))
    failed = manager.get(status).content.decode()

    # then the agreement page's rescoring card says why in Japanese (the driver's message quoted as it is)
    assert "データベースのエラーで一時停止しました" in page_text(paused)
    assert "応答しなくなった" in page_text(failed)
    allowed = data_words() | set(LATIN.findall(driver))
    left = {name: words for name, content in (("paused", paused), ("failed", failed), ("agreement", manager.get(
        reverse("sla:active")).content.decode())) if (words := english_in(page_text(content), allowed))}  # fmt: skip
    assert left == {}, "\n".join(f"{name}: {word}" for name, words in left.items() for word in words)
