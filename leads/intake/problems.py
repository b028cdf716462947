"""Data-quality problems: values set aside on the way in, written as DataProblem rows for marketers to see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from leads.intake.segment import Problem, printable
from leads.models import DataProblem

MAX_PER_REQUEST = 200  # a hostile batch of 10,000 bad fields records the first ones, not a table scan's worth


def problem_rows(
    problems: Iterable[tuple[Problem, int | None]], *, source: str, now: datetime
) -> list[DataProblem]:
    """DataProblem rows (unsaved) for (problem, lead id or None) pairs, texts cut to their columns."""
    rows = []
    for problem, lead_id in problems:
        rows.append(
            DataProblem(
                lead_id=lead_id,
                source=source[:60],
                message_id=printable(problem.message_id or "", 200),
                field=printable(problem.path, 300),
                problem=printable(problem.problem, 500),
                value=printable(problem.value, 200),
                created_at=now,
            )
        )
        if len(rows) >= MAX_PER_REQUEST:
            break
    return rows


def problems_record(
    problems: Iterable[tuple[Problem, int | None]], *, source: str, now: datetime
) -> list[DataProblem]:
    """Write the problems in one statement; a retried delivery (same messageId and field) is not written twice."""
    rows = problem_rows(problems, source=source, now=now)
    ids = {row.message_id for row in rows if row.message_id}
    if ids:
        seen = set(DataProblem.objects.filter(message_id__in=ids).values_list("message_id", "field"))
        rows = [row for row in rows if not row.message_id or (row.message_id, row.field) not in seen]
    return DataProblem.objects.bulk_create(rows)
