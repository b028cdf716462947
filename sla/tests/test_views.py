"""The agreement pages as each role uses them: reading, inline (htmx) editing, proposing, signing, comparing."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from sla import content as agreement_content
from sla import services
from sla.criteria import FRAMEWORK_TEMPLATES
from sla.models import AgreementVersion, Comment, Signature, Status

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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
    return services.agreement_draft_create(user=marketer, now=T0 + timedelta(hours=1), title="Tighter fit")


@pytest.fixture
def proposed(draft, marketer) -> AgreementVersion:
    return services.agreement_propose(version_id=draft.pk, user=marketer, now=T0 + timedelta(hours=2))


def text(response) -> str:
    return response.content.decode()


def stored(version: AgreementVersion) -> tuple[str, str, str]:
    row = AgreementVersion.objects.values("content", "content_hash", "status").get(pk=version.pk)
    return json.dumps(row["content"], sort_keys=True), row["content_hash"], row["status"]


def content_of(version: AgreementVersion) -> dict[str, Any]:
    return AgreementVersion.objects.get(pk=version.pk).content


def field_block(body: str, name: str) -> str:
    """The `<div class="field">` holding the input called `name`: its label, widget, help and errors."""
    for block in re.findall(r'<div class="field[^"]*">(.*?)\n</div>', body, re.S):
        if f'name="{name}"' in block:
            return html.unescape(block)
    raise AssertionError(f"no field {name} in the response")


def assert_fragment(response) -> None:
    assert "<html" not in text(response)


def rule_url(version: AgreementVersion, section: str, rule_id: str = "") -> str:
    if rule_id:
        return reverse("sla:rule_edit", args=[version.pk, section, rule_id])
    return reverse("sla:rule_add", args=[version.pk, section])


def fit_rule_data(prefix: str, **overrides: str) -> dict[str, str]:
    data = {
        "name": "Target industry",
        "points": "15",
        "field": "industry",
        "op": "one_of",
        "value": "software, financial services, healthcare, education",
    }
    data.update(overrides)
    return {f"{prefix}-{key}": value for key, value in data.items()}


def fit_rule(version: AgreementVersion, rule_id: str) -> dict[str, Any]:
    return agreement_content.rule_get(content_of(version), "fit_rules", rule_id)


def fit_ids(version: AgreementVersion) -> list[str]:
    return [rule["id"] for rule in content_of(version)["mql"]["fit_rules"]]


# ---------------------------------------------------------------------------------------------------------
# Who sees what


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_the_active_agreement(active, role_users, login, role):
    # given
    client = login(role_users[role])

    # when
    response = client.get(reverse("sla:active"))

    # then the page shows the version and its threshold
    assert response.status_code == 200
    body = text(response)
    assert "v1 · Starter agreement" in body
    assert "scores <strong>50+</strong> points" in body
    assert "<strong>50 points or more</strong>" in body
    assert "Decision maker" in body


def test_only_editors_are_offered_a_new_draft(active, rep, marketer, login):
    # when
    rep_page = text(login(rep).get(reverse("sla:active")))
    marketer_page = text(login(marketer).get(reverse("sla:active")))

    # then
    assert "Start a draft to change it" not in rep_page
    assert "Start a draft to change it" in marketer_page


def test_active_page_before_any_agreement(rep, marketer, login):
    # when
    rep_page = text(login(rep).get(reverse("sla:active")))
    marketer_page = text(login(marketer).get(reverse("sla:active")))

    # then
    assert "No agreement is in force yet" in rep_page
    assert "Start the first draft" not in rep_page
    assert "Start the first draft" in marketer_page


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "sla:active", []),
        ("get", "sla:versions", []),
        ("get", "sla:version", ["pk"]),
        ("get", "sla:diff", ["pk"]),
        ("post", "sla:draft_create", []),
        ("post", "sla:propose", ["pk"]),
        ("post", "sla:sign", ["pk"]),
        ("post", "sla:rule_delete", ["pk", "fit_rules", "f1"]),
    ],
)
def test_anonymous_users_go_to_the_login_page(client, draft, method, name, args):
    # given
    url = reverse(name, args=[draft.pk if arg == "pk" else arg for arg in args])
    before = stored(draft)

    # when
    response = getattr(client, method)(url)

    # then
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert stored(draft) == before


@pytest.mark.parametrize("name", ["sla:version", "sla:diff"])
def test_reps_never_see_drafts(draft, rep, login, name):
    # when
    response = login(rep).get(reverse(name, args=[draft.pk]))

    # then
    assert response.status_code == 403


def test_reps_read_superseded_versions(active, proposed, rep, marketing_manager, sales_manager, login):
    # given v1 superseded by v2
    for manager in (marketing_manager, sales_manager):
        services.agreement_sign(version_id=proposed.pk, user=manager, now=timezone.now())

    # when
    response = login(rep).get(reverse("sla:version", args=[active.pk]))

    # then
    assert response.status_code == 200
    assert "Superseded" in text(response)


REP_FORBIDDEN = [
    ("post", "sla:draft_create", []),
    ("post", "sla:details_update", ["pk"]),
    ("get", "sla:rule_add", ["pk", "fit_rules"]),
    ("post", "sla:rule_add", ["pk", "fit_rules"]),
    ("get", "sla:rule_edit", ["pk", "fit_rules", "f2"]),
    ("post", "sla:rule_edit", ["pk", "fit_rules", "f2"]),
    ("post", "sla:rule_delete", ["pk", "fit_rules", "f2"]),
    ("post", "sla:rule_move", ["pk", "fit_rules", "f2", "up"]),
    ("get", "sla:part_edit", ["pk", "threshold"]),
    ("post", "sla:part_edit", ["pk", "threshold"]),
    ("post", "sla:propose", ["pk"]),
    ("post", "sla:sign", ["pk"]),
    ("post", "sla:withdraw", ["pk"]),
    ("post", "sla:comment", ["pk"]),
]


@pytest.mark.parametrize(("method", "name", "args"), REP_FORBIDDEN)
def test_reps_cannot_edit_or_sign(proposed, rep, login, method, name, args):
    # given a proposed version and a rep posting what an editor would
    url = reverse(name, args=[proposed.pk if arg == "pk" else arg for arg in args])
    data = {
        **fit_rule_data("fit_rules-f2", points="99"),
        "threshold-threshold": "1",
        "title": "Hijacked",
        "body": "Hello",
    }
    before = stored(proposed)

    # when
    response = login(rep).get(url) if method == "get" else login(rep).post(url, data, headers=HTMX)

    # then
    assert response.status_code == 403
    assert stored(proposed) == before
    assert AgreementVersion.objects.count() == 2
    assert not proposed.signatures.exists()
    assert not Comment.objects.exists()


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMIN])
def test_only_managers_reach_the_sign_endpoint(proposed, role_users, login, role):
    # when
    response = login(role_users[role]).post(reverse("sla:sign", args=[proposed.pk]))

    # then
    assert response.status_code == 403
    assert not proposed.signatures.exists()


def test_versions_list_hides_drafts_from_reps(active, draft, rep, marketer, login):
    # when
    rep_page = text(login(rep).get(reverse("sla:versions")))
    marketer_page = text(login(marketer).get(reverse("sla:versions")))

    # then
    draft_url = reverse("sla:version", args=[draft.pk])
    assert reverse("sla:version", args=[active.pk]) in rep_page
    assert draft_url not in rep_page
    assert "Tighter fit" not in rep_page
    assert draft_url in marketer_page
    assert "Tighter fit" in marketer_page


def test_versions_table_swaps_as_a_fragment(active, rep, login):
    # when
    response = login(rep).get(reverse("sla:versions"), headers={**HTMX, "HX-Target": "versions-table"})

    # then
    assert response.status_code == 200
    assert_fragment(response)
    assert 'id="versions-table"' in text(response)
    assert "Starter agreement" in text(response)


# ---------------------------------------------------------------------------------------------------------
# Starting a draft


def test_marketer_starts_a_draft_and_lands_on_it(active, marketer, login):
    # given
    client = login(marketer)

    # when
    response = client.post(reverse("sla:draft_create"))

    # then
    draft = AgreementVersion.objects.get(number=2)
    assert response.status_code == 302
    assert response["Location"] == draft.get_absolute_url()
    assert draft.status == Status.DRAFT
    assert draft.content == active.content
    assert draft.based_on == active
    page = text(client.get(response["Location"]))
    assert "Draft v2 started" in page
    assert "Propose for sign-off" in page


# ---------------------------------------------------------------------------------------------------------
# Inline rule editing (htmx)


def test_rule_edit_row_is_a_fragment_with_the_form(draft, marketer, login):
    # when
    response = login(marketer).get(
        rule_url(draft, "fit_rules", "f2"), headers={**HTMX, "HX-Target": "section-fit_rules"}
    )

    # then
    assert response.status_code == 200
    assert_fragment(response)
    body = text(response)
    assert 'id="section-fit_rules"' in body
    assert f'hx-post="{rule_url(draft, "fit_rules", "f2")}"' in body
    assert 'value="15"' in field_block(body, "fit_rules-f2-points")
    assert 'value="Target industry"' in field_block(body, "fit_rules-f2-name")


def test_valid_fit_rule_change_returns_the_refreshed_section(draft, marketer, login):
    # when
    response = login(marketer).post(
        rule_url(draft, "fit_rules", "f2"),
        fit_rule_data("fit_rules-f2", points="25", value="software, healthcare"),
        headers={**HTMX, "HX-Target": "section-fit_rules"},
    )

    # then the section shows the new points, no longer in edit mode
    assert response.status_code == 200
    assert_fragment(response)
    body = text(response)
    assert '<span class="points pos">+25</span>' in body
    assert "industry is one of software, healthcare" in body
    assert "<form" not in body
    assert response["HX-Trigger"] == "agreementChanged"
    # and the draft holds the change
    assert fit_rule(draft, "f2") == {
        "id": "f2",
        "name": "Target industry",
        "points": 25,
        "condition": {"field": "industry", "op": "one_of", "value": ["software", "healthcare"]},
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"op": "between", "value": "500, 10"},
            "value",
            "The first number must not be larger than the second.",
        ),
        ({"points": "abc"}, "points", "Enter a whole number."),
        ({"op": "gte", "value": "many"}, "value", "“many” is not a number."),
        ({"name": ""}, "name", "This field is required."),
    ],
    ids=["between", "points", "gte", "name"],
)
def test_invalid_rule_change_shows_the_error_beside_the_field(
    draft, marketer, login, overrides, field, message
):
    # given
    before = stored(draft)

    # when
    response = login(marketer).post(
        rule_url(draft, "fit_rules", "f3"),
        fit_rule_data(
            "fit_rules-f3",
            **{
                "name": "100+ employees",
                "points": "10",
                "field": "employees",
                "op": "gte",
                "value": "100",
                **overrides,
            },
        ),
        headers={**HTMX, "HX-Target": "section-fit_rules"},
    )

    # then the form comes back with the message next to the field, and the draft is unchanged
    assert response.status_code == 422
    assert_fragment(response)
    block = field_block(text(response), f"fit_rules-f3-{field}")
    assert f'<small class="error" role="alert">{message}</small>' in block
    assert re.search(rf'<div class="field has-error">\s*<label for="id_fit_rules-f3-{field}"', text(response))
    assert stored(draft) == before


def test_add_a_fit_rule(draft, marketer, login):
    # given
    client = login(marketer)

    # when the empty row is opened, then saved
    row = client.get(rule_url(draft, "fit_rules"), headers={**HTMX, "HX-Target": "section-fit_rules"})
    response = client.post(
        rule_url(draft, "fit_rules"),
        fit_rule_data(
            "fit_rules-new", name="UK company", points="5", field="country", op="equals", value="GB"
        ),
        headers=HTMX,
    )

    # then
    assert row.status_code == 200
    assert_fragment(row)
    assert 'name="fit_rules-new-name"' in text(row)
    assert response.status_code == 200
    assert "UK company" in text(response)
    assert "country is GB" in text(response)
    ids = fit_ids(draft)
    assert ids[:4] == ["f1", "f2", "f3", "f4"] and len(ids) == 5
    assert ids[4].startswith("f") and fit_rule(draft, ids[4])["points"] == 5


def test_add_an_engagement_rule_that_counts_visits(draft, marketer, login):
    # when
    response = login(marketer).post(
        rule_url(draft, "engagement_rules"),
        {
            "engagement_rules-new-name": "Pricing page 3 times",
            "engagement_rules-new-points": "20",
            "engagement_rules-new-activity": "page",
            "engagement_rules-new-where_property": "path",
            "engagement_rules-new-where_op": "starts_with",
            "engagement_rules-new-where_value": "/pricing",
            "engagement_rules-new-window_days": "14",
            "engagement_rules-new-max_count": "",
            "engagement_rules-new-min_count": "3",
        },
        headers=HTMX,
    )

    # then
    assert response.status_code == 200
    assert "3+ × page where path starts with /pricing in the last 14 days (scores once)" in text(response)
    rule = content_of(draft)["mql"]["engagement_rules"][-1]
    assert rule["id"] not in {f"e{n}" for n in range(1, 8)}
    assert rule == {
        "id": rule["id"],
        "name": "Pricing page 3 times",
        "points": 20,
        "activity": "page",
        "where": {"property": "path", "op": "starts_with", "value": "/pricing"},
        "max_count": None,
        "window_days": 14,
        "min_count": 3,
    }


def test_edit_a_trigger(draft, marketer, login):
    # when the demo request trigger gets a shorter window and a new reason
    response = login(marketer).post(
        rule_url(draft, "triggers", "t1"),
        {
            "triggers-t1-name": "Demo request",
            "triggers-t1-activity": "demo_request",
            "triggers-t1-requires_gates": "on",
            "triggers-t1-within_days": "3",
            "triggers-t1-reason": "asked for a demo",
        },
        headers=HTMX,
    )

    # then
    assert response.status_code == 200
    assert "“asked for a demo”" in text(response)
    trigger = agreement_content.rule_get(content_of(draft), "triggers", "t1")
    assert (trigger["within_days"], trigger["reason"], trigger["where"]) == (3, "asked for a demo", None)


def test_remove_a_rule(draft, marketer, login):
    # when
    response = login(marketer).post(
        reverse("sla:rule_delete", args=[draft.pk, "fit_rules", "f4"]), headers=HTMX
    )

    # then
    assert response.status_code == 200
    assert_fragment(response)
    assert "Free-mail address" not in text(response)
    assert fit_ids(draft) == ["f1", "f2", "f3"]


def test_move_rules_up_and_down(draft, marketer, login):
    # given
    client = login(marketer)

    # when f3 moves up
    up = client.post(reverse("sla:rule_move", args=[draft.pk, "fit_rules", "f3", "up"]), headers=HTMX)

    # then
    assert up.status_code == 200
    assert fit_ids(draft) == ["f1", "f3", "f2", "f4"]
    body = text(up)
    assert body.index("100+ employees") < body.index("Target industry")

    # when f1 moves down
    client.post(reverse("sla:rule_move", args=[draft.pk, "fit_rules", "f1", "down"]), headers=HTMX)

    # then
    assert fit_ids(draft) == ["f3", "f1", "f2", "f4"]


def test_unknown_move_direction_or_rule(draft, marketer, login):
    # given
    client = login(marketer)
    before = stored(draft)

    # when
    sideways = client.post(reverse("sla:rule_move", args=[draft.pk, "fit_rules", "f1", "sideways"]))
    missing_edit = client.get(rule_url(draft, "fit_rules", "f9"), headers=HTMX)
    missing_save = client.post(
        rule_url(draft, "fit_rules", "f9"), fit_rule_data("fit_rules-f9"), headers=HTMX
    )
    missing_remove = client.post(reverse("sla:rule_delete", args=[draft.pk, "fit_rules", "f9"]), headers=HTMX)

    # then
    assert sideways.status_code == 404
    assert missing_edit.status_code == 404
    assert missing_save.status_code == 404
    assert missing_remove.status_code == 422
    assert "No rule f9 in this section" in text(missing_remove)
    assert stored(draft) == before


def test_cancel_returns_the_section_as_it_was(draft, marketer, login):
    # when the Cancel button asks for the section again
    response = login(marketer).get(
        reverse("sla:version", args=[draft.pk]), headers={**HTMX, "HX-Target": "section-fit_rules"}
    )

    # then
    assert response.status_code == 200
    assert_fragment(response)
    assert 'id="section-fit_rules"' in text(response)
    assert "<form" not in text(response)


def test_locked_version_refuses_inline_edits(active, marketer, login):
    # given
    client = login(marketer)
    before = stored(active)

    # when
    save = client.post(
        rule_url(active, "fit_rules", "f2"), fit_rule_data("fit_rules-f2", points="25"), headers=HTMX
    )
    remove = client.post(reverse("sla:rule_delete", args=[active.pk, "fit_rules", "f2"]), headers=HTMX)
    part = client.post(
        reverse("sla:part_edit", args=[active.pk, "threshold"]), {"threshold-threshold": "10"}, headers=HTMX
    )

    # then each answer says why, and the active content stays as signed
    assert (save.status_code, remove.status_code, part.status_code) == (409, 422, 409)
    for response in (save, remove, part):
        assert "Version 1 is active and can no longer change" in text(response)
    assert stored(active) == before


# ---------------------------------------------------------------------------------------------------------
# Part forms


def part_url(version: AgreementVersion, part: str) -> str:
    return reverse("sla:part_edit", args=[version.pk, part])


def test_part_form_opens_as_a_fragment(draft, marketer, login):
    # when
    response = login(marketer).get(
        part_url(draft, "threshold"), headers={**HTMX, "HX-Target": "part-threshold"}
    )

    # then
    assert response.status_code == 200
    assert_fragment(response)
    assert 'id="part-threshold"' in text(response)
    assert 'value="50"' in field_block(text(response), "threshold-threshold")


def test_edit_threshold_and_inactivity(draft, marketer, login):
    # when
    response = login(marketer).post(
        part_url(draft, "threshold"),
        {
            "threshold-threshold": "65",
            "threshold-inactivity_days": "60",
            "threshold-inactivity_points": "-10",
        },
        headers=HTMX,
    )

    # then
    assert response.status_code == 200
    assert_fragment(response)
    assert "<strong>65 points or more</strong>" in text(response)
    assert "No activity for 60 days counts" in text(response)
    mql = content_of(draft)["mql"]
    assert (mql["threshold"], mql["inactivity"]) == (65, {"days": 60, "points": -10})


def test_threshold_needs_both_inactivity_fields(draft, marketer, login):
    # given
    before = stored(draft)

    # when
    response = login(marketer).post(
        part_url(draft, "threshold"),
        {"threshold-threshold": "65", "threshold-inactivity_days": "60", "threshold-inactivity_points": ""},
        headers=HTMX,
    )

    # then
    assert response.status_code == 422
    block = field_block(text(response), "threshold-inactivity_points")
    assert "Give both the window and the points, or neither." in block
    assert stored(draft) == before


SQL_ITEMS = "* Need\n* Authority\nBudget\nTimeframe"


def test_fill_sql_items_from_the_framework_template(draft, marketer, login):
    # when CHAMP is chosen and "Fill items from the framework's template" pressed
    response = login(marketer).post(
        part_url(draft, "sql"),
        {"sql-framework": "champ", "sql-items": SQL_ITEMS, "sql-min_met": "3", "sql-fill_template": "on"},
        headers=HTMX,
    )

    # then the checklist is CHAMP's
    assert response.status_code == 200
    assert "<strong>CHAMP</strong>" in text(response)
    assert "Challenges" in text(response)
    assert content_of(draft)["sql"] == {
        "framework": "champ",
        "items": FRAMEWORK_TEMPLATES["champ"],
        "min_met": 3,
    }


def test_save_after_a_refused_fill_keeps_the_typed_items(draft, marketer, login):
    # given "Fill items from the framework's template" was refused (CHAMP has 4 items, 9 are asked for)
    client = login(marketer)
    refused = client.post(
        part_url(draft, "sql"),
        {"sql-framework": "champ", "sql-items": SQL_ITEMS, "sql-min_met": "9", "sql-fill_template": "on"},
        headers=HTMX,
    )
    assert refused.status_code == 422
    # the form shown again carries the fill flag on its button only, not in a hidden input
    assert re.findall(r'<[^>]*name="sql-fill_template"[^>]*>', text(refused)) == [
        '<button type="submit" name="sql-fill_template" value="on">'
    ]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text(refused)))

    # when the user types their own items into that form and presses Save
    saved = client.post(
        part_url(draft, "sql"),
        {**hidden, "sql-framework": "bant", "sql-items": "* Need\nBudget\nTimeframe", "sql-min_met": "2"},
        headers=HTMX,
    )

    # then their items are kept, not replaced by the template
    assert saved.status_code == 200
    assert [item["label"] for item in content_of(draft)["sql"]["items"]] == ["Need", "Budget", "Timeframe"]


def test_save_a_custom_sql_checklist(draft, marketer, login):
    # when
    response = login(marketer).post(
        part_url(draft, "sql"),
        {"sql-framework": "custom", "sql-items": "* Need\n\n* Authority\nBudget fits", "sql-min_met": "2"},
        headers=HTMX,
    )

    # then
    assert response.status_code == 200
    assert content_of(draft)["sql"] == {
        "framework": "custom",
        "items": [
            {"key": "need", "label": "Need", "required": True},
            {"key": "authority", "label": "Authority", "required": True},
            {"key": "budget_fits", "label": "Budget fits", "required": False},
        ],
        "min_met": 2,
    }


@pytest.mark.parametrize(
    ("items", "min_met", "field", "message"),
    [
        ("* Need\nBudget\n* need", "2", "items", "Line 3: “need” is listed twice."),
        (SQL_ITEMS, "9", "min_met", "must be between 2 (the required items) and 4 (all items)"),
    ],
    ids=["duplicate", "min_met"],
)
def test_invalid_sql_checklist(draft, marketer, login, items, min_met, field, message):
    # given
    before = stored(draft)

    # when
    response = login(marketer).post(
        part_url(draft, "sql"),
        {"sql-framework": "bant", "sql-items": items, "sql-min_met": min_met},
        headers=HTMX,
    )

    # then
    assert response.status_code == 422
    assert message in field_block(text(response), f"sql-{field}")
    assert stored(draft) == before


def terms_data(**overrides: str) -> dict[str, str]:
    data = {"terms-on_breach": "reassign", "terms-notify_manager": "on"}
    for tier, values in {"hot": (10, 20, 240, 30, 7), "warm": (240, 960, 1920, 60, 7)}.items():
        for key, value in zip(
            (
                "claim_minutes",
                "first_contact_minutes",
                "accept_minutes",
                "outcome_days",
                "status_update_days",
            ),
            values,
            strict=True,
        ):
            data[f"terms-{tier}_{key}"] = str(value)
    data.update(overrides)
    return data


def test_edit_service_terms(draft, marketer, login):
    # when
    response = login(marketer).post(part_url(draft, "terms"), terms_data(), headers=HTMX)

    # then
    assert response.status_code == 200
    assert "the lead is reassigned round-robin" in text(response)
    terms = content_of(draft)["terms"]
    assert terms["tiers"]["hot"]["claim_minutes"] == 10
    assert terms["tiers"]["hot"]["first_contact_minutes"] == 20
    assert (terms["on_breach"], terms["notify_manager"], terms["auto_assign"]) == ("reassign", True, False)


def test_edit_the_engine_terms(draft, marketer, login):
    # when the marketer sets a warning, a two-step ladder (given out of order), a reject minimum and pausing
    data = terms_data(
        **{
            "terms-warn_before_minutes": "10",
            "terms-step_notify_managers_manager": "120",
            "terms-step_notify_owner": "0",
            "terms-min_contact_attempts": "3",
            "terms-pause_on_customer": "on",
        }
    )
    response = login(marketer).post(part_url(draft, "terms"), data, headers=HTMX)

    # then the agreement holds them, the ladder in order of delay, and the page says them in words
    assert response.status_code == 200
    terms = content_of(draft)["terms"]
    assert terms["warn_before_minutes"] == 10 and terms["min_contact_attempts"] == 3
    assert terms["escalation"] == [
        {"after_minutes": 0, "action": "notify_owner"},
        {"after_minutes": 120, "action": "notify_managers_manager"},
    ]
    assert terms["pause_on_customer"] is True
    page = text(response)
    assert "The owner is warned 10 min before each deadline." in page
    assert "after 120 min: notify the manager's manager" in page
    assert "at least 3 contact attempts before rejecting" in page


def test_invalid_service_terms(draft, marketer, login):
    # given
    before = stored(draft)

    # when
    response = login(marketer).post(
        part_url(draft, "terms"), terms_data(**{"terms-hot_claim_minutes": "0"}), headers=HTMX
    )

    # then
    assert response.status_code == 422
    cell = re.search(
        r'<td class="has-error"><input[^>]*name="terms-hot_claim_minutes".*?</td>', text(response), re.S
    )
    assert cell and "Ensure this value is greater than or equal to 1." in cell.group(0)
    assert stored(draft) == before


def calendar_data(closed_dates: str) -> dict[str, Any]:
    return {
        "calendar-time_zone": "Europe/Berlin",
        "calendar-workdays": ["0", "1", "2", "3"],
        "calendar-opens": "08:30",
        "calendar-closes": "17:00",
        "calendar-country": "DE",
        "calendar-closed_dates": closed_dates,
    }


def test_edit_the_business_calendar(draft, marketer, login):
    # when
    response = login(marketer).post(
        part_url(draft, "calendar"), calendar_data("2026-12-31\n\n2026-12-24\n"), headers=HTMX
    )

    # then
    assert response.status_code == 200
    body = text(response)
    assert "Mon, Tue, Wed, Thu" in body
    assert "08:30–17:00" in body
    assert "2026-12-24, 2026-12-31" in body
    assert content_of(draft)["terms"]["calendar"] == {
        "time_zone": "Europe/Berlin",
        "workdays": [0, 1, 2, 3],
        "opens": "08:30",
        "closes": "17:00",
        "country": "DE",
        "closed_dates": ["2026-12-24", "2026-12-31"],
    }


def test_bad_closed_date_reports_its_line(draft, marketer, login):
    # given
    before = stored(draft)

    # when
    response = login(marketer).post(
        part_url(draft, "calendar"), calendar_data("2026-12-24\n2026-13-01"), headers=HTMX
    )

    # then
    assert response.status_code == 422
    block = field_block(text(response), "calendar-closed_dates")
    assert "Line 2: “2026-13-01” is not a date like 2026-12-24." in block
    assert stored(draft) == before


def test_edit_marketing_commitment(draft, marketer, login):
    # when
    response = login(marketer).post(
        part_url(draft, "marketing"),
        {"marketing-mql_per_month": "250", "marketing-required_fields": "email, company,, country"},
        headers=HTMX,
    )

    # then
    assert response.status_code == 200
    assert "<strong>250</strong> MQLs a month" in text(response)
    assert "email, company, country" in text(response)
    assert content_of(draft)["terms"]["marketing"] == {
        "mql_per_month": 250,
        "required_fields": ["email", "company", "country"],
    }


def test_marketing_commitment_rejects_repeated_fields(draft, marketer, login):
    # given
    before = stored(draft)

    # when
    response = login(marketer).post(
        part_url(draft, "marketing"),
        {"marketing-mql_per_month": "250", "marketing-required_fields": "email, email"},
        headers=HTMX,
    )

    # then
    assert response.status_code == 422
    assert "must not repeat a field" in field_block(text(response), "marketing-required_fields")
    assert stored(draft) == before


# ---------------------------------------------------------------------------------------------------------
# Workflow: details, comments, propose, sign, withdraw


def sign_through_the_page(client, version: AgreementVersion):
    """Open the version page and press its Sign button, as a manager would."""
    page = text(client.get(reverse("sla:version", args=[version.pk])))
    assert "Sign for" in page
    seen = re.search(r'name="content_hash" value="([0-9a-f]{64})"', page)
    assert seen, "the sign form carries the content the manager saw"
    return client.post(reverse("sla:sign", args=[version.pk]), {"content_hash": seen.group(1)}, follow=True)


def test_propose_then_both_managers_sign(active, draft, marketer, marketing_manager, sales_manager, login):
    # when the marketer proposes the draft
    proposed = login(marketer).post(reverse("sla:propose", args=[draft.pk]), follow=True)

    # then
    assert "Proposed. Both managers can now sign this exact content." in text(proposed)
    assert AgreementVersion.objects.get(pk=draft.pk).status == Status.PROPOSED

    # when the marketing manager signs
    first = sign_through_the_page(login(marketing_manager), draft)

    # then it waits for sales
    assert "Signed. Waiting for the other side&#x27;s signature." in text(first)
    assert AgreementVersion.objects.get(pk=draft.pk).status == Status.PROPOSED

    # when the sales manager signs
    second = sign_through_the_page(login(sales_manager), draft)

    # then v2 is in force and v1 superseded
    assert "Signed. Both sides have signed: v2 is now the active agreement." in text(second)
    assert AgreementVersion.objects.get(pk=draft.pk).status == Status.ACTIVE
    assert AgreementVersion.objects.get(pk=active.pk).status == Status.SUPERSEDED
    assert "v2 · Tighter fit" in text(login(marketer).get(reverse("sla:active")))


def test_signing_content_that_changed_meanwhile_is_refused(proposed, marketer, marketing_manager, login):
    # given the manager opened the page, then a marketer changed a rule
    client = login(marketing_manager)
    page = text(client.get(reverse("sla:version", args=[proposed.pk])))
    seen = re.search(r'name="content_hash" value="([0-9a-f]{64})"', page).group(1)
    login(marketer).post(rule_url(proposed, "fit_rules", "f2"), fit_rule_data("fit_rules-f2", points="25"))

    # when the manager presses Sign
    response = client.post(reverse("sla:sign", args=[proposed.pk]), {"content_hash": seen}, follow=True)

    # then nothing is signed and they are told why
    assert "changed since you opened it" in text(response)
    assert not proposed.signatures.exists()


def test_signing_a_draft_is_refused_with_a_message(draft, sales_manager, login):
    # when
    response = login(sales_manager).post(reverse("sla:sign", args=[draft.pk]), follow=True)

    # then
    assert "only a proposed version can be signed" in text(response)
    assert not Signature.objects.filter(version=draft).exists()


def test_edit_after_a_signature_voids_it_on_the_page(proposed, marketer, marketing_manager, login):
    # given the marketing manager signed
    sign_through_the_page(login(marketing_manager), proposed)

    # when a marketer changes a rule
    login(marketer).post(rule_url(proposed, "fit_rules", "f2"), fit_rule_data("fit_rules-f2", points="25"))

    # then the page shows the signature as voided and marketing's signature as awaited again
    page = text(login(marketer).get(reverse("sla:version", args=[proposed.pk])))
    assert "1 voided signature" in page
    assert "Content changed after signing" in page
    assert "Waiting for the marketing manager's signature." in page


def test_withdraw_a_draft(draft, marketer, login):
    # when
    response = login(marketer).post(reverse("sla:withdraw", args=[draft.pk]), follow=True)

    # then
    assert "Draft withdrawn. It stays in the history." in text(response)
    assert AgreementVersion.objects.get(pk=draft.pk).status == Status.WITHDRAWN
    assert "Propose for sign-off" not in text(response)


def test_update_title_and_summary(draft, marketer, login):
    # when
    response = login(marketer).post(
        reverse("sla:details_update", args=[draft.pk]),
        {"title": "Reward pricing", "summary": "Pricing views predict wins."},
        follow=True,
    )

    # then
    assert "Title and summary saved." in text(response)
    assert "v2 · Reward pricing" in text(response)
    assert "Pricing views predict wins." in text(response)


def test_comment_on_a_draft(draft, sales_manager, login):
    # given
    client = login(sales_manager)

    # when
    response = client.post(reverse("sla:comment", args=[draft.pk]), {"body": "Is +25 too much?"})

    # then
    assert response.status_code == 302
    assert response["Location"] == f"{draft.get_absolute_url()}#comments"
    page = text(client.get(draft.get_absolute_url()))
    assert "Is +25 too much?" in page
    assert "Comment added." in page


# ---------------------------------------------------------------------------------------------------------
# Diff


def test_diff_lists_a_changed_rule_in_words(active, draft, marketer, sales_manager, login):
    # given the draft raises a fit rule's points
    login(marketer).post(rule_url(draft, "fit_rules", "f2"), fit_rule_data("fit_rules-f2", points="25"))

    # when a manager compares it with the version it is based on
    response = login(sales_manager).get(reverse("sla:diff", args=[draft.pk]))

    # then
    assert response.status_code == 200
    body = text(response)
    assert "What v2 changes against v1" in body
    assert "Target industry: +15 → +25 points" in body
    assert "1 change." in body


def test_diff_against_a_chosen_version(active, draft, marketer, login):
    # given a second draft with another threshold
    other = services.agreement_draft_create(user=marketer, now=timezone.now())
    login(marketer).post(part_url(other, "threshold"), {"threshold-threshold": "40"})

    # when v2 is compared with v3
    response = login(marketer).get(reverse("sla:diff", args=[draft.pk]), {"against": other.pk})

    # then
    assert "What v2 changes against v3" in text(response)
    assert "MQL threshold: 40 → 50" in text(response)


def test_reps_cannot_compare_with_a_draft(active, draft, rep, login):
    # when
    response = login(rep).get(reverse("sla:diff", args=[active.pk]), {"against": draft.pk})

    # then
    assert response.status_code == 404


# ---------------------------------------------------------------------------------------------------------
# Query counts


@pytest.mark.parametrize("versions", [1, 30])
def test_query_counts_do_not_grow_with_the_history(
    active, marketer, make_user, login, django_assert_max_num_queries, versions
):
    # given `versions` versions in all, by different people
    now = timezone.now()
    AgreementVersion.objects.bulk_create(
        AgreementVersion(
            number=100 + index,
            title=f"Old version {index}",
            status=Status.SUPERSEDED,
            content=active.content,
            content_hash=active.content_hash,
            created_by=make_user(Role.MARKETER),
            created_at=now,
            updated_at=now,
            activated_at=now,
            superseded_at=now,
        )
        for index in range(versions - 1)
    )
    client = login(marketer)

    # when / then
    with django_assert_max_num_queries(8):
        active_page = client.get(reverse("sla:active"))
    with django_assert_max_num_queries(8):
        versions_page = client.get(reverse("sla:versions"))
    assert active_page.status_code == versions_page.status_code == 200
    assert text(versions_page).count('<span class="badge superseded">') == min(versions - 1, 25)
