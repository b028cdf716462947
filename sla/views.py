"""Agreement pages: read the active agreement, edit drafts inline (htmx), propose, sign, compare versions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails
from django_tables2 import RequestConfig

from alignment.roles import ALL_ROLES, MANAGERS, Role, role_required, user_roles
from sla import content as agreement_content
from sla import services, wording
from sla.diff import diff_content
from sla.exceptions import AgreementError, InvalidContent
from sla.forms import ACTIVITY_TYPES, LEAD_FIELDS, PART_FORMS, RULE_FORMS, CommentForm, DetailsForm
from sla.models import AgreementVersion, Segment, Side, Status
from sla.tables import VersionTable

EDITORS = services.EDITOR_ROLES
READERS_OF_DRAFTS = EDITORS | {Role.ADMIN}
WEEKDAY_NAMES = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
# Section headings and "add" buttons, in the reader's language (the content keeps its English keys).
SECTION_LABELS = {
    "fit_rules": (_("Fit rule"), _("Fit rules")),
    "engagement_rules": (_("Engagement rule"), _("Engagement rules")),
    "gates": (_("Gate"), _("Gates")),
    "triggers": (_("Trigger"), _("Triggers")),
}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _visible_versions(user: Any):
    queryset = AgreementVersion.objects.with_people().select_related("segment")
    scope = services.segment_scope(user)
    if scope is not None:
        queryset = queryset.filter(_owned(scope))
    if user_roles(user) & READERS_OF_DRAFTS:
        return queryset
    return queryset.filter(status__in=[Status.ACTIVE, Status.SUPERSEDED])


def _owned(segments: list[Segment]) -> Q:
    owned = Q(pk__in=[])
    for segment in segments:
        owned |= segment.owns()
    return owned


def _get_version(request: HtmxHttpRequest, pk: int) -> AgreementVersion:
    version = get_object_or_404(AgreementVersion.objects.with_people(), pk=pk)
    if not services.in_user_segments(request.user, version.segment_id):
        raise Http404("No agreement of yours has this number.")
    if (
        version.status not in (Status.ACTIVE, Status.SUPERSEDED)
        and not user_roles(request.user) & READERS_OF_DRAFTS
    ):
        raise PermissionDenied(_("Drafts are visible to managers and marketers only."))
    return version


def _locked(version: AgreementVersion) -> HttpResponse:
    return HttpResponse(
        _("Version %(number)s is %(status)s and can no longer change.")
        % {"number": version.number, "status": str(version.get_status_display()).lower()},
        status=409,
    )


def _sections(version: AgreementVersion) -> list[dict[str, Any]]:
    sections = []
    for key, (_prefix, label) in agreement_content.RULE_SECTIONS.items():
        rules = [
            {**rule, "text": wording.rule_words(key, rule)} for rule in version.content["mql"].get(key, [])
        ]
        singular, plural = SECTION_LABELS.get(key, (label, label))
        sections.append({"key": key, "label": singular, "plural_label": plural, "rules": rules})
    return sections


def _version_context(request: HtmxHttpRequest, version: AgreementVersion) -> dict[str, Any]:
    roles = user_roles(request.user)
    valid_signatures = list(version.signatures.valid().select_related("signed_by"))
    signed_sides = {s.side for s in valid_signatures}
    can_edit = version.is_editable and bool(roles & EDITORS)
    sign_sides = (
        [
            (side, Side(side).label)
            for side in services.signing_sides(request.user)
            if side not in signed_sides
        ]
        if version.status == Status.PROPOSED
        else []
    )
    return {
        "version": version,
        "content": version.content,
        "sections": _sections(version),
        "can_edit": can_edit,
        "can_sign": bool(sign_sides),
        "sign_sides": sign_sides,
        "signatures": valid_signatures,
        "voided_signatures": version.signatures.filter(voided_at__isnull=False).select_related("signed_by"),
        "comments": version.comments.select_related("author"),
        "comment_form": CommentForm(),
        "details_form": DetailsForm(initial={"title": version.title, "summary": version.summary}),
        "lead_fields": LEAD_FIELDS,
        "activity_types": ACTIVITY_TYPES,
        "workday_names": ", ".join(
            str(WEEKDAY_NAMES[d]) for d in version.terms.get("calendar", {}).get("workdays", [])
        ),
        "sides": Side.choices,
        "signed_sides": signed_sides,
    }


def _segments_of(user: Any) -> list[Segment]:
    scope = services.segment_scope(user)
    return list(Segment.objects.all()) if scope is None else scope


def _chosen(segments: list[Segment], value: Any) -> Segment | None:
    """The segment asked for (a `segment` parameter) among the user's; else the first of theirs (the default
    segment for everyone who works across all)."""
    wanted = next((s for s in segments if str(s.pk) == str(value)), None)
    return wanted or next((s for s in segments if s.is_default), None) or (segments[0] if segments else None)


@role_required(ALL_ROLES)
@require_GET
def active(request: HtmxHttpRequest) -> HttpResponse:
    """The agreement in force in one segment (a `segment` parameter; else the default), with a tab per segment."""
    in_force = [
        v
        for v in AgreementVersion.objects.filter(status=Status.ACTIVE).select_related("segment")
        if services.in_user_segments(request.user, v.segment_id)
    ]
    wanted = request.GET.get("segment", "")
    version = next((v for v in in_force if str(v.segment_id) == wanted), None)
    segment = version.segment if version else None
    if version is None and wanted:  # a segment with no agreement yet: its first draft starts here
        segment = next((s for s in _segments_of(request.user) if str(s.pk) == wanted), None)
    if segment is None and version is None:
        version = next((v for v in in_force if v.segment is None or v.segment.is_default), None)
        version = version or (in_force[0] if in_force else None)
        segment = version.segment if version else None
    context: dict[str, Any] = {
        "can_start_draft": bool(user_roles(request.user) & EDITORS),
        "segments": sorted({v.segment for v in in_force if v.segment}, key=lambda s: (s.position, s.pk)),
        "segment": segment,
    }
    if version:
        context.update(_version_context(request, version))
        context["can_edit"] = False
    return render(request, "sla/active.html", context)


@role_required(ALL_ROLES)
@require_GET
def versions(request: HtmxHttpRequest) -> HttpResponse:
    table = VersionTable(_visible_versions(request.user))
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    template = "sla/versions.html"
    if request.htmx and request.htmx.target == "versions-table":
        template += "#versions-table"
    return render(
        request, template, {"table": table, "can_start_draft": bool(user_roles(request.user) & EDITORS)}
    )


@role_required(ALL_ROLES)
@require_GET
def version_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    version = _get_version(request, pk)
    target = request.htmx.target or "" if request.htmx else ""
    if target.startswith("section-") and target.removeprefix("section-") in RULE_FORMS:
        return _render_section(request, version, target.removeprefix("section-"))
    if target.startswith("part-") and target.removeprefix("part-") in PART_FORMS:
        return render(request, f"sla/_agreement.html#{target}", _version_context(request, version))
    return render(request, "sla/version.html", _version_context(request, version))


@role_required(EDITORS)
@require_POST
def draft_create(request: HtmxHttpRequest) -> HttpResponse:
    segment = _chosen(_segments_of(request.user), request.POST.get("segment"))
    try:
        version = services.agreement_draft_create(user=request.user, now=timezone.now(), segment=segment)
    except AgreementError as error:
        messages.error(request, str(error))
        return redirect("sla:versions")
    messages.success(
        request,
        _("Draft v%(number)s started from the active agreement. Edit it below.") % {"number": version.number},
    )
    return redirect(version)


@role_required(EDITORS)
@require_POST
def details_update(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    version = _get_version(request, pk)
    form = DetailsForm(request.POST)
    if form.is_valid():
        try:
            services.agreement_details_update(
                version_id=version.pk, user=request.user, now=timezone.now(), **form.cleaned_data
            )
            messages.success(request, _("Title and summary saved."))
        except AgreementError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, _("Give the version a title."))
    return redirect(version)


def _render_section(
    request: HtmxHttpRequest, version: AgreementVersion, section: str, **extra: Any
) -> HttpResponse:
    context = _version_context(request, version)
    context["section"] = next(s for s in context["sections"] if s["key"] == section)
    context.update(extra)
    return render(request, "sla/_rules_section.html", context)


def _apply_or_errors(
    request: HtmxHttpRequest, version, change, form, action: str
) -> InvalidContent | AgreementError | None:
    try:
        services.agreement_change(
            version_id=version.pk, user=request.user, change=change, now=timezone.now(), action=action
        )
    except InvalidContent as error:
        field = error.path.rsplit(".", 1)[-1].split("[")[0] if error.path else ""
        form.add_error(field if field in form.fields else None, wording.problem_words(error))
        return error
    except AgreementError as error:
        form.add_error(None, str(error))
        return error
    return None


@role_required(EDITORS)
@require_http_methods(["GET", "POST"])
def rule_edit(request: HtmxHttpRequest, pk: int, section: str, rule_id: str = "") -> HttpResponse:
    """GET: the rule's edit row (or an empty one to add). POST: save it and return the refreshed section."""
    version = _get_version(request, pk)
    form_class = RULE_FORMS.get(section)
    if form_class is None:
        raise Http404(_("No such section."))
    if not version.is_editable:
        return _locked(version)
    try:
        rule = agreement_content.rule_get(version.content, section, rule_id) if rule_id else None
    except InvalidContent:
        raise Http404(_("No such rule in this version; it may have been removed meanwhile.")) from None
    if request.method == "GET":
        form = form_class(
            initial=form_class.initial_from(rule) if rule else {}, prefix=f"{section}-{rule_id or 'new'}"
        )
        return _render_section(request, version, section, editing=rule_id or "new", form=form)
    form = form_class(request.POST, prefix=f"{section}-{rule_id or 'new'}")
    new_rule = form.to_rule() if form.is_valid() else None
    if new_rule is not None:

        def change(content: dict[str, Any]) -> dict[str, Any]:
            if rule_id:
                return agreement_content.rule_replace(content, section, rule_id, new_rule)
            return agreement_content.rule_add(content, section, new_rule)

        error = _apply_or_errors(
            request, version, change, form, f"agreement.{section}.{'edited' if rule_id else 'added'}"
        )
        if error is None:
            version.refresh_from_db()
            response = _render_section(request, version, section)
            response["HX-Trigger"] = "agreementChanged"
            return response
    response = _render_section(request, version, section, editing=rule_id or "new", form=form)
    response.status_code = 422
    return response


@role_required(EDITORS)
@require_POST
def rule_delete(request: HtmxHttpRequest, pk: int, section: str, rule_id: str) -> HttpResponse:
    return _rule_action(
        request, pk, section, lambda c: agreement_content.rule_remove(c, section, rule_id), "removed"
    )


@role_required(EDITORS)
@require_POST
def rule_move(request: HtmxHttpRequest, pk: int, section: str, rule_id: str, direction: str) -> HttpResponse:
    offset = {"up": -1, "down": 1}.get(direction)
    if offset is None:
        raise Http404(_("Unknown direction."))
    return _rule_action(
        request, pk, section, lambda c: agreement_content.rule_move(c, section, rule_id, offset), "reordered"
    )


def _rule_action(request: HtmxHttpRequest, pk: int, section: str, change, verb: str) -> HttpResponse:
    version = _get_version(request, pk)
    if section not in RULE_FORMS:
        raise Http404(_("No such section."))
    try:
        services.agreement_change(
            version_id=version.pk,
            user=request.user,
            change=change,
            now=timezone.now(),
            action=f"agreement.{section}.{verb}",
        )
    except AgreementError as error:
        version.refresh_from_db()
        said = wording.problem_words(error) if isinstance(error, InvalidContent) else str(error)
        response = _render_section(request, version, section, section_error=said)
        response.status_code = 422
        return response
    version.refresh_from_db()
    response = _render_section(request, version, section)
    response["HX-Trigger"] = "agreementChanged"
    return response


@role_required(EDITORS)
@require_http_methods(["GET", "POST"])
def part_edit(request: HtmxHttpRequest, pk: int, part: str) -> HttpResponse:
    """Threshold, SQL checklist, service terms, marketing commitment, calendar: one form each, inline."""
    version = _get_version(request, pk)
    form_class = PART_FORMS.get(part)
    if form_class is None:
        raise Http404(_("No such part."))
    if not version.is_editable:
        return _locked(version)
    template = f"sla/_agreement.html#part-{part}"
    if request.method == "GET":
        form = form_class(initial=form_class.initial_from(version.content), prefix=part)
        context = _version_context(request, version)
        context.update(editing_part=part, form=form)
        return render(request, template, context)
    form = form_class(request.POST, prefix=part)
    if form.is_valid():
        error = _apply_or_errors(request, version, form.apply, form, f"agreement.{part}.edited")
        if error is None:
            version.refresh_from_db()
            response = render(request, template, _version_context(request, version))
            response["HX-Trigger"] = "agreementChanged"
            return response
    context = _version_context(request, version)
    context.update(editing_part=part, form=form)
    return render(request, template, context, status=422)


def _workflow(request: HtmxHttpRequest, pk: int, action, success: str) -> HttpResponse:
    version = _get_version(request, pk)
    try:
        action(version_id=version.pk, user=request.user, now=timezone.now())
    except AgreementError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    if request.htmx:
        return HttpResponseClientRedirect(version.get_absolute_url())
    return redirect(version)


@role_required(EDITORS)
@require_POST
def propose(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _workflow(
        request, pk, services.agreement_propose, _("Proposed. Both managers can now sign this exact content.")
    )


@role_required(MANAGERS)
@require_POST
def sign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    version = _get_version(request, pk)
    side = request.POST.get("side") or None
    if side is not None and side not in Side.values:
        messages.error(request, "Choose the side you sign for: marketing or sales.")
        return redirect(version)
    try:
        services.agreement_sign(
            version_id=version.pk,
            user=request.user,
            now=timezone.now(),
            side=side,
            seen_hash=request.POST.get("content_hash", ""),
        )
    except AgreementError as error:
        messages.error(request, str(error))
        return redirect(version)
    version.refresh_from_db()
    if version.status == Status.ACTIVE:
        messages.success(
            request,
            _("Signed. Both sides have signed: v%(number)s is now the active agreement.")
            % {"number": version.number},
        )
    else:
        messages.success(request, _("Signed. Waiting for the other side's signature."))
    return redirect(version)


@role_required(EDITORS)
@require_POST
def withdraw(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _workflow(request, pk, services.agreement_withdraw, _("Draft withdrawn. It stays in the history."))


@role_required(ALL_ROLES)
@require_POST
def comment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    version = _get_version(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        services.agreement_comment(
            version_id=version.pk, user=request.user, body=form.cleaned_data["body"], now=timezone.now()
        )
        messages.success(request, _("Comment added."))
    else:
        messages.error(request, "Write something before posting a comment.")
    return redirect(f"{version.get_absolute_url()}#comments")


@role_required(ALL_ROLES)
@require_GET
def diff(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    version = _get_version(request, pk)
    candidates = _visible_versions(request.user).exclude(pk=version.pk)
    against_id = request.GET.get("against")
    if against_id:
        try:
            against = candidates.get(pk=int(against_id))
        except (ValueError, AgreementVersion.DoesNotExist):
            raise Http404(_("No such version to compare with.")) from None
    else:
        against = version.based_on or AgreementVersion.objects.active_for(version.segment)
        if against and against.pk == version.pk:
            against = None
    changes = diff_content(against.content, version.content) if against else []
    grouped: dict[str, list[Any]] = {}
    for change in changes:
        grouped.setdefault(gettext(change.section), []).append(change)
    return render(
        request,
        "sla/diff.html",
        {
            "version": version,
            "against": against,
            "grouped": grouped,
            "candidates": candidates,
            "count": len(changes),
        },
    )
