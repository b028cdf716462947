"""The agreement's life cycle through the service layer: drafts, edits, proposal, signatures, activation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group

from alignment.audit import audit_for
from alignment.models import AuditEntry
from alignment.roles import Role
from sla import content as agreement_content
from sla import services
from sla.diff import content_hash
from sla.exceptions import AgreementError, AgreementLocked, InvalidContent, SignatureRefused
from sla.models import AgreementVersion, Comment, Side, Signature, Status
from sla.signals import agreement_activated

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def set_points(rule_id: str, points: Any):
    def change(content: dict[str, Any]) -> dict[str, Any]:
        agreement_content.rule_get(content, "fit_rules", rule_id)["points"] = points
        return content

    return change


def set_threshold(threshold: Any):
    def change(content: dict[str, Any]) -> dict[str, Any]:
        content["mql"]["threshold"] = threshold
        return content

    return change


def stored(version: AgreementVersion) -> tuple[str, str]:
    """The version's content as the database holds it (canonical JSON) and its stored hash."""
    row = AgreementVersion.objects.values("content", "content_hash").get(pk=version.pk)
    return json.dumps(row["content"], sort_keys=True, separators=(",", ":")), row["content_hash"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # every test makes several users; the production hasher would spend most of the run on their passwords
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def active(marketing_manager, sales_manager) -> AgreementVersion:
    return services.agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=T0
    )


@pytest.fixture
def draft(active, marketer) -> AgreementVersion:
    return services.agreement_draft_create(user=marketer, now=later(10), title="Tighter fit")


@pytest.fixture
def proposed(draft, marketer) -> AgreementVersion:
    return services.agreement_propose(version_id=draft.pk, user=marketer, now=later(20))


def sign(version: AgreementVersion, user: Any, minutes: int, side: Side | None = None) -> AgreementVersion:
    services.agreement_sign(version_id=version.pk, user=user, now=later(minutes), side=side)
    version.refresh_from_db()
    return version


# ---------------------------------------------------------------------------------------------------------
# Drafts


def test_draft_is_a_copy_of_the_active_content(active, marketer, marketing_manager, sales_manager):
    # given an active v2 whose content differs from the starter agreement
    v2 = services.agreement_draft_create(user=marketer, now=later(1))
    services.agreement_change(version_id=v2.pk, user=marketer, change=set_threshold(70), now=later(2))
    services.agreement_propose(version_id=v2.pk, user=marketer, now=later(3))
    sign(v2, marketing_manager, 4)
    v2 = sign(v2, sales_manager, 5)
    assert v2.status == Status.ACTIVE

    # when a marketer starts a draft
    draft = services.agreement_draft_create(user=marketer, now=later(6))

    # then it holds the active content, not the starter's, and points back to it
    assert draft.status == Status.DRAFT
    assert draft.number == 3
    assert draft.based_on == v2
    assert draft.title == "Draft based on v2"
    assert draft.content == v2.content
    assert draft.content["mql"]["threshold"] == 70
    assert draft.content_hash == v2.content_hash == content_hash(v2.content)
    assert draft.created_by == marketer


def test_draft_copy_is_independent_of_the_active_version(active, marketer):
    # given a draft copied from the active version
    draft = services.agreement_draft_create(user=marketer, now=later(1))

    # when the draft is edited
    services.agreement_change(version_id=draft.pk, user=marketer, change=set_points("f1", 35), now=later(2))

    # then the active version still holds its own content
    active.refresh_from_db()
    assert agreement_content.rule_get(active.content, "fit_rules", "f1")["points"] == 20


def test_first_draft_starts_from_the_starter_content(marketing_manager):
    # given no version at all
    assert not AgreementVersion.objects.exists()

    # when a manager starts a draft
    draft = services.agreement_draft_create(user=marketing_manager, now=T0)

    # then it is v1 holding the starter agreement
    assert draft.number == 1
    assert draft.based_on is None
    assert draft.title == "First agreement"
    assert draft.content == agreement_content.starter_content()
    assert draft.content_hash == content_hash(agreement_content.starter_content())
    agreement_content.validate(draft.content)


@pytest.mark.parametrize("role", [Role.REP, Role.ADMIN])
def test_only_editors_start_drafts(make_user, role):
    # given a user who does not edit the agreement
    user = make_user(role)

    # when / then
    with pytest.raises(AgreementError, match="Only managers and marketers"):
        services.agreement_draft_create(user=user, now=T0)
    assert not AgreementVersion.objects.exists()


# ---------------------------------------------------------------------------------------------------------
# Editing


def test_edit_saves_the_content_and_its_hash(draft, marketer):
    # when a fit rule's points change
    services.agreement_change(version_id=draft.pk, user=marketer, change=set_points("f2", 25), now=later(30))

    # then the stored content and hash follow
    draft.refresh_from_db()
    assert agreement_content.rule_get(draft.content, "fit_rules", "f2")["points"] == 25
    assert draft.content_hash == content_hash(draft.content)
    assert draft.updated_at == later(30)


def _bad_closed_date(content: dict[str, Any]) -> dict[str, Any]:
    content["terms"]["calendar"]["closed_dates"] = ["2026-12-24", "2026-13-01"]
    return content


def _zero_claim_minutes(content: dict[str, Any]) -> dict[str, Any]:
    content["terms"]["tiers"]["hot"]["claim_minutes"] = 0
    return content


def _min_met_too_high(content: dict[str, Any]) -> dict[str, Any]:
    content["sql"]["min_met"] = 9
    return content


def _between_reversed(content: dict[str, Any]) -> dict[str, Any]:
    agreement_content.rule_get(content, "gates", "g2")["condition"] = {
        "field": "employees",
        "op": "between",
        "value": [500, 10],
    }
    return content


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (set_points("f2", "abc"), "mql.fit_rules[1].points"),
        (set_threshold("high"), "mql.threshold"),
        (_between_reversed, "mql.gates[1].condition.value"),
        (_min_met_too_high, "sql.min_met"),
        (_zero_claim_minutes, "terms.tiers.hot.claim_minutes"),
        (_bad_closed_date, "terms.calendar.closed_dates[1]"),
    ],
    ids=["points", "threshold", "between", "min_met", "claim_minutes", "closed_date"],
)
def test_invalid_edit_names_the_exact_place_and_changes_nothing(draft, marketer, change, path):
    # given the draft as stored
    before = stored(draft)
    audit_count = AuditEntry.objects.count()

    # when an edit breaks the document
    with pytest.raises(InvalidContent) as raised:
        services.agreement_change(version_id=draft.pk, user=marketer, change=change, now=later(30))

    # then the error names the exact place, and nothing was written
    assert raised.value.path == path
    assert path in str(raised.value)
    assert stored(draft) == before
    draft.refresh_from_db()
    assert draft.updated_at == later(10)
    assert AuditEntry.objects.count() == audit_count


def test_edit_that_changes_nothing_writes_nothing(draft, marketer):
    # given
    audit_count = AuditEntry.objects.count()

    # when the "change" leaves the content as it was
    services.agreement_change(version_id=draft.pk, user=marketer, change=set_points("f2", 15), now=later(30))

    # then
    draft.refresh_from_db()
    assert draft.updated_at == later(10)
    assert AuditEntry.objects.count() == audit_count


@pytest.mark.parametrize("role", [Role.REP, Role.ADMIN])
def test_only_editors_edit(draft, make_user, role):
    # given
    user = make_user(role)
    before = stored(draft)

    # when / then
    with pytest.raises(AgreementError, match="Only managers and marketers"):
        services.agreement_change(version_id=draft.pk, user=user, change=set_points("f2", 25), now=later(30))
    assert stored(draft) == before


def test_details_update_changes_title_and_summary(draft, marketer):
    # when
    services.agreement_details_update(
        version_id=draft.pk,
        user=marketer,
        title="Reward pricing",
        summary="Pricing predicts wins.",
        now=later(30),
    )

    # then
    draft.refresh_from_db()
    assert (draft.title, draft.summary) == ("Reward pricing", "Pricing predicts wins.")
    entry = audit_for(draft).filter(action="agreement.details_edited").get()
    assert entry.changes == {
        "title": ["Tighter fit", "Reward pricing"],
        "summary": ["", "Pricing predicts wins."],
    }


# ---------------------------------------------------------------------------------------------------------
# Proposal and signatures


def test_propose_moves_a_draft_to_proposed(draft, marketer):
    # when
    version = services.agreement_propose(version_id=draft.pk, user=marketer, now=later(20))

    # then
    version.refresh_from_db()
    assert version.status == Status.PROPOSED
    assert version.proposed_at == later(20)
    assert audit_for(version).filter(action="agreement.proposed", actor=marketer).exists()


def test_a_proposed_version_cannot_be_proposed_again(proposed, marketer):
    # when / then
    with pytest.raises(AgreementError, match="Only a draft can be proposed"):
        services.agreement_propose(version_id=proposed.pk, user=marketer, now=later(30))


def test_both_signatures_activate_the_version_and_supersede_the_previous_one(
    active, proposed, marketing_manager, sales_manager
):
    # when the marketing manager signs
    version = sign(proposed, marketing_manager, 30)

    # then the version waits for the other side
    assert version.status == Status.PROPOSED
    signature = version.signatures.valid().get()
    assert (signature.side, signature.signed_by, signature.signed_at) == (
        Side.MARKETING,
        marketing_manager,
        later(30),
    )
    assert signature.content_hash == content_hash(version.content)
    active.refresh_from_db()
    assert active.status == Status.ACTIVE

    # when the sales manager signs
    version = sign(version, sales_manager, 40)

    # then it is the one active version and the previous one is superseded
    assert version.status == Status.ACTIVE
    assert version.activated_at == later(40)
    active.refresh_from_db()
    assert active.status == Status.SUPERSEDED
    assert active.superseded_at == later(40)
    assert list(AgreementVersion.objects.filter(status=Status.ACTIVE)) == [version]
    assert AgreementVersion.objects.active() == version
    assert {s.side for s in version.signatures.valid()} == {Side.MARKETING, Side.SALES}


def test_activation_signal_is_sent_once_after_commit(
    active, proposed, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    # given a listener
    received: list[tuple[AgreementVersion, AgreementVersion | None]] = []

    def listener(sender, version, previous, **kwargs):
        received.append((version, previous))

    agreement_activated.connect(listener)
    try:
        # when the two signatures arrive
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            sign(proposed, marketing_manager, 30)
            sign(proposed, sales_manager, 40)
            # then nothing is sent before the transaction commits
            assert received == []
    finally:
        agreement_activated.disconnect(listener)

    # then it is sent once, with the new and the previous version (the callbacks also hold what the
    # listeners queued in turn, such as the rescoring job, so count the sends)
    assert len(callbacks) >= 1
    assert len(received) == 1
    version, previous = received[0]
    assert (version.pk, version.status) == (proposed.pk, Status.ACTIVE)
    assert previous.pk == active.pk


def test_one_signature_sends_no_signal(proposed, marketing_manager, django_capture_on_commit_callbacks):
    # when only one side signs
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sign(proposed, marketing_manager, 30)

    # then nothing waits to be sent
    assert callbacks == []


def test_edit_after_a_signature_voids_it_and_both_must_sign_again(
    proposed, marketer, marketing_manager, sales_manager
):
    # given the marketing manager signed
    sign(proposed, marketing_manager, 30)
    signed_hash = proposed.signatures.get().content_hash

    # when a marketer changes a rule
    services.agreement_change(
        version_id=proposed.pk, user=marketer, change=set_points("f2", 25), now=later(35)
    )

    # then the signature is kept but voided, and the audit says so
    signature = proposed.signatures.get()
    assert signature.voided_at == later(35)
    assert signature.void_reason == "Content changed after signing"
    assert (
        signature.content_hash
        == signed_hash
        != content_hash(AgreementVersion.objects.get(pk=proposed.pk).content)
    )
    assert not proposed.signatures.valid().exists()
    entry = audit_for(proposed).filter(action="agreement.edited").get()
    assert entry.reason == "1 signature(s) voided by this edit"

    # when the sales manager signs the new content
    version = sign(proposed, sales_manager, 40)

    # then it still waits for marketing
    assert version.status == Status.PROPOSED

    # when marketing signs again
    version = sign(proposed, marketing_manager, 50)

    # then it becomes active, with two valid signatures on the new content and the voided one kept
    assert version.status == Status.ACTIVE
    assert {s.content_hash for s in version.signatures.valid()} == {version.content_hash}
    assert version.signatures.count() == 3


def test_the_same_person_cannot_sign_for_both_sides(proposed, make_user):
    # given one person holding both manager roles
    both = make_user(Role.MARKETING_MANAGER)
    both.groups.add(Group.objects.get(name=Role.SALES_MANAGER.value))
    sign(proposed, both, 30, side=Side.MARKETING)

    # when / then they try to sign for sales too
    with pytest.raises(SignatureRefused, match="same person"):
        sign(proposed, both, 31, side=Side.SALES)
    assert proposed.status == Status.PROPOSED
    assert proposed.signatures.valid().count() == 1


def test_a_person_with_both_roles_must_say_which_side(proposed, make_user):
    # given
    both = make_user(Role.MARKETING_MANAGER)
    both.groups.add(Group.objects.get(name=Role.SALES_MANAGER.value))

    # when / then
    with pytest.raises(SignatureRefused):
        sign(proposed, both, 30)
    assert not proposed.signatures.exists()


@pytest.mark.parametrize("role", [Role.REP, Role.MARKETER, Role.ADMIN])
def test_only_the_two_managers_sign(proposed, make_user, role):
    # given
    user = make_user(role)

    # when / then
    for side in (None, Side.MARKETING, Side.SALES):
        with pytest.raises(SignatureRefused):
            sign(proposed, user, 30, side=side)
    assert not proposed.signatures.exists()


def test_a_manager_signs_only_for_their_own_side(proposed, marketing_manager):
    # when / then
    with pytest.raises(SignatureRefused, match="Only a sales manager signs for sales"):
        sign(proposed, marketing_manager, 30, side=Side.SALES)
    assert not proposed.signatures.exists()


def test_a_side_signs_once(proposed, marketing_manager, make_user):
    # given the marketing side has signed
    sign(proposed, marketing_manager, 30)
    other_marketing_manager = make_user(Role.MARKETING_MANAGER)

    # when / then a second marketing manager tries to sign too
    with pytest.raises(SignatureRefused, match="Marketing has already signed"):
        sign(proposed, other_marketing_manager, 31)
    assert proposed.signatures.count() == 1


def test_a_signature_covers_the_content_the_signer_saw(proposed, marketer, marketing_manager):
    # given a manager opened the proposed version, then a marketer changed it
    seen_hash = proposed.content_hash
    services.agreement_change(
        version_id=proposed.pk, user=marketer, change=set_points("f2", 25), now=later(25)
    )

    # when the manager signs what they saw
    with pytest.raises(SignatureRefused, match="changed since you opened it"):
        services.agreement_sign(
            version_id=proposed.pk, user=marketing_manager, now=later(30), seen_hash=seen_hash
        )

    # then nothing is signed; signing the current content works
    assert not proposed.signatures.exists()
    proposed.refresh_from_db()
    services.agreement_sign(
        version_id=proposed.pk, user=marketing_manager, now=later(31), seen_hash=proposed.content_hash
    )
    assert proposed.signatures.valid().get().content_hash == proposed.content_hash


def test_a_draft_cannot_be_signed(draft, marketing_manager):
    # when / then
    with pytest.raises(SignatureRefused, match="only a proposed version can be signed"):
        sign(draft, marketing_manager, 30)
    assert not draft.signatures.exists()


def test_a_withdrawn_version_cannot_be_signed(proposed, marketer, marketing_manager):
    # given
    services.agreement_withdraw(version_id=proposed.pk, user=marketer, now=later(25))

    # when / then
    with pytest.raises(SignatureRefused, match="withdrawn"):
        sign(proposed, marketing_manager, 30)
    assert not proposed.signatures.exists()


def test_an_active_version_cannot_be_signed_again(active, marketing_manager, sales_manager):
    # given the active version with its two signatures
    signatures = list(active.signatures.values_list("pk", "voided_at"))

    # when / then
    for user in (marketing_manager, sales_manager):
        with pytest.raises(SignatureRefused, match="active"):
            sign(active, user, 30)
    assert list(active.signatures.values_list("pk", "voided_at")) == signatures


# ---------------------------------------------------------------------------------------------------------
# Locked versions never change


@pytest.fixture
def superseded(active, proposed, marketing_manager, sales_manager) -> AgreementVersion:
    sign(proposed, marketing_manager, 30)
    sign(proposed, sales_manager, 40)
    active.refresh_from_db()
    assert active.status == Status.SUPERSEDED
    return active


@pytest.fixture
def withdrawn(draft, marketer) -> AgreementVersion:
    services.agreement_withdraw(version_id=draft.pk, user=marketer, now=later(15))
    draft.refresh_from_db()
    return draft


LOCKED_FIXTURES = ["active", "superseded", "withdrawn"]


def _edit(version: AgreementVersion, user: Any) -> None:
    services.agreement_change(version_id=version.pk, user=user, change=set_points("f2", 25), now=later(60))


def _edit_details(version: AgreementVersion, user: Any) -> None:
    services.agreement_details_update(
        version_id=version.pk, user=user, title="Rewritten", summary="Rewritten", now=later(60)
    )


def _withdraw(version: AgreementVersion, user: Any) -> None:
    services.agreement_withdraw(version_id=version.pk, user=user, now=later(60))


def _propose(version: AgreementVersion, user: Any) -> None:
    services.agreement_propose(version_id=version.pk, user=user, now=later(60))


@pytest.mark.parametrize("status", LOCKED_FIXTURES)
@pytest.mark.parametrize(
    "operation", [_edit, _edit_details, _withdraw, _propose], ids=lambda f: f.__name__[1:]
)
def test_locked_versions_refuse_every_change(request, status, operation, marketing_manager):
    # given a version that is active, superseded or withdrawn
    version = request.getfixturevalue(status)
    before = stored(version)
    row = AgreementVersion.objects.values().get(pk=version.pk)
    audit_count = AuditEntry.objects.count()

    # when / then
    with pytest.raises(AgreementLocked, match="can no longer change"):
        operation(version, marketing_manager)
    assert stored(version) == before
    assert AgreementVersion.objects.values().get(pk=version.pk) == row
    assert AuditEntry.objects.count() == audit_count


@pytest.mark.parametrize("status", LOCKED_FIXTURES)
def test_locked_content_is_byte_identical_after_refused_rule_operations(request, status, marketer):
    # given
    version = request.getfixturevalue(status)
    before = stored(version)

    # when every kind of rule operation is tried
    operations = [
        lambda c: agreement_content.rule_add(c, "fit_rules", {"name": "New", "points": 5, "condition": None}),
        lambda c: agreement_content.rule_remove(c, "fit_rules", "f1"),
        lambda c: agreement_content.rule_move(c, "fit_rules", "f1", 1),
        set_threshold(99),
    ]
    for change in operations:
        with pytest.raises(AgreementLocked):
            services.agreement_change(version_id=version.pk, user=marketer, change=change, now=later(60))

    # then the content and its hash are exactly as signed
    assert stored(version) == before
    assert stored(version)[1] == content_hash(json.loads(before[0]))


def test_signed_content_matches_the_signatures_forever(superseded):
    # given a superseded version
    # then its content is still the content both sides signed
    version = AgreementVersion.objects.get(pk=superseded.pk)
    assert {s.content_hash for s in version.signatures.valid()} == {content_hash(version.content)}


# ---------------------------------------------------------------------------------------------------------
# Withdraw, comments


def test_withdraw_voids_signatures(proposed, marketer, marketing_manager):
    # given one side has signed
    sign(proposed, marketing_manager, 30)

    # when the draft is withdrawn
    services.agreement_withdraw(
        version_id=proposed.pk, user=marketer, now=later(40), reason="Wrong threshold"
    )

    # then it is withdrawn and the signature voided, not deleted
    proposed.refresh_from_db()
    assert proposed.status == Status.WITHDRAWN
    signature = proposed.signatures.get()
    assert signature.voided_at == later(40)
    assert signature.void_reason == "Draft withdrawn"
    entry = audit_for(proposed).filter(action="agreement.withdrawn").get()
    assert entry.changes == {"status": ["proposed", "withdrawn"]}
    assert entry.reason == "Wrong threshold"


def test_reps_cannot_withdraw(draft, rep):
    # when / then
    with pytest.raises(AgreementError):
        services.agreement_withdraw(version_id=draft.pk, user=rep, now=later(30))
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_comment_on_a_draft(draft, sales_manager):
    # when
    comment = services.agreement_comment(
        version_id=draft.pk, user=sales_manager, body="  Is 25 too much?  ", now=later(30)
    )

    # then
    assert list(draft.comments.all()) == [comment]
    assert (comment.author, comment.body, comment.created_at) == (sales_manager, "Is 25 too much?", later(30))


def test_empty_comment_is_refused(draft, sales_manager):
    # when / then
    with pytest.raises(AgreementError, match="cannot be empty"):
        services.agreement_comment(version_id=draft.pk, user=sales_manager, body="   ", now=later(30))
    assert not Comment.objects.exists()


# ---------------------------------------------------------------------------------------------------------
# Audit trail


def test_audit_trail_of_a_version_life(active, marketer, marketing_manager, sales_manager):
    # when a draft goes from start to activation
    draft = services.agreement_draft_create(user=marketer, now=later(1))
    services.agreement_change(
        version_id=draft.pk,
        user=marketer,
        change=set_points("f2", 25),
        now=later(2),
        action="agreement.fit_rules.edited",
    )
    services.agreement_propose(version_id=draft.pk, user=marketer, now=later(3))
    sign(draft, marketing_manager, 4)
    sign(draft, sales_manager, 5)

    # then every step is recorded with who did it
    entries = list(audit_for(draft).order_by("at", "pk"))
    assert [(e.action, e.actor) for e in entries] == [
        ("agreement.draft_created", marketer),
        ("agreement.fit_rules.edited", marketer),
        ("agreement.proposed", marketer),
        ("agreement.signed", marketing_manager),
        ("agreement.signed", sales_manager),
        ("agreement.activated", sales_manager),
    ]
    edit = entries[1]
    assert edit.changes == {"content": [["Target industry: +15 → +25 points"], None]}
    assert edit.at == later(2)
    assert [e.reason for e in entries if e.action == "agreement.signed"] == ["Marketing side", "Sales side"]
    superseded = audit_for(active).get(action="agreement.superseded")
    assert superseded.reason == f"Replaced by v{draft.number}"
    assert superseded.changes == {"status": ["active", "superseded"]}


def test_audit_of_a_rule_change_lists_every_difference_in_words(draft, marketer):
    # when a rule is added, another removed and two swapped
    def change(content: dict[str, Any]) -> dict[str, Any]:
        agreement_content.rule_add(
            content,
            "fit_rules",
            {
                "name": "UK company",
                "points": 5,
                "condition": {"field": "country", "op": "equals", "value": "GB"},
            },
        )
        agreement_content.rule_remove(content, "gates", "g1")
        return content

    services.agreement_change(version_id=draft.pk, user=marketer, change=change, now=later(30))

    # then
    texts = audit_for(draft).get(action="agreement.edited").changes["content"][0]
    assert texts == [
        'Added fit rule "UK company": country is GB → +5',
        'Removed gate "Has an e-mail address"',
    ]


# ---------------------------------------------------------------------------------------------------------
# Starter agreement


def test_ensure_starter_creates_a_signed_active_agreement_once(marketing_manager, sales_manager):
    # when it runs twice
    first = services.agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=T0
    )
    second = services.agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=later(60)
    )

    # then there is one active, signed starter agreement
    assert first.pk == second.pk
    assert AgreementVersion.objects.count() == 1
    assert first.status == Status.ACTIVE
    assert first.content == agreement_content.starter_content()
    assert {(s.side, s.signed_by) for s in first.signatures.valid()} == {
        (Side.MARKETING, marketing_manager),
        (Side.SALES, sales_manager),
    }
    assert Signature.objects.count() == 2


def test_ensure_starter_leaves_an_existing_draft_alone(marketer, marketing_manager, sales_manager):
    # given a first draft someone already started
    draft = services.agreement_draft_create(user=marketer, now=T0)

    # when
    version = services.agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=later(60)
    )

    # then nothing new is created or signed
    assert version.pk == draft.pk
    assert AgreementVersion.objects.count() == 1
    assert not Signature.objects.exists()


# ---------------------------------------------------------------------------------------------------------
# Rule operations on the content (sla/content.py)


def fit_ids(content: dict[str, Any]) -> list[str]:
    return [rule["id"] for rule in content["mql"]["fit_rules"]]


def all_ids(content: dict[str, Any]) -> list[str]:
    return [rule["id"] for key in agreement_content.RULE_SECTIONS for rule in content["mql"][key]]


NEW_FIT_RULE = {
    "name": "UK company",
    "points": 5,
    "condition": {"field": "country", "op": "equals", "value": "GB"},
}


def test_rule_add_appends_with_a_fresh_id():
    # given
    content = agreement_content.starter_content()

    # when
    agreement_content.rule_add(content, "fit_rules", {**NEW_FIT_RULE, "id": "f1"})

    # then the given id is ignored; the new rule gets a fresh one, at the end
    ids = fit_ids(content)
    assert ids[:4] == ["f1", "f2", "f3", "f4"] and ids[4] not in ids[:4] and ids[4].startswith("f")
    assert content["mql"]["fit_rules"][-1] == {**NEW_FIT_RULE, "id": ids[4]}
    agreement_content.validate(content)


def test_rule_ids_stay_unique_across_removals_and_additions():
    # given
    content = agreement_content.starter_content()

    # when rules are removed and added in every section
    agreement_content.rule_remove(content, "fit_rules", "f2")
    agreement_content.rule_add(content, "fit_rules", NEW_FIT_RULE)
    agreement_content.rule_add(content, "fit_rules", NEW_FIT_RULE)
    agreement_content.rule_add(
        content,
        "gates",
        {
            "name": "Not a student",
            "condition": {"field": "job_title", "op": "not_equals", "value": "student"},
        },
    )

    # then no two rules share an id and the document is valid
    ids = all_ids(content)
    assert len(ids) == len(set(ids))
    assert content["mql"]["gates"][-1]["id"] not in ("g1", "g2")
    # and the removed rule's id is never handed out again (the diff matches rules by id)
    assert "f2" not in fit_ids(content)
    agreement_content.validate(content)


def test_rule_replace_keeps_id_and_position():
    # given
    content = agreement_content.starter_content()

    # when
    agreement_content.rule_replace(content, "fit_rules", "f2", {**NEW_FIT_RULE, "id": "zz"})

    # then
    assert fit_ids(content) == ["f1", "f2", "f3", "f4"]
    assert content["mql"]["fit_rules"][1] == {**NEW_FIT_RULE, "id": "f2"}


def test_rule_remove_and_unknown_rule():
    # given
    content = agreement_content.starter_content()

    # when
    agreement_content.rule_remove(content, "fit_rules", "f3")

    # then
    assert fit_ids(content) == ["f1", "f2", "f4"]
    with pytest.raises(InvalidContent, match="No rule f3") as raised:
        agreement_content.rule_remove(content, "fit_rules", "f3")
    assert raised.value.path == "f3"


@pytest.mark.parametrize(
    ("rule_id", "offset", "expected"),
    [
        ("f2", -1, ["f2", "f1", "f3", "f4"]),
        ("f2", 1, ["f1", "f3", "f2", "f4"]),
        ("f1", -1, ["f1", "f2", "f3", "f4"]),
        ("f4", 1, ["f1", "f2", "f3", "f4"]),
        ("f1", 10, ["f2", "f3", "f4", "f1"]),
    ],
)
def test_rule_move(rule_id, offset, expected):
    # given
    content = agreement_content.starter_content()

    # when
    agreement_content.rule_move(content, "fit_rules", rule_id, offset)

    # then
    assert fit_ids(content) == expected
