"""Benchmark: snapshot build time, split by metric family (``insights.metrics.features``).

Run: .venv/bin/python bench/bench_snapshots.py [--accounts 2000] [--repeats 5]
Generates demo data once into a temporary folder (not timed), then times ``snapshots.build`` on
every default observation date, and each family function summed over those dates (best of
``--repeats``). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from insights.data.loading import load_tables
    from insights.demo import DemoSpec, write_demo
    from insights.metrics import features as fam
    from insights.metrics import snapshots

    folder = Path(tempfile.mkdtemp()) / "raw"
    write_demo(folder, DemoSpec(n_accounts=args.accounts, seed=args.seed))
    tb = load_tables(folder, use_cache=False)
    dates = snapshots.observation_dates(tb)
    terms = {t: fam.contract_metrics(tb.contracts, tb.accounts, t) for t in dates}
    families = {
        "contract_metrics": lambda t: fam.contract_metrics(tb.contracts, tb.accounts, t),
        "usage_metrics": lambda t: fam.usage_metrics(tb.usage_monthly, terms[t], t, 24),
        "survey_metrics": lambda t: fam.survey_metrics(tb.surveys, terms[t].index, t),
        "support_metrics": lambda t: fam.support_metrics(tb.support_tickets, terms[t], t),
        "switching_metrics": lambda t: fam.switching_metrics(tb.integrations, tb.users, tb.usage_monthly, terms[t], t),
        "activity_metrics": lambda t: fam.activity_metrics(tb.cs_activities, tb.accounts, terms[t].index, t),
    }
    rows = [(name, _best(lambda f=f: [f(t) for t in dates], args.repeats)) for name, f in families.items()]
    rows.append(("snapshots.build (families + labels)", _best(lambda: snapshots.build(tb), args.repeats)))
    n = len(snapshots.build(tb))
    print(f"{args.accounts:,} accounts, {len(dates)} observation dates, {n:,} snapshot rows; best of {args.repeats}")
    print(f"{'step':<38} {'seconds':>8}")
    for name, secs in rows:
        print(f"{name:<38} {secs:>8.3f}")


if __name__ == "__main__":
    main()
