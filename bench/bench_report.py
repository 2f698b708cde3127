"""Benchmark: the quarterly report, split per notebook into kernel start, imports and compute.

Run: .venv/bin/python bench/bench_report.py [--accounts 2000]
Writes demo data of the given size into a temporary folder (not timed), then runs
``insights report`` into a temporary reports folder and reads papermill's per-cell
timings from the executed notebooks: kernel start = notebook wall time minus the
sum of its cells; imports = the first code cell; compute = the other cells.
Results are recorded in docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp())
    os.environ["INSIGHTS_DATA_DIR"] = str(base / "raw")
    os.environ["INSIGHTS_REPORTS_DIR"] = str(base / "reports")
    os.environ["INSIGHTS_PROCESSED_DIR"] = str(base / "processed")

    import nbformat

    from insights.demo import DemoSpec, write_demo
    from insights.report import run_report

    t0 = time.perf_counter()
    write_demo(base / "raw", DemoSpec(n_accounts=args.accounts, seed=args.seed))
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    outcome = run_report()
    total = time.perf_counter() - t0
    print(f"{args.accounts:,} accounts (demo generated in {gen:.1f} s, not counted); report {outcome.quarter}, "
          f"status {'ok' if outcome.ok else 'FAILED'}")
    print(f"{'notebook':<32} {'wall s':>7} {'kernel s':>9} {'imports s':>10} {'compute s':>10}")
    notebooks = 0.0
    for r in outcome.results:
        if r.status == "skipped":
            continue
        nb = nbformat.read(str(outcome.folder / r.file), as_version=4)
        cells = [c for c in nb.cells if c.cell_type == "code"]
        durations = [float(c.metadata.get("papermill", {}).get("duration") or 0.0) for c in cells]
        imports = durations[0] if durations else 0.0
        kernel = max(r.duration_s - sum(durations), 0.0)
        notebooks += r.duration_s
        print(f"{r.file:<32} {r.duration_s:>7.1f} {kernel:>9.1f} {imports:>10.1f} {sum(durations) - imports:>10.1f}")
    print(f"{'runner (validate, hash, HTML, index)':<32} {total - notebooks:>7.1f}")
    print(f"{'total':<32} {total:>7.1f}")


if __name__ == "__main__":
    main()
