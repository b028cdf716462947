"""What every benchmark shares: the scale, interleaved medians against a baseline, and one results file.

A benchmark script (`bench/bench_*.py`) measures its subject and a baseline *in the same run*, interleaved
(subject, baseline, subject, baseline, ...) so a busy machine slows both alike, takes the median of each, and calls
`record(...)`. `bench/run.py` runs every script and gathers the records into `bench/results.json`.

    from harness import SCALE, interleaved, record, scaled

    leads = scaled(small=10_000, default=1_000_000)
    times = interleaved({"queue": load_queue_page, "bare SQL": run_bare_sql}, repeats=7)
    record("queue page p50", times["queue"].p50 * 1000, "ms", baseline=times["bare SQL"].p50 * 1000,
           baseline_name="the same query in bare SQL", goal="< 100 ms", lower_is_better=True)
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
#: `small` finishes the whole of `make bench` in about two minutes; `default` is the issue's scale (1M leads).
SCALE = os.environ.get("SCALE", "default")
if SCALE not in {"small", "default"}:
    raise SystemExit(f"SCALE must be 'small' or 'default', not {SCALE!r}")
T = TypeVar("T")
RESULTS_LINES = Path(os.environ.get("BENCH_RESULTS_LINES", HERE / ".results.jsonl"))


def scaled(*, small: T, default: T) -> T:
    return small if SCALE == "small" else default


@dataclass(frozen=True)
class Timing:
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def interleaved(
    subjects: dict[str, Callable[[], object]], *, repeats: int, warmup: int = 1
) -> dict[str, Timing]:
    """Time each callable `repeats` times, round-robin, after `warmup` untimed rounds; seconds per call."""
    for _ in range(warmup):
        for fn in subjects.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(repeats):
        for name, fn in subjects.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: Timing(values) for name, values in samples.items()}


def peak_rss_mb(*, children: bool = False) -> float:
    """Peak resident memory of this process (or of its waited-for children), in MB."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss / 1024


@dataclass
class Metric:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    lower_is_better: bool = True
    scale: str = SCALE
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """How many times the baseline's cost the subject costs (>1 is slower, for both kinds of unit)."""
        if not self.baseline or not self.value:
            return None
        return self.value / self.baseline if self.lower_is_better else self.baseline / self.value


def record(name: str, value: float, unit: str, **details: object) -> Metric:
    """Print one figure and append it to the run's results (bench/run.py turns them into results.json)."""
    metric = Metric(name=name, value=float(value), unit=unit, **details)  # type: ignore[arg-type]
    line = {**asdict(metric), "ratio": metric.ratio}
    RESULTS_LINES.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS_LINES.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, default=str) + "\n")
    baseline = (
        f"  (baseline {metric.baseline:,.3g} {unit}: {metric.baseline_name})" if metric.baseline else ""
    )
    print(f"  {name}: {metric.value:,.3g} {unit}{baseline}", flush=True)
    return metric
