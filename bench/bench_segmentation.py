"""Benchmark: snapshots, rule and behavioural segments and health score at scale.

Run: .venv/bin/python bench/bench_segmentation.py [--accounts 50000] [--quarters 12]
Generates demo data once into a temporary folder (not timed), loads it (timed
separately), then times each step on ``--quarters`` observation dates.
Results are recorded in docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--quarters", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from insights.analyses.segments import rules as segments
    from insights.data.loading import load_tables
    from insights.demo import DemoSpec, write_demo
    from insights.metrics import snapshots

    years = max(3, (args.quarters + 3) // 4 + 1)
    folder = Path(tempfile.mkdtemp()) / "raw"
    t0 = time.perf_counter()
    write_demo(folder, DemoSpec(n_accounts=args.accounts, seed=args.seed, years=years))
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    tables = load_tables(folder)
    load = time.perf_counter() - t0
    dates = snapshots.observation_dates(tables)[-args.quarters :]
    rows = []

    def step(name, fn):
        start = time.perf_counter()
        result = fn()
        rows.append((name, time.perf_counter() - start))
        return result

    snap = step("snapshots", lambda: snapshots.build(tables, dates=dates))
    seg = step("rule segments", lambda: segments.rule_segments(snap, tables.accounts))
    snap = pd.concat([snap, seg], axis=1)
    from insights.analyses.health import score as health
    from insights.analyses.segments import behaviour

    last = snap[snap["obs_date"] == snap["obs_date"].max()]
    model = step("behavioural segments: fit k-means, k 2..8 (last date)", lambda: behaviour.fit(last))
    step("behavioural segments: assign all dates", lambda: [model.assign(p) for _, p in snap.groupby("obs_date")])
    config = health.load_config()
    step("health score (all dates)", lambda: health.score(snap, config))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.accounts:,} accounts, {len(dates)} observation dates, {len(snap):,} snapshot rows; "
        f"generate {gen:.1f} s (not counted), load+validate {load:.1f} s, peak memory {peak:,.0f} MB"
    )
    print(f"{'step':<45} {'seconds':>8}")
    for name, secs in rows:
        print(f"{name:<45} {secs:>8.1f}")
    print(f"{'total (steps above)':<45} {sum(s for _, s in rows if s == s):>8.1f}")


if __name__ == "__main__":
    main()
