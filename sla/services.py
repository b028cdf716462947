"""Writes to the agreement: drafts, edits, proposal, signatures, activation; each transactional, audited."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from alignment.audit import audit_record
from alignment.roles import ROLE_LABELS, Role, user_group_names, user_roles
from sla import content as agreement_content
from sla.diff import content_hash, diff_content
from sla.exceptions import AgreementError, AgreementLocked, SignatureRefused
from sla.models import TEAM_PREFIX, AgreementVersion, Comment, Segment, Side, Signature, Status
from sla.signals import agreement_activated, agreement_fields_checking

SIDE_ROLE = {Side.MARKETING: Role.MARKETING_MANAGER, Side.SALES: Role.SALES_MANAGER}
EDITOR_ROLES = frozenset({Role.MARKETER, Role.MARKETING_MANAGER, Role.SALES_MANAGER})


def signing_sides(user: Any) -> list[Side]:
    roles = user_roles(user)
    return [side for side, role in SIDE_ROLE.items() if role in roles]


def segment_scope(user: Any) -> list[Segment] | None:
    """The segments a user works in, or None for all of them: an admin, or a member of no segment (a one-team
    install works as before segments existed)."""
    if Role.ADMIN in user_roles(user):
        return None
    teams = {name for name in user_group_names(user) if name.startswith(TEAM_PREFIX)}
    if not teams:  # no extra query for everyone who is in no team
        return None
    cached = getattr(user, "_alignment_segments", None)
    if cached is None or cached[0] != teams:
        cached = (teams, list(Segment.objects.filter(team__name__in=teams)) or None)
        user._alignment_segments = cached
    return cached[1]


def in_user_segments(user: Any, segment_id: int | None) -> bool:
    """Whether this user works in the segment (None: the default segment)."""
    scope = segment_scope(user)
    return scope is None or any(s.pk == segment_id or (segment_id is None and s.is_default) for s in scope)


def require_segment_member(user: Any, segment: Segment | None) -> None:
    if segment is not None and not in_user_segments(user, segment.pk):
        raise AgreementError(_("You do not work in the segment “%(name)s”.") % {"name": _(segment.name)})


def _next_number() -> int:
    return (AgreementVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1


def _lock(version_id: int) -> AgreementVersion:
    return AgreementVersion.objects.select_for_update().get(pk=version_id)


def _require_editable(version: AgreementVersion) -> None:
    if not version.is_editable:
        raise AgreementLocked(
            _(
                "Version %(number)s is %(status)s and can no longer change. Start a new draft to propose changes."
            )
            % {"number": version.number, "status": str(version.get_status_display()).lower()}
        )


def _require_editor(user: Any) -> None:
    if not user_roles(user) & EDITOR_ROLES:
        raise AgreementError(_("Only managers and marketers edit agreement drafts."))


@transaction.atomic
def agreement_draft_create(
    *, user: Any, now: datetime, title: str = "", summary: str = "", segment: Segment | None = None
) -> AgreementVersion:
    """Start a draft for a segment (default: the default one) as a copy of its active version (or of the
    starter agreement when none is active)."""
    _require_editor(user)
    segment = segment or Segment.objects.default()
    require_segment_member(user, segment)
    active = AgreementVersion.objects.active_for(segment)
    content = copy.deepcopy(active.content) if active else agreement_content.starter_content()
    number = _next_number()
    version = AgreementVersion.objects.create(
        number=number,
        title=title or (f"Draft based on v{active.number}" if active else "First agreement"),
        summary=summary,
        status=Status.DRAFT,
        content=content,
        content_hash=content_hash(content),
        based_on=active,
        segment=segment,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    audit_record(actor=user, action="agreement.draft_created", target=version, at=now)
    return version


@transaction.atomic
def agreement_change(
    *,
    version_id: int,
    user: Any,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    now: datetime,
    action: str = "agreement.edited",
) -> AgreementVersion:
    """Apply `change` to a copy of the content, validate the whole document, and save it.

    Any edit voids the signatures already given: a signature covers exact content, never "roughly this".
    """
    _require_editor(user)
    version = _lock(version_id)
    _require_editable(version)
    before = version.content
    after = change(copy.deepcopy(before))
    agreement_content.validate(after)
    if after == before:
        return version
    known = agreement_content.condition_fields(before)
    added = {
        name: path for name, path in agreement_content.condition_fields(after).items() if name not in known
    }
    if added:
        agreement_fields_checking.send(sender=AgreementVersion, version=version, fields=added)
    version.content = after
    version.content_hash = content_hash(after)
    version.updated_at = now
    version.save(update_fields=["content", "content_hash", "updated_at"])
    with translation.override("en"):  # the audit log keeps one language
        changes = [c.text for c in diff_content(before, after)]
    voided = version.signatures.valid().update(
        voided_at=now, void_reason=gettext_noop("Content changed after signing")
    )
    audit_record(
        actor=user,
        action=action,
        target=version,
        changes={"content": (changes, None)} if changes else {},
        reason=f"{voided} signature(s) voided by this edit" if voided else "",
        at=now,
    )
    return version


@transaction.atomic
def agreement_details_update(
    *, version_id: int, user: Any, title: str, summary: str, now: datetime
) -> AgreementVersion:
    _require_editor(user)
    version = _lock(version_id)
    _require_editable(version)
    changes = {}
    if version.title != title:
        changes["title"] = (version.title, title)
    if version.summary != summary:
        changes["summary"] = (version.summary, summary)
    if changes:
        version.title, version.summary, version.updated_at = title, summary, now
        version.full_clean()
        version.save(update_fields=["title", "summary", "updated_at"])
        audit_record(actor=user, action="agreement.details_edited", target=version, changes=changes, at=now)
    return version


@transaction.atomic
def agreement_propose(*, version_id: int, user: Any, now: datetime) -> AgreementVersion:
    _require_editor(user)
    version = _lock(version_id)
    _require_editable(version)
    if version.status != Status.DRAFT:
        raise AgreementError(
            _("Only a draft can be proposed; version %(number)s is %(status)s.")
            % {"number": version.number, "status": str(version.get_status_display()).lower()}
        )
    agreement_content.validate(version.content)
    version.status, version.proposed_at, version.updated_at = Status.PROPOSED, now, now
    version.save(update_fields=["status", "proposed_at", "updated_at"])
    audit_record(
        actor=user,
        action="agreement.proposed",
        target=version,
        changes={"status": ("draft", "proposed")},
        at=now,
    )
    return version


@transaction.atomic
def agreement_sign(
    *, version_id: int, user: Any, now: datetime, side: Side | None = None, seen_hash: str = ""
) -> AgreementVersion:
    """Sign the proposed content for one side; with both sides signed the version becomes active.

    `seen_hash` is the content hash the signer was shown: a signature never covers content they did not see.
    """
    version = _lock(version_id)
    if version.status != Status.PROPOSED:
        raise SignatureRefused(
            _("Version %(number)s is %(status)s: only a proposed version can be signed.")
            % {"number": version.number, "status": str(version.get_status_display()).lower()}
        )
    if not in_user_segments(user, version.segment_id):
        raise SignatureRefused(_("Only the managers of this agreement's segment sign it."))
    sides = signing_sides(user)
    if side is None:
        if len(sides) != 1:
            raise SignatureRefused(_("Only the marketing manager and the sales manager sign the agreement."))
        side = sides[0]
    if side not in sides:
        raise SignatureRefused(
            _("Only a %(role)s signs for %(side)s.")
            % {"role": str(ROLE_LABELS[SIDE_ROLE[Side(side)]]).lower(), "side": str(Side(side).label).lower()}
        )
    valid = list(version.signatures.valid())
    if any(s.side == side for s in valid):
        raise SignatureRefused(_("%(side)s has already signed this version.") % {"side": Side(side).label})
    if any(s.signed_by_id == user.pk for s in valid):
        raise SignatureRefused(_("The same person cannot sign for both sides."))
    current_hash = content_hash(version.content)
    if seen_hash and seen_hash != current_hash:
        raise SignatureRefused(
            _("Version %(number)s changed since you opened it. Review the new content, then sign again.")
            % {"number": version.number}
        )
    Signature.objects.create(
        version=version, side=side, signed_by=user, signed_at=now, content_hash=current_hash
    )
    audit_record(
        actor=user, action="agreement.signed", target=version, reason=f"{Side(side).label} side", at=now
    )
    signed_sides = {s.side for s in valid if s.content_hash == current_hash} | {side}
    if signed_sides == set(Side.values):
        _activate(version, user=user, now=now)
    return version


def _activate(version: AgreementVersion, *, user: Any, now: datetime) -> None:
    segment = version.segment or Segment.objects.default()
    previous = AgreementVersion.objects.select_for_update().filter(status=Status.ACTIVE)
    previous = (previous.filter(segment.owns()) if segment else previous).exclude(pk=version.pk).first()
    if previous:
        previous.status, previous.superseded_at = Status.SUPERSEDED, now
        previous.save(update_fields=["status", "superseded_at"])
        audit_record(
            actor=user,
            action="agreement.superseded",
            target=previous,
            changes={"status": ("active", "superseded")},
            reason=f"Replaced by v{version.number}",
            at=now,
        )
    version.status, version.activated_at, version.updated_at = Status.ACTIVE, now, now
    version.save(update_fields=["status", "activated_at", "updated_at"])
    audit_record(
        actor=user,
        action="agreement.activated",
        target=version,
        changes={"status": ("proposed", "active")},
        at=now,
    )
    transaction.on_commit(
        lambda: agreement_activated.send(sender=AgreementVersion, version=version, previous=previous)
    )


@transaction.atomic
def agreement_withdraw(*, version_id: int, user: Any, now: datetime, reason: str = "") -> AgreementVersion:
    _require_editor(user)
    version = _lock(version_id)
    _require_editable(version)
    before = version.status
    version.status, version.updated_at = Status.WITHDRAWN, now
    version.save(update_fields=["status", "updated_at"])
    version.signatures.valid().update(voided_at=now, void_reason=gettext_noop("Draft withdrawn"))
    audit_record(
        actor=user,
        action="agreement.withdrawn",
        target=version,
        changes={"status": (before, "withdrawn")},
        reason=reason,
        at=now,
    )
    return version


@transaction.atomic
def agreement_comment(*, version_id: int, user: Any, body: str, now: datetime) -> Comment:
    body = body.strip()
    if not body:
        raise AgreementError(_("A comment cannot be empty."))
    version = AgreementVersion.objects.get(pk=version_id)
    return Comment.objects.create(version=version, author=user, body=body, created_at=now)


@transaction.atomic
def agreement_ensure_starter(
    *, marketing_manager: Any, sales_manager: Any, now: datetime
) -> AgreementVersion:
    """First run: create, propose and sign the starter agreement unless any version exists (demo data)."""
    existing = AgreementVersion.objects.active() or AgreementVersion.objects.first()
    if existing:
        return existing
    version = agreement_draft_create(
        user=marketing_manager,
        now=now,
        title=gettext_noop(
            "Starter agreement"
        ),  # stored in English, shown in the reader's language (`stock`)
        summary=gettext_noop("Rules taken from common practice; refine them at the first monthly review."),
    )
    agreement_propose(version_id=version.pk, user=marketing_manager, now=now)
    agreement_sign(version_id=version.pk, user=marketing_manager, now=now, side=Side.MARKETING)
    agreement_sign(version_id=version.pk, user=sales_manager, now=now, side=Side.SALES)
    version.refresh_from_db()
    return version
