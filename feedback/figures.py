"""The monthly review's figures, typed: what readers use instead of `data["funnel"]["won"]`.

`feedback.reports.review_for` computes the figures as JSON-ready data, which a month's `Snapshot` freezes as is;
`ReviewFigures.from_dict` reads either (computed now or frozen, in any older stored shape) into frozen
dataclasses, and `to_dict` gives the same JSON back, so the stored shape is written here once. The page, the CSV
exports and the trend read these objects by attribute. The suggestions and the learning figures belong to
`feedback.suggest` and are carried through as they are stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, TypeVar

T = TypeVar("T")
FUNNEL_COUNTS = ("leads", "mqls", "accepted", "sqls", "won", "rejected", "lost", "disqualified", "immature")


def _flat(cls: type[T], data: Mapping[str, Any] | None) -> T:
    """A flat dataclass from its stored dict: unknown keys are ignored, missing ones take the field's default
    (a snapshot frozen before a field existed still reads)."""
    data = data or {}
    values = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            values[f.name] = data[f.name]
        elif f.default is not MISSING:
            values[f.name] = f.default
        elif f.default_factory is not MISSING:
            values[f.name] = f.default_factory()
        else:
            values[f.name] = None
    return cls(**values)


def _plain(value: Any) -> Any:
    """The stored JSON shape of a figure: dataclasses as dicts, tuples as lists."""
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _many(cls: type[T], rows: Sequence[Mapping[str, Any]] | None) -> tuple[T, ...]:
    return tuple(_flat(cls, row) for row in rows or ())


@dataclass(frozen=True)
class FunnelStep:
    step: str
    rate: float | None


@dataclass(frozen=True)
class Funnel:
    """The month's cohort of hand-overs (by hand-over month) and the month's new leads."""

    leads: int
    mqls: int
    accepted: int
    sqls: int
    won: int
    rejected: int
    lost: int
    disqualified: int
    immature: int
    steps: tuple[FunnelStep, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Funnel:
        counts = {name: int(data.get(name) or 0) for name in FUNNEL_COUNTS}
        steps = tuple(FunnelStep(step=s["step"], rate=s.get("rate")) for s in data.get("steps") or [])
        return cls(**counts, steps=steps)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in FUNNEL_COUNTS}
        data["steps"] = [_plain(step) for step in self.steps]
        return data


@dataclass(frozen=True)
class HandoverAgreement:
    """How many of the month's hand-overs were made under one agreement version (None: under none)."""

    number: int | None
    handovers: int
    first: Any = None  # first and last hand-over (datetimes, ISO strings once stored)
    last: Any = None


@dataclass(frozen=True)
class SourceRow:
    """The month's hand-overs from one source or campaign."""

    name: str
    mqls: int
    accepted: int
    won: int
    rejected: int
    accept_rate: float | None
    win_rate: float | None


@dataclass(frozen=True)
class MarketingSide:
    committed: int | None
    delivered: int
    delivered_share: float | None
    required_fields: tuple[str, ...]
    complete: int
    complete_share: float | None
    by_source: tuple[SourceRow, ...]
    by_campaign: tuple[SourceRow, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MarketingSide:
        return cls(
            committed=data.get("committed"),
            delivered=data.get("delivered") or 0,
            delivered_share=data.get("delivered_share"),
            required_fields=tuple(data.get("required_fields") or ()),
            complete=data.get("complete") or 0,
            complete_share=data.get("complete_share"),
            by_source=_many(SourceRow, data.get("by_source")),
            by_campaign=_many(SourceRow, data.get("by_campaign")),
        )

    def to_dict(self) -> dict[str, Any]:
        data = _plain(self)
        data["required_fields"] = list(self.required_fields)
        return data


@dataclass(frozen=True)
class RepFigures:
    """One rep's side of the SLA over the month's hand-overs they own."""

    claim_total: int
    claim_ok: int
    contact_total: int
    contact_ok: int
    decision_total: int
    decision_ok: int
    outcome_total: int
    outcome_ok: int
    claim_rate: float | None
    contact_rate: float | None
    decision_rate: float | None
    outcome_rate: float | None
    rep: str
    username: str
    handled: int
    won: int
    median_first_contact_minutes: float | None
    p90_first_contact_minutes: float | None
    breaches: int


@dataclass(frozen=True)
class SalesSide:
    claim_total: int
    claim_ok: int
    contact_total: int
    contact_ok: int
    decision_total: int
    decision_ok: int
    outcome_total: int
    outcome_ok: int
    claim_rate: float | None
    contact_rate: float | None
    decision_rate: float | None
    outcome_rate: float | None
    median_first_contact_minutes: float | None
    p90_first_contact_minutes: float | None
    contacted: int
    breaches: int
    breaches_by_clock: dict[str, int]
    reps: tuple[RepFigures, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SalesSide:
        flat = _flat(cls, {k: v for k, v in data.items() if k != "reps"})
        return replace(flat, breaches_by_clock=dict(data.get("breaches_by_clock") or {}),
                        reps=_many(RepFigures, data.get("reps")))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class ScoreBand:
    """Hand-overs whose score at hand-off lies in [low, high] (None: open-ended) and what came of them."""

    band: str
    low: int | None  # None in a month frozen when bands were fixed 25-point bands
    high: int | None
    n: int
    accepted: int
    sqls: int
    won: int
    immature: int
    accept_rate: float | None
    sql_rate: float | None
    win_rate: float | None


@dataclass(frozen=True)
class Auc:
    """How well the score ranks outcomes over the month's closed hand-overs (None: one side is empty)."""

    auc: float | None
    won: int
    not_won: int


@dataclass(frozen=True)
class RuleLift:
    """A rule's or trigger's conversion where it had fired at hand-off against where it had not."""

    rule_id: str
    kind: str
    name: str
    fired: int
    not_fired: int
    won_fired: int
    won_not_fired: int
    win_rate_fired: float | None
    win_rate_not_fired: float | None
    win_lift: float | None
    accept_rate_fired: float | None
    accept_rate_not_fired: float | None
    accept_lift: float | None
    enough: bool  # enough hand-overs on both sides to judge

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleLift:
        return _flat(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class LeadRow:
    """A hand-over in a discussion list."""

    lead_id: int
    name: str
    company: str
    score: int
    tier: str
    outcome: str
    reason: str
    source: str


@dataclass(frozen=True)
class NeverMqlRow:
    """A lead created in the month that converted without ever being handed over."""

    lead_id: int
    name: str
    company: str
    score: int
    source: str


@dataclass(frozen=True)
class DiscussionLists:
    high_score_not_converted: tuple[LeadRow, ...]
    low_score_won: tuple[LeadRow, ...]
    never_mql_but_won: tuple[NeverMqlRow, ...]
    never_mql_but_won_count: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DiscussionLists:
        return cls(
            high_score_not_converted=_many(LeadRow, data.get("high_score_not_converted")),
            low_score_won=_many(LeadRow, data.get("low_score_won")),
            never_mql_but_won=_many(NeverMqlRow, data.get("never_mql_but_won")),
            never_mql_but_won_count=data.get("never_mql_but_won_count") or 0,
        )

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    source: str
    n: int


@dataclass(frozen=True)
class RuleRejections:
    """How many of the hand-overs a rule had fired on sales rejected, and why (most frequent first)."""

    rule: str
    n: int
    reasons: str


@dataclass(frozen=True)
class Reasons:
    rejection_by_source: tuple[ReasonRow, ...]
    loss_by_source: tuple[ReasonRow, ...]
    rejection_by_rule: tuple[RuleRejections, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reasons:
        return cls(
            rejection_by_source=_many(ReasonRow, data.get("rejection_by_source")),
            loss_by_source=_many(ReasonRow, data.get("loss_by_source")),
            rejection_by_rule=_many(RuleRejections, data.get("rejection_by_rule")),
        )

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class AgreementRef:
    id: int
    number: int
    threshold: int | None
    # False when no version was in force at the month's end and these commitments come from a later one
    in_force_at_month_end: bool = True


@dataclass(frozen=True)
class ReviewFigures:
    month: str  # ISO date of the month's first day
    previous_month: str
    agreement: AgreementRef | None
    funnel: Funnel
    previous_funnel: Funnel
    rule_lifts: tuple[RuleLift, ...]
    cohort_rule: str = ""
    handover_agreements: tuple[HandoverAgreement, ...] = ()
    marketing: MarketingSide | None = None
    sales: SalesSide | None = None
    score_bands: tuple[ScoreBand, ...] = ()
    auc: Auc | None = None
    lists: DiscussionLists | None = None
    reasons: Reasons | None = None
    # owned by feedback.suggest: carried through as stored
    suggestions: tuple[Mapping[str, Any], ...] = ()
    learning: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bands_follow_scores(self) -> bool:
        """True when the score bands were cut at the month's own score quantiles (a month frozen earlier kept
        fixed 25-point bands)."""
        return bool(self.score_bands) and all(band.low is not None for band in self.score_bands)

    @property
    def score_range(self) -> tuple[int | None, int | None]:
        """The lowest and highest score at hand-off of the month's hand-overs (as far as the bands say)."""
        if not self.bands_follow_scores:
            return None, None
        return self.score_bands[0].low, self.score_bands[-1].high

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReviewFigures:
        agreement = data.get("agreement")
        return cls(
            month=data["month"],
            previous_month=data["previous_month"],
            agreement=AgreementRef(**agreement) if agreement else None,
            funnel=Funnel.from_dict(data["funnel"]),
            previous_funnel=Funnel.from_dict(data["previous_funnel"]),
            rule_lifts=tuple(RuleLift.from_dict(lift) for lift in data.get("rule_lifts") or []),
            cohort_rule=str(data.get("cohort_rule") or ""),
            handover_agreements=_many(HandoverAgreement, data.get("handover_agreements")),
            marketing=MarketingSide.from_dict(data["marketing"]) if "marketing" in data else None,
            sales=SalesSide.from_dict(data["sales"]) if "sales" in data else None,
            score_bands=_many(ScoreBand, data.get("score_bands")),
            auc=_flat(Auc, data["auc"]) if "auc" in data else None,
            lists=DiscussionLists.from_dict(data["lists"]) if "lists" in data else None,
            reasons=Reasons.from_dict(data["reasons"]) if "reasons" in data else None,
            suggestions=tuple(data.get("suggestions") or ()),
            learning=dict(data.get("learning") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored shape (sections absent from an old snapshot stay absent)."""
        data: dict[str, Any] = {
            "month": self.month,
            "previous_month": self.previous_month,
            "cohort_rule": self.cohort_rule,
            "agreement": None if self.agreement is None else _plain(self.agreement),
            "handover_agreements": [_plain(row) for row in self.handover_agreements],
            "funnel": self.funnel.to_dict(),
            "previous_funnel": self.previous_funnel.to_dict(),
            "score_bands": [_plain(band) for band in self.score_bands],
            "rule_lifts": [lift.to_dict() for lift in self.rule_lifts],
            "suggestions": [dict(s) for s in self.suggestions],
        }
        for name in ("marketing", "sales", "lists", "reasons"):
            section = getattr(self, name)
            if section is not None:
                data[name] = section.to_dict()
        if self.auc is not None:
            data["auc"] = _plain(self.auc)
        if self.learning:
            data["learning"] = dict(self.learning)
        return data
