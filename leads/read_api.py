"""The read API for leads (a django-ninja Router mounted on `leads.api.api`): `GET /api/leads/` (cursor pages,
filters) and `GET /api/leads/{id}`, with a personal API token (`Authorization: Bearer`) or a logged-in session of
any role.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.errors import HttpError, ValidationError
from ninja.pagination import PaginationBase, paginate
from ninja.security import HttpBearer, SessionAuth
from pydantic import field_validator

from alignment.paging import MAX_CURSOR, BadCursor, keyset_page
from alignment.paging import Key as PagingKey
from alignment.roles import user_roles
from leads.intake.events_api import IngestError
from leads.models import ApiToken, Lead, State
from leads.services import KEY_TOUCH_EVERY, key_hash, keys_touch

router = Router(tags=["leads"])


def _require_role(user: Any) -> Any:
    if not user_roles(user):
        raise HttpError(403, _("Your account holds no role in Alignment, so it may not read leads"))
    return user


class ApiTokenAuth(HttpBearer):
    """A personal API token (leads.ApiToken): `Authorization: Bearer <token>`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = ApiToken.objects.select_related("user").filter(key_hash=key_hash(token.strip())).first()
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= KEY_TOUCH_EVERY:
            keys_touch(ApiToken.objects.filter(pk=row.pk), now)
        return _require_role(row.user)


class RoleSessionAuth(SessionAuth):
    """A logged-in session of a user holding any role (CSRF applies to unsafe methods, as for any form)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not request.user.is_authenticated:
            return None
        return _require_role(request.user)


read_auth = [ApiTokenAuth(), RoleSessionAuth()]


class TierFilter(StrEnum):
    HOT = "hot"
    WARM = "warm"
    NONE = "none"


MAX_ID = 2**63 - 1  # the largest primary key a database column holds: larger ids are a 422, not a 500


#: /api/leads/ order: oldest change first, so a client can follow changes (index leads_updated_sort_idx)
LEAD_ORDER = [PagingKey("updated_at", "datetime"), PagingKey("pk", "int")]


class LeadPages(PaginationBase):
    """Cursor pages: `next` is the cursor of the page after this one (null on the last), so page 20,000 costs what
    page 1 does (no OFFSET, no COUNT). A cursor this API did not give is a 422 naming `cursor`."""

    class Input(Schema):
        cursor: str | None = Field(
            None, max_length=MAX_CURSOR, pattern=r"^[A-Za-z0-9_-]*$",
            description="`next` from the previous page; leave out for the first page",
        )  # fmt: skip
        page_size: int = Field(50, ge=1, le=500)

    class Output(Schema):
        items: list[Any]
        next: str | None = Field(None, description="The cursor of the next page, or null on the last page")

    def paginate_queryset(
        self, queryset: QuerySet[Lead], pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        try:
            page = keyset_page(queryset, LEAD_ORDER, per_page=pagination.page_size, after=pagination.cursor)
        except BadCursor as error:
            raise ValidationError(
                [{"type": "value_error", "loc": ["query", "cursor"], "msg": f"{error}: use `next` as given"}]
            ) from None
        return {"items": page.records, "next": page.next_cursor}


class LeadFilters(Schema):
    email: str | None = Field(
        None, description="Exact e-mail address (case-insensitive)", max_length=254, pattern=r"^[^\x00]*$"
    )
    state: State | None = None
    tier: TierFilter | None = None
    updated_since: datetime | None = Field(None, description="Changed at or after this instant (ISO-8601)")

    @field_validator("updated_since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """As UTC (the database compares in UTC); an instant that has no UTC equivalent is refused."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None

    def apply(self, leads: QuerySet[Lead]) -> QuerySet[Lead]:
        if self.email:
            leads = leads.with_email(self.email)
        if self.state:
            leads = leads.filter(state=self.state)
        if self.tier:
            leads = leads.filter(tier="" if self.tier is TierFilter.NONE else self.tier.value)
        if self.updated_since:
            leads = leads.filter(updated_at__gte=self.updated_since)
        return leads


class OwnerOut(Schema):
    id: int
    username: str
    name: str


class DeadlinesOut(Schema):
    claim: datetime | None
    first_contact: datetime | None
    accept: datetime | None
    outcome: datetime | None


class LeadOut(Schema):
    id: int
    url: str
    email: str
    first_name: str
    last_name: str
    company: str
    job_title: str
    seniority: str
    department: str
    industry: str
    employees: int | None
    country: str
    source: str
    campaign: str
    attributes: dict[str, Any]
    state: State
    tier: str = Field(..., description="hot, warm, or empty when the lead is not an MQL")
    score: int
    fit_score: int = Field(..., description="Points from attributes (fit rules)")
    engagement_score: int = Field(..., description="Points from activities (engagement rules, with ageing)")
    breakdown: dict[str, Any] = Field(..., description="The evaluation: rules, evidence, gates, triggers")
    owner: OwnerOut | None
    deadlines: DeadlinesOut
    mql_at: datetime | None
    last_activity_at: datetime | None
    scored_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_url(lead: Lead) -> str:
        return lead.get_absolute_url()

    @staticmethod
    def resolve_owner(lead: Lead) -> dict[str, Any] | None:
        owner = lead.owner
        if owner is None:
            return None
        return {
            "id": owner.pk,
            "username": owner.get_username(),
            "name": owner.get_full_name() or owner.get_username(),
        }

    @staticmethod
    def resolve_deadlines(lead: Lead) -> dict[str, datetime | None]:
        return {
            "claim": lead.claim_due_at,
            "first_contact": lead.first_contact_due_at,
            "accept": lead.accept_due_at,
            "outcome": lead.outcome_due_at,
        }


class Detail(Schema):
    detail: str | list[dict[str, Any]] = Field(
        ..., description="Why: a sentence, or (422) one entry per bad parameter with its location"
    )


READ_ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 422}): Detail, 503: IngestError}


@router.get(
    "/api/leads/", auth=read_auth, response={200: list[LeadOut], **READ_ERRORS},
    summary="List leads",
)  # fmt: skip
@paginate(LeadPages)
def leads_list(request: HttpRequest, filters: Query[LeadFilters]) -> QuerySet[Lead]:
    """Leads in order of their last change (oldest first, so `updated_since` can page through changes); follow
    `next` (`?cursor=`) for the following page."""
    return filters.apply(Lead.objects.select_related("owner"))


@router.get(
    "/api/leads/{lead_id}", auth=read_auth, response={200: LeadOut, **READ_ERRORS},
    summary="One lead",
)  # fmt: skip
def lead_detail(request: HttpRequest, lead_id: int = Path(..., ge=1, le=MAX_ID)) -> Lead:
    return get_object_or_404(Lead.objects.select_related("owner"), pk=lead_id)
