"""The monthly review's figures, typed: what readers use instead of `data["funnel"]["won"]`.

`feedback.reports.review_for` computes the figures as JSON-ready data, which a month's `Snapshot` freezes as is;
`ReviewFigures.from_dict` reads either (computed now or frozen) into frozen dataclasses, and `to_dict` gives the
same JSON back, so the stored shape is written here once. The sections typed so far: the funnel (this month's
and last month's), the agreement in force and the rule lifts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

FUNNEL_COUNTS = ("leads", "mqls", "accepted", "sqls", "won", "rejected", "lost", "disqualified", "immature")


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
        data["steps"] = [asdict(step) for step in self.steps]
        return data


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
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        )

    def to_dict(self) -> dict[str, Any]:
        """The typed sections in the stored shape (the other sections are not part of this object yet)."""
        return {
            "month": self.month,
            "previous_month": self.previous_month,
            "agreement": None if self.agreement is None else asdict(self.agreement),
            "funnel": self.funnel.to_dict(),
            "previous_funnel": self.previous_funnel.to_dict(),
            "rule_lifts": [lift.to_dict() for lift in self.rule_lifts],
        }
