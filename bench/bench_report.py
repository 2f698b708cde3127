"""Benchmark: the quarterly report, split per notebook into kernel start, imports and compute.

Run: .venv/bin/python bench/bench_report.py [--accounts 2000] [--jobs 2] [--data DIR]
Writes demo data of the given size into a temporary folder (not timed; or uses the raw
folder given with ``--data``), then runs ``insights report`` into temporary reports and
processed folders (so the typed-table cache starts empty, as on fresh data) and reads
papermill's per-cell timings from the executed notebooks: kernel = notebook wall time
minus the sum of its cells (kernel start, papermill, HTML and figure export);
imports = the first code cell; compute = the other cells. With ``--jobs`` > 1 the
notebooks overlap, so the report's wall time is less than the sum of theirs; the
runner's own time (validate once, cache, hash, index, workbook) is the report's wall
time minus the time spent running notebooks. Results are recorded in
docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: the report's default)")
    parser.add_argument("--data", type=Path, default=None, help="existing raw folder (no demo data generated)")
    parser.add_argument(
        "--reports",
        type=Path,
        default=None,
        help="reports folder to reuse (its last report orders the notebooks longest first; replaced)",
    )
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp())
    raw = args.data.resolve() if args.data else base / "raw"
    os.environ["INSIGHTS_DATA_DIR"] = str(raw)
    os.environ["INSIGHTS_REPORTS_DIR"] = str(args.reports.resolve() if args.reports else base / "reports")
    os.environ["INSIGHTS_PROCESSED_DIR"] = str(base / "processed")

    import nbformat

    from insights.report import runner as report
    from insights.report.runner import run_report

    gen = 0.0
    if args.data is None:
        from insights.demo import DemoSpec, write_demo

        t0 = time.perf_counter()
        write_demo(raw, DemoSpec(n_accounts=args.accounts, seed=args.seed))
        gen = time.perf_counter() - t0
    phase = {}
    run_all = report.run_all

    def timed_run_all(tasks, jobs, **kwargs):
        t = time.perf_counter()
        try:
            return run_all(tasks, jobs, **kwargs)
        finally:
            phase["notebooks"] = time.perf_counter() - t
            phase["jobs"] = jobs

    report.run_all = timed_run_all
    t0 = time.perf_counter()
    outcome = run_report(jobs=args.jobs, force=True)
    total = time.perf_counter() - t0
    load = os.getloadavg()
    print(
        f"{raw} ({f'demo generated in {gen:.1f} s, not counted' if gen else 'existing data'}); report "
        f"{outcome.quarter}, status {'ok' if outcome.ok else 'FAILED'}, {phase.get('jobs')} notebook(s) at a time"
    )
    print(f"{'notebook':<32} {'wall s':>7} {'kernel s':>9} {'imports s':>10} {'compute s':>10}")
    sums = [0.0, 0.0, 0.0, 0.0]
    for r in outcome.results:
        if r.status == "skipped":
            continue
        nb = nbformat.read(str(outcome.folder / r.file), as_version=4)
        cells = [c for c in nb.cells if c.cell_type == "code"]
        durations = [float(c.metadata.get("papermill", {}).get("duration") or 0.0) for c in cells]
        imports = durations[0] if durations else 0.0
        kernel = max(r.duration_s - sum(durations), 0.0)
        row = [r.duration_s, kernel, imports, sum(durations) - imports]
        sums = [a + b for a, b in zip(sums, row)]
        print(
            f"{r.file:<32} {row[0]:>7.1f} {row[1]:>9.1f} {row[2]:>10.1f} {row[3]:>10.1f}"
            + ("" if r.status == "ok" else f"  {r.status} at cell {r.failed_cell}: {(r.error or '')[:80]}")
        )
    print(f"{'sum of notebooks':<32} {sums[0]:>7.1f} {sums[1]:>9.1f} {sums[2]:>10.1f} {sums[3]:>10.1f}")
    print(f"{'notebooks phase (wall)':<32} {phase.get('notebooks', 0):>7.1f}")
    print(f"{'runner (validate, cache, index)':<32} {total - phase.get('notebooks', 0):>7.1f}")
    print(f"{'total':<32} {total:>7.1f}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"load average after the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"largest child process peak RSS {peak:,.0f} MB"
    )


if __name__ == "__main__":
    main()
