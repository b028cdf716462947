"""The two-sided service terms of an agreement ("terms" in its content): pure Python, no web framework."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sla.calendar import BusinessCalendar, CalendarError, add_business_days, due_at

__all__ = [
    "REQUIRED_TIERS",
    "TIER_KEYS",
    "STARTER_TERMS",
    "BreachAction",
    "EscalationAction",
    "EscalationStep",
    "MarketingTerms",
    "ServiceTerms",
    "TermsError",
    "TierTerms",
    "starter_terms",
]

REQUIRED_TIERS = ("hot", "warm")
TIER_KEYS = ("claim_minutes", "first_contact_minutes", "accept_minutes", "outcome_days", "status_update_days")


class TermsError(ValueError):
    pass


class BreachAction(StrEnum):
    NONE = "none"
    RETURN_TO_QUEUE = "return_to_queue"
    REASSIGN = "reassign"


def _object(data: Any, path: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise TermsError(f"{path}: must be an object")
    unknown = sorted(set(data) - set(keys) - set(optional))
    if unknown:
        raise TermsError(f"{path}.{unknown[0]}: unknown key")
    for key in keys:
        if key not in data:
            raise TermsError(f"{path}.{key}: is required")
    return data


def _whole(value: Any, path: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive whole number" if minimum == 1 else f"a whole number of {minimum} or more"
        raise TermsError(f"{path}: must be {kind}")
    return value


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise TermsError(f"{path}: must be true or false")
    return value


@dataclass(frozen=True)
class TierTerms:
    claim_minutes: int
    first_contact_minutes: int
    accept_minutes: int
    outcome_days: int
    status_update_days: int

    def __post_init__(self) -> None:
        self._check("tier")

    def _check(self, path: str) -> None:
        for name in TIER_KEYS:
            _whole(getattr(self, name), f"{path}.{name}", minimum=1)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str) -> TierTerms:
        data = _object(data, path, TIER_KEYS)
        values = {name: _whole(data[name], f"{path}.{name}", minimum=1) for name in TIER_KEYS}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in TIER_KEYS}


@dataclass(frozen=True)
class MarketingTerms:
    mql_per_month: int
    required_fields: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "required_fields", tuple(self.required_fields))
        _check_marketing(self.mql_per_month, self.required_fields, "terms.marketing")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str = "terms.marketing") -> MarketingTerms:
        data = _object(data, path, ("mql_per_month", "required_fields"))
        fields = data["required_fields"]
        if not isinstance(fields, list | tuple):
            raise TermsError(f"{path}.required_fields: must be a list of lead field names")
        _check_marketing(data["mql_per_month"], tuple(fields), path)
        return cls(mql_per_month=data["mql_per_month"], required_fields=tuple(fields))

    def to_dict(self) -> dict[str, Any]:
        return {"mql_per_month": self.mql_per_month, "required_fields": list(self.required_fields)}


def _check_marketing(mql_per_month: Any, required_fields: tuple[Any, ...], path: str) -> None:
    _whole(mql_per_month, f"{path}.mql_per_month", minimum=0)
    for index, name in enumerate(required_fields):
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise TermsError(
                f"{path}.required_fields[{index}]: must be a lead field name without surrounding spaces"
            )
    if len(set(required_fields)) != len(required_fields):
        raise TermsError(f"{path}.required_fields: must not repeat a field")


_TERMS_KEYS = ("tiers", "on_breach", "notify_manager", "auto_assign", "marketing", "calendar")
# Optional engine terms (older agreements lack them; the defaults below switch each one off).
_ENGINE_KEYS = ("warn_before_minutes", "escalation", "min_contact_attempts", "pause_on_customer")


class EscalationAction(StrEnum):
    NOTIFY_OWNER = "notify_owner"
    REASSIGN = "reassign"
    NOTIFY_MANAGERS_MANAGER = "notify_managers_manager"


@dataclass(frozen=True)
class EscalationStep:
    """One rung of the ladder: `after_minutes` (calendar minutes) after the breach was found, do `action`."""

    after_minutes: int
    action: EscalationAction

    def __post_init__(self) -> None:
        _whole(self.after_minutes, "step.after_minutes", minimum=0)
        object.__setattr__(self, "action", _escalation_action(self.action, "step.action"))

    @classmethod
    def from_dict(cls, data: Any, *, path: str) -> EscalationStep:
        data = _object(data, path, ("after_minutes", "action"))
        return cls(
            after_minutes=_whole(data["after_minutes"], f"{path}.after_minutes", minimum=0),
            action=_escalation_action(data["action"], f"{path}.action"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"after_minutes": self.after_minutes, "action": self.action.value}


def _escalation_action(value: Any, path: str) -> EscalationAction:
    try:
        return EscalationAction(value)
    except ValueError:
        allowed = ", ".join(action.value for action in EscalationAction)
        raise TermsError(f"{path}: must be one of {allowed}") from None


def _ladder(value: Any, path: str) -> tuple[EscalationStep, ...]:
    if not isinstance(value, list | tuple):
        raise TermsError(f"{path}: must be a list of steps")
    steps = tuple(
        step if isinstance(step, EscalationStep) else EscalationStep.from_dict(step, path=f"{path}[{index}]")
        for index, step in enumerate(value)
    )
    for index in range(1, len(steps)):
        if steps[index].after_minutes < steps[index - 1].after_minutes:
            raise TermsError(f"{path}[{index}].after_minutes: steps must come in order of their delay")
    return steps


@dataclass(frozen=True)
class ServiceTerms:
    # Not part of the hash (a mapping is not hashable); still compared.
    tiers: Mapping[str, TierTerms] = field(hash=False)
    on_breach: BreachAction
    notify_manager: bool
    auto_assign: bool
    marketing: MarketingTerms
    calendar: BusinessCalendar
    # Warn the owner this many business minutes before a deadline (0: no warning).
    warn_before_minutes: int = 0
    # After a breach, these steps fire in order, once each, while the breached clock still runs.
    escalation: tuple[EscalationStep, ...] = ()
    # Contact attempts a rep must log before rejecting an MQL (0: reject any time).
    min_contact_attempts: int = 0
    # Whether a rep may pause the clocks while the lead waits on the customer.
    pause_on_customer: bool = False
    # How many MQLs sales can work a month, when the agreement states it (`terms.sales.capacity_per_month`);
    # the review's threshold suggestion aims at it rather than at marketing's commitment.
    sales_capacity_per_month: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", MappingProxyType(dict(self.tiers)))
        _whole(self.warn_before_minutes, "terms.warn_before_minutes", minimum=0)
        object.__setattr__(self, "escalation", _ladder(self.escalation, "terms.escalation"))
        _whole(self.min_contact_attempts, "terms.min_contact_attempts", minimum=0)
        _flag(self.pause_on_customer, "terms.pause_on_customer")
        object.__setattr__(self, "on_breach", _breach_action(self.on_breach, "terms.on_breach"))
        for name in REQUIRED_TIERS:
            if name not in self.tiers:
                raise TermsError(f"terms.tiers.{name}: is required")
        for name, tier in self.tiers.items():
            if not isinstance(tier, TierTerms):
                raise TermsError(f"terms.tiers.{name}: must be TierTerms")
        _flag(self.notify_manager, "terms.notify_manager")
        _flag(self.auto_assign, "terms.auto_assign")
        if not isinstance(self.marketing, MarketingTerms):
            raise TermsError("terms.marketing: must be MarketingTerms")
        if not isinstance(self.calendar, BusinessCalendar):
            raise TermsError("terms.calendar: must be a BusinessCalendar")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str = "terms") -> ServiceTerms:
        """Raises TermsError for every problem, calendar ones included, so callers catch one exception."""
        data = _object(data, path, _TERMS_KEYS, optional=(*_ENGINE_KEYS, "sales"))
        capacity = None
        if data.get("sales") is not None:
            sales = _object(data["sales"], f"{path}.sales", ("capacity_per_month",))
            capacity = _whole(sales["capacity_per_month"], f"{path}.sales.capacity_per_month", minimum=1)
        raw_tiers = data["tiers"]
        if not isinstance(raw_tiers, Mapping):
            raise TermsError(f"{path}.tiers: must be an object")
        for name in REQUIRED_TIERS:
            if name not in raw_tiers:
                raise TermsError(f"{path}.tiers.{name}: is required")
        tiers: dict[str, TierTerms] = {}
        for name, raw in raw_tiers.items():
            if not isinstance(name, str) or not name.strip():
                raise TermsError(f"{path}.tiers: tier names must be non-empty strings")
            tiers[name] = TierTerms.from_dict(raw, path=f"{path}.tiers.{name}")
        try:
            calendar = BusinessCalendar.from_dict(data["calendar"], path=f"{path}.calendar")
        except CalendarError as error:
            raise TermsError(str(error)) from error
        return cls(
            tiers=tiers,
            on_breach=_breach_action(data["on_breach"], f"{path}.on_breach"),
            notify_manager=_flag(data["notify_manager"], f"{path}.notify_manager"),
            auto_assign=_flag(data["auto_assign"], f"{path}.auto_assign"),
            marketing=MarketingTerms.from_dict(data["marketing"], path=f"{path}.marketing"),
            calendar=calendar,
            warn_before_minutes=_whole(
                data.get("warn_before_minutes", 0), f"{path}.warn_before_minutes", minimum=0
            ),
            escalation=_ladder(data.get("escalation", []), f"{path}.escalation"),
            min_contact_attempts=_whole(
                data.get("min_contact_attempts", 0), f"{path}.min_contact_attempts", minimum=0
            ),
            pause_on_customer=_flag(data.get("pause_on_customer", False), f"{path}.pause_on_customer"),
            sales_capacity_per_month=capacity,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tiers": {name: tier.to_dict() for name, tier in self.tiers.items()},
            "on_breach": self.on_breach.value,
            "notify_manager": self.notify_manager,
            "auto_assign": self.auto_assign,
            "marketing": self.marketing.to_dict(),
            "calendar": self.calendar.to_dict(),
            "warn_before_minutes": self.warn_before_minutes,
            "escalation": [step.to_dict() for step in self.escalation],
            "min_contact_attempts": self.min_contact_attempts,
            "pause_on_customer": self.pause_on_customer,
        } | (
            {}
            if self.sales_capacity_per_month is None
            else {"sales": {"capacity_per_month": self.sales_capacity_per_month}}
        )

    def tier(self, name: str) -> TierTerms:
        try:
            return self.tiers[name]
        except KeyError:
            known = ", ".join(self.tiers)
            raise TermsError(f"unknown tier {name!r} (the terms define: {known})") from None

    def deadlines(self, *, tier: str, start: datetime) -> dict[str, datetime]:
        """Deadlines of a lead that entered ``tier`` at ``start``: every clock starts at the MQL moment.

        Minutes are business minutes; outcome days are business days (see ``add_business_days``).
        """
        terms = self.tier(tier)
        calendar = self.calendar
        return {
            "claim": due_at(start=start, business_minutes=terms.claim_minutes, calendar=calendar),
            "first_contact": due_at(
                start=start, business_minutes=terms.first_contact_minutes, calendar=calendar
            ),
            "accept": due_at(start=start, business_minutes=terms.accept_minutes, calendar=calendar),
            "outcome": add_business_days(start=start, days=terms.outcome_days, calendar=calendar),
        }

    def status_update_due(self, *, tier: str, since: datetime) -> datetime:
        """When the next status update is due: `status_update_days` business days after the last one."""
        return add_business_days(start=since, days=self.tier(tier).status_update_days, calendar=self.calendar)


def _breach_action(value: Any, path: str) -> BreachAction:
    try:
        return BreachAction(value)
    except ValueError:
        allowed = ", ".join(action.value for action in BreachAction)
        raise TermsError(f"{path}: must be one of {allowed}") from None


STARTER_TERMS: dict[str, Any] = {
    "tiers": {
        "hot": {
            "claim_minutes": 5,
            "first_contact_minutes": 15,
            "accept_minutes": 240,
            "outcome_days": 30,
            "status_update_days": 7,
        },
        "warm": {
            "claim_minutes": 240,
            "first_contact_minutes": 960,
            "accept_minutes": 1920,
            "outcome_days": 60,
            "status_update_days": 7,
        },
    },
    "on_breach": "return_to_queue",
    "notify_manager": True,
    "auto_assign": False,
    "warn_before_minutes": 5,
    "escalation": [
        {"after_minutes": 0, "action": "notify_owner"},
        {"after_minutes": 60, "action": "reassign"},
        {"after_minutes": 240, "action": "notify_managers_manager"},
    ],
    "min_contact_attempts": 0,
    "pause_on_customer": True,
    "marketing": {"mql_per_month": 200, "required_fields": ["email", "company", "job_title"]},
    "calendar": {
        "time_zone": "Europe/London",
        "workdays": [0, 1, 2, 3, 4],
        "opens": "09:00",
        "closes": "17:30",
        "country": "GB",
        "closed_dates": ["2026-12-24"],
    },
}


def starter_terms() -> dict[str, Any]:
    """A fresh copy of STARTER_TERMS, safe to edit into a first draft (the constant is shared)."""
    return copy.deepcopy(STARTER_TERMS)
