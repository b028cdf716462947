"""What people and other systems are told when leads move, written to the outbox inside the transaction that
moved them (alignment/outbox.py delivers after commit, retries, and never sends one twice).

Each (event, channel, recipient) is one outbox message: an e-mail and an in-app notification per person, one
chat message per event, one signed webhook per subscribed endpoint.

People read their messages in their own language and time zone (UserPreference, else the site's): each text is
written once per recipient, under that person's locale, never the sender's. The chat channel (one room) speaks the
site's language. Webhook bodies are data: codes and values, never translated.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from alignment.models import OutboxMessage, UserPreference
from alignment.names import person_name
from alignment.outbox import Item, outbox_put_many
from alignment.roles import Role
from alignment.webhooks import subscriptions_active, webhook_items
from leads.audience import Audience
from leads.history_words import reason_words
from leads.models import Clock, Lead, LeadEvent, SlaBreach, State

Channel = OutboxMessage.Channel
STATE_EVENTS = {
    State.SAL: "lead.accepted",
    State.RECYCLED: "lead.rejected",
    State.SQL: "lead.sql",
    State.WON: "lead.won",
    State.LOST: "lead.lost",
}


def _url(lead: Lead) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{lead.get_absolute_url()}" if settings.SITE_URL else ""


def _urls() -> Any:
    """`_url` for many leads: the URL is reversed once (for a batch), then filled in with each lead's id."""
    if not settings.SITE_URL:
        return _url
    marker = 2_147_483_647
    sample = Lead(pk=marker)
    template = _url(sample)
    before, after = template.rsplit(str(marker), 1)
    return lambda lead: f"{before}{lead.pk}{after}"


def _name(user: Any) -> str:
    return person_name(user)


@contextmanager
def recipient_locale(pref: UserPreference | None) -> Iterator[None]:
    """The recipient's language and time zone (blank parts: the site's) while their message is written."""
    language = (pref.language if pref else "") or settings.LANGUAGE_CODE
    zone = pref.time_zone if pref else ""
    try:
        tz = zoneinfo.ZoneInfo(zone) if zone else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    with translation.override(language), timezone.override(tz):
        yield


def _when(moment: datetime) -> str:
    """A moment in the active zone and language, with the zone named (the reader may be elsewhere)."""
    local = timezone.localtime(moment)
    return f"{date_format(local, 'SHORT_DATETIME_FORMAT')} {local.tzname()}"


# What a person is told: a function of the event, called once per recipient under their locale; (subject, text)
Say = Callable[[], tuple[str, str]]


def lead_data(lead: Lead) -> dict[str, Any]:
    """The lead as webhooks carry it (HubSpot/Salesforce-friendly: e-mail is the matching key)."""
    return {
        "id": lead.pk, "email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name,
        "company": lead.company, "state": lead.state, "score": lead.score, "tier": lead.tier,
        "handoff_reason": lead.handoff_reason, "owner_email": lead.owner.email if lead.owner else "",
        "url": _url(lead),
    }  # fmt: skip


#: What a notice reads of a lead (its words, its link, its webhook body, who is told): a batch reads these columns,
#: not the whole row (scores, attributes and a dozen timestamps a notice never shows).
LEAD_NOTICE_FIELDS = ("id", "email", "first_name", "last_name", "company", "state", "score", "tier",
                      "handoff_reason", "segment", "owner")  # fmt: skip


def preferences_of(users: Iterable[Any]) -> dict[int, UserPreference]:
    """Each person's language and zone, read once for a batch of messages."""
    ids = {user.pk for user in users}
    return {p.user_id: p for p in UserPreference.objects.filter(user__in=ids)} if ids else {}


def people_items(
    *,
    users: Iterable[Any],
    ref: str,
    event: str,
    say: Say,
    url: str,
    prefs: dict[int, UserPreference] | None = None,
) -> list[Item]:
    """E-mail (when the person has an address) and an in-app notification, one message each per person, each
    written in that person's language and time zone (`prefs`: read here unless the batch read them already)."""
    path = url.removeprefix(settings.SITE_URL.rstrip("/")) if url else ""
    users = list(users)
    prefs = preferences_of(users) if prefs is None else prefs
    items = []
    for user in users:
        with recipient_locale(prefs.get(user.pk)):
            subject, text = say()
        if user.email:
            items.append(
                Item(
                    event,
                    ref,
                    Channel.EMAIL,
                    user.email,
                    {"subject": subject, "body": f"{text}\n{url}".strip()},
                )
            )
        items.append(Item(event, ref, Channel.INAPP, str(user.pk), {"text": text, "url": path}))
    return items


def chat_items(*, ref: str, event: str, say: Callable[[], dict[str, Any]]) -> list[Item]:
    """One chat message per event, in the site's language (a shared room has no one reader)."""
    if not settings.NOTIFY_WEBHOOK_URL:
        return []
    with recipient_locale(None):
        return [Item(event, ref, Channel.CHAT, "chat", say())]


def _audience(leads: Iterable[Lead], *roles: Role, when: Callable[[Lead], bool]) -> Audience:
    """The holders of `roles` by segment team, read only when some lead needs them (`when`)."""
    return Audience.load(*roles) if any(when(lead) for lead in leads) else Audience.nobody()


def hot_leads_notify(*, lead_ids: Iterable[int], at: datetime) -> None:
    """Tell sales at once: the owner, or the reps and sales managers of the lead's segment team (leads.audience)
    when nobody owns the lead yet."""
    items: list[Item] = []
    subscriptions = subscriptions_active()
    leads = list(Lead.objects.filter(pk__in=list(lead_ids)).select_related("owner"))
    sales = _audience(leads, Role.REP, Role.SALES_MANAGER, when=lambda lead: lead.owner is None)
    prefs = preferences_of([*sales.holders, *(lead.owner for lead in leads if lead.owner)])
    for lead in leads:
        triggers = "; ".join(hit.reason for hit in lead.evaluation.triggers)
        ref = f"lead.hot:{lead.pk}:{at.isoformat()}"
        users = [lead.owner] if lead.owner else sales.of(lead.segment_id)
        url = _url(lead)
        say = _hot_text(lead, triggers)
        items += people_items(users=users, ref=ref, event="lead.hot", say=say, url=url, prefs=prefs)
        items += chat_items(
            ref=ref,
            event="lead.hot",
            say=lambda say=say, url=url, pk=lead.pk: {"text": f"{say()[1]} {url}".strip(), "lead_id": pk},
        )
        data = {"lead": lead_data(lead), "reasons": triggers or f"score {lead.score}"}
        items += webhook_items(event_type="lead.hot", ref=ref, data=data, now=at, subscriptions=subscriptions)
    outbox_put_many(items, now=at)


_HOT_REF = re.compile(r"(lead\.hot:\d+:[^+]+\+00:00):")  # a key's event ref: the lead and the instant (UTC)


def hot_notices_sweep(*, now: datetime, window: timedelta = timedelta(hours=1)) -> int:
    """Beat: the hot-lead notice is written right after the scoring commits (leads.receivers); a worker that died
    in between left a lead hot with nobody told. Each lead made hot in the last `window` (a minute ago at the
    latest) whose notice is missing is announced now, under the same keys, so nothing is sent twice. Returns
    how many leads were announced."""
    since, until = now - window, now - timedelta(minutes=1)
    made_hot = LeadEvent.objects.filter(at__gte=since, at__lt=until).filter(
        Q(kind=LeadEvent.Kind.STATE, to_value=State.MQL, data__tier="hot")
        | Q(kind=LeadEvent.Kind.TIER, to_value="hot")
    )
    keys = OutboxMessage.objects.filter(event="lead.hot", created_at__gte=since).values_list("key", flat=True)
    told = {match.group(1) for key in keys if (match := _HOT_REF.match(key))}
    missing: dict[datetime, list[int]] = {}
    for lead_id, at in made_hot.values_list("lead_id", "at"):
        if f"lead.hot:{lead_id}:{at.isoformat()}" not in told:
            missing.setdefault(at, []).append(lead_id)
    for at, lead_ids in missing.items():
        with transaction.atomic():
            hot_leads_notify(lead_ids=lead_ids, at=at)
    return sum(len(ids) for ids in missing.values())


def _hot_text(lead: Lead, triggers: str) -> Say:
    def say() -> tuple[str, str]:
        name = person_name(lead) or lead.email
        who = _("%(name)s (%(company)s)") % {"name": name, "company": lead.company} if lead.company else name
        reasons = reason_words(triggers) if triggers else _("score %(score)s") % {"score": lead.score}
        subject = _("Hot lead: %(who)s") % {"who": who}
        return subject, _("Hot lead: %(who)s — %(reasons)s. Claim within the SLA.") % {
            "who": who,
            "reasons": reasons,
        }

    return say


def breaches_notify(*, breach_ids: Iterable[int], notify_manager: bool, now: datetime) -> None:
    """Deadlines were missed: each owner (and, if the terms say so, the sales managers of the lead's segment team),
    the chat, the webhooks."""
    breaches = (
        SlaBreach.objects.filter(pk__in=list(breach_ids))
        .select_related("lead__owner", "owner", "new_owner")
        .defer(*(f"lead__{field.name}" for field in _lead_unread()))
    )
    items: list[Item] = []
    subscriptions = [s for s in subscriptions_active() if "sla.breached" in s.event_types]
    url_of = _urls()
    breaches = list(breaches)
    managers = _audience([b.lead for b in breaches], Role.SALES_MANAGER, when=lambda lead: notify_manager)
    prefs = preferences_of([*managers.holders, *(b.owner for b in breaches if b.owner)])
    for breach in breaches:
        ref = f"sla.breached:{breach.pk}"
        told = managers.of(breach.lead.segment_id) if notify_manager else []
        users = {user.pk: user for user in [*told, breach.owner] if user is not None}
        url = url_of(breach.lead)
        say = lambda breach=breach: (breach_text(breach),) * 2  # noqa: E731
        items += people_items(
            users=users.values(), ref=ref, event="sla.breached", say=say, url=url, prefs=prefs
        )
        items += chat_items(ref=ref, event="sla.breached",
                            say=lambda breach=breach, url=url: {"text": f"{breach_text(breach)} {url}".strip(),
                                                                "lead_id": breach.lead_id, "breach_id": breach.pk})  # fmt: skip
        if not subscriptions:
            continue  # nobody listens: the webhook body (the lead's data) is not built
        items += webhook_items(
            event_type="sla.breached", ref=ref, now=now, subscriptions=subscriptions,
            data={"lead": lead_data(breach.lead), "clock": breach.clock, "deadline": breach.deadline.isoformat(),
                  "late_minutes": breach.late_seconds // 60, "action": breach.action,
                  "owner_email": breach.owner.email if breach.owner else ""},
        )  # fmt: skip
    outbox_put_many(items, now=now)


def _lead_unread() -> list[Any]:
    """The lead's columns a notice does not read (deferred when leads come through a join)."""
    return [field for field in Lead._meta.concrete_fields if field.name not in LEAD_NOTICE_FIELDS]


def breach_text(breach: SlaBreach) -> str:
    """The breach in the active language: which deadline, how late, on which lead, and what the scan did."""
    # the clock's words by its own label, not get_clock_display(): that hashes (so translates) every choice's label
    # on each call, which was half of a scan's text writing
    text = _("SLA breach: the %(clock)s deadline was missed by %(minutes)s min on %(lead)s.") % {
        "clock": _clock_words(breach.clock), "minutes": breach.late_seconds // 60,
        "lead": person_name(breach.lead) or breach.lead.email}  # fmt: skip
    if breach.action != SlaBreach.Action.NONE:
        action = str(breach.get_action_display())
        if breach.new_owner:
            text += " " + _("%(action)s to %(owner)s.") % {"action": action, "owner": _name(breach.new_owner)}
        else:
            text += f" {action}."
    return text


def warnings_notify(*, warnings: Iterable[tuple[int, str, datetime]], now: datetime) -> None:
    """A deadline is near: tell the owner (the segment team's sales managers when nobody owns the lead), and the
    webhooks."""
    warnings = list(warnings)
    leads = Lead.objects.select_related("owner").in_bulk([lead_id for lead_id, _, _ in warnings])
    managers = _audience(leads.values(), Role.SALES_MANAGER, when=lambda lead: lead.owner is None)
    prefs = preferences_of([*managers.holders, *(lead.owner for lead in leads.values() if lead.owner)])
    items: list[Item] = []
    subscriptions = subscriptions_active()
    for lead_id, clock, due_at in warnings:
        lead = leads.get(lead_id)
        if lead is None:
            continue
        ref = f"sla.warning:{lead.pk}:{clock}:{due_at.isoformat()}"
        say = _warning_text(lead, clock, due_at)
        users = [lead.owner] if lead.owner else managers.of(lead.segment_id)
        items += people_items(users=users, ref=ref, event="sla.warning",
                              say=say, url=_url(lead), prefs=prefs)  # fmt: skip
        items += webhook_items(event_type="sla.warning", ref=ref, now=now, subscriptions=subscriptions,
                               data={"lead": lead_data(lead), "clock": clock, "due_at": due_at.isoformat()})  # fmt: skip
    outbox_put_many(items, now=now)


_CLOCKS = frozenset(Clock.values)  # read once: `Clock.values` builds its list anew on every call


def _clock_words(clock: str) -> str:
    return str(Clock(clock).label).lower() if clock in _CLOCKS else clock


def _warning_text(lead: Lead, clock: str, due_at: datetime) -> Say:
    def say() -> tuple[str, str]:
        text = _("SLA warning: the %(clock)s deadline on %(lead)s is near (due %(due)s).") % {
            "clock": _clock_words(clock), "lead": person_name(lead) or lead.email, "due": _when(due_at)}  # fmt: skip
        return text, text

    return say


def _escalation_text(lead: Lead, clock_name: str, step: int) -> Say:
    def say() -> tuple[str, str]:
        text = _("SLA escalation (step %(step)s): the %(clock)s deadline on %(lead)s was missed.") % {
            "step": step, "clock": _clock_words(clock_name), "lead": person_name(lead) or lead.email}  # fmt: skip
        return text, text

    return say


def escalations_notify(*, steps: Iterable[dict[str, Any]]) -> None:
    """Ladder steps fired (a scan's batch): each step's recipients are told, in their language, in one outbox write."""
    steps = [step for step in steps if step["recipient_ids"]]  # a step nobody is to hear of reads nothing
    if not steps:
        return
    leads = Lead.objects.only(*LEAD_NOTICE_FIELDS).in_bulk([step["lead_id"] for step in steps])
    wanted = {pk for step in steps for pk in step["recipient_ids"]}
    users = get_user_model().objects.filter(pk__in=wanted, is_active=True).in_bulk()
    items: list[Item] = []
    prefs = preferences_of(users.values())
    last_at = None
    for step in steps:
        lead = leads.get(step["lead_id"])
        recipients = [users[pk] for pk in step["recipient_ids"] if pk in users]
        if lead is None or not recipients:
            continue
        clock_name, at = step["clock_name"], step["at"]
        ref = f"sla.escalated:{lead.pk}:{clock_name}:{step['step']}:{at.isoformat()}"
        say = _escalation_text(lead, clock_name, step["step"])
        items += people_items(
            users=recipients, ref=ref, event="sla.escalated", say=say, url=_url(lead), prefs=prefs
        )
        last_at = at
    if items and last_at is not None:
        outbox_put_many(items, now=last_at)


def owner_notify(*, lead_id: int, owner_id: int, actor_id: int | None, at: datetime) -> None:
    """Tell the new owner that someone else (a manager, the round-robin, an escalation) gave them a lead;
    claiming a lead yourself needs no notice."""
    if actor_id == owner_id:
        return
    lead = Lead.objects.filter(pk=lead_id).first()
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
    if lead is None or owner is None:
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None

    def say() -> tuple[str, str]:
        name = person_name(lead) or lead.email
        if actor:
            text = _("%(lead)s was assigned to you by %(actor)s.") % {"lead": name, "actor": _name(actor)}
        else:
            text = _("%(lead)s was assigned to you.") % {"lead": name}
        return text, text

    ref = f"lead.assigned:{lead_id}:{owner_id}:{at.isoformat()}"
    outbox_put_many(
        people_items(users=[owner], ref=ref, event="lead.assigned", say=say, url=_url(lead)), now=at
    )


def handed_over_emit(*, lead_ids: Iterable[int], at: datetime) -> None:
    subscriptions = [s for s in subscriptions_active() if "lead.mql" in s.event_types]
    if not subscriptions:
        return  # nobody listens: no query for the leads
    items: list[Item] = []
    for lead in Lead.objects.filter(pk__in=list(lead_ids)).select_related("owner"):
        items += webhook_items(event_type="lead.mql", ref=f"lead.mql:{lead.pk}:{at.isoformat()}", now=at,
                               data={"lead": lead_data(lead), "reason": lead.handoff_reason},
                               subscriptions=subscriptions)  # fmt: skip
    outbox_put_many(items, now=at)


def state_change_emit(*, lead_id: int, from_state: str, to_state: str, reason: str, at: datetime) -> None:
    event = STATE_EVENTS.get(State(to_state)) if to_state in State.values else None
    subscriptions = [s for s in subscriptions_active() if event in s.event_types] if event else []
    if not subscriptions:
        return  # nobody listens: one query, no more
    lead = Lead.objects.filter(pk=lead_id).select_related("owner").first()
    if lead is None:
        return
    data = {"lead": {**lead_data(lead), "state": to_state}, "from_state": from_state, "reason": reason}
    ref = f"{event}:{lead_id}:{at.isoformat()}"
    outbox_put_many(
        webhook_items(event_type=event, ref=ref, data=data, now=at, subscriptions=subscriptions), now=at
    )
