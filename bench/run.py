"""Run every benchmark in bench/ (files named bench_*.py) and write bench/results.json: `make bench [SCALE=small]`.

Each script records its figures through `bench/harness.py` (value, unit, the baseline measured in the same run,
the ratio between them); this runner gathers them, prints one table and writes `bench/results.json`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import RESULTS_LINES, SCALE  # noqa: E402


def main() -> int:
    only = set(sys.argv[1:])
    RESULTS_LINES.unlink(missing_ok=True)
    failed: list[str] = []
    durations: dict[str, float] = {}
    peak_memory: dict[str, float] = {}
    for script in sorted(HERE.glob("bench_*.py")):
        if only and script.stem not in only and script.name not in only:
            continue
        print(f"\n=== {script.name} (SCALE={SCALE}) ===", flush=True)
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(script)], cwd=HERE.parent, env={**os.environ, "SCALE": SCALE}
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            failed.append(script.name)
        durations[script.name] = round(time.perf_counter() - start, 1)
        # the script's own peak (servers and workers it starts report theirs through harness.peak_rss_mb)
        peak_memory[script.name] = round(usage.ru_maxrss / 1024, 1)
    metrics = (
        [json.loads(line) for line in RESULTS_LINES.read_text(encoding="utf-8").splitlines() if line.strip()]
        if RESULTS_LINES.exists()
        else []
    )
    results = {
        "scale": SCALE,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "seconds_per_script": durations,
        "peak_rss_mb_per_script": peak_memory,
        "failed": failed,
        "metrics": metrics,
    }
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\n{'metric':<48} {'value':>14} {'baseline':>14} {'ratio':>8}  goal")
    for m in metrics:
        baseline = f"{m['baseline']:,.4g}" if m.get("baseline") else "-"
        ratio = f"{m['ratio']:.2f}x" if m.get("ratio") else "-"
        print(
            f"{m['name']:<48} {m['value']:>10,.4g} {m['unit']:<3} {baseline:>14} {ratio:>8}  {m.get('goal', '')}"
        )
    print(f"\nseconds per script: {durations}\npeak memory per script (MB): {peak_memory}")
    print(
        f"\nwrote bench/results.json ({len(metrics)} metrics); failed scripts: {', '.join(failed) or 'none'}"
    )
    RESULTS_LINES.unlink(missing_ok=True)
    if SCALE == "default" and not only:
        readme_table_write(results)
    return 1 if failed else 0


README = HERE.parent / "README.md"
TABLE_START, TABLE_END = "<!-- bench:results -->", "<!-- /bench:results -->"


def readme_table(results: dict) -> str:
    """The README's results table, from the same run as bench/results.json."""
    lines = [
        f"Run at {results['run_at']} on {results['machine']['cpus']} CPUs, Python {results['machine']['python']}; "
        f"failed scripts: {', '.join(results['failed']) or 'none'}.",
        "",
        "| metric | value | baseline | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    for m in results["metrics"]:
        baseline = (
            f"{m['baseline']:,.4g} ({m.get('baseline_name') or 'baseline'})" if m.get("baseline") else ""
        )
        ratio = f"{m['ratio']:.2f}×" if m.get("ratio") else ""
        lines.append(
            f"| {m['name']} | {m['value']:,.4g} {m['unit']} | {baseline} | {ratio} | {m.get('goal') or ''} |"
        )
    return "\n".join(lines)


def readme_table_write(results: dict) -> None:
    """Replace the table between the README's markers (a full default-scale run only: small runs are smoke runs)."""
    text = README.read_text(encoding="utf-8")
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        print("README.md has no bench:results markers; table not written")
        return
    README.write_text(
        text[: start + len(TABLE_START)] + "\n" + readme_table(results) + "\n" + text[end:], encoding="utf-8"
    )
    print("wrote the results table into README.md")


if __name__ == "__main__":
    sys.exit(main())
