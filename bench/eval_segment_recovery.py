"""Does the headline behavioural segmentation recover the demo generator's personas at every size?

For each size and seed: write the demo (or reuse ``<work>/raw<accounts>_s<seed>`` when it is
there), build the snapshot at the last quarter end, then fit the headline model (Gaussian mixture,
k by BIC among k whose every segment holds >= 5% of accounts; ``insights.analyses.segments.behaviour.fit``),
k-means at the mixture's k, and k-means with k by silhouette (the former headline), and measure the
adjusted Rand index of each against the true personas (``behaviour.agreement``). Requirement
(issue 19): ARI >= 0.7 for the headline in every case.

Usage::

    .venv/bin/python bench/eval_segment_recovery.py [--sizes 2000,20000,50000] [--seeds 1,2,7] [--work DIR]

Prints a Markdown table (results are recorded in docs/segment_recovery.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from insights.analyses.segments import behaviour
from insights.data.loading import load_tables
from insights.demo import DemoSpec, write_demo
from insights.metrics import snapshots

T = pd.Timestamp("2026-09-30")


def evaluate(accounts: int, seed: int, work: Path) -> dict:
    raw = work / f"raw{accounts}_s{seed}"
    if not (raw / "accounts.csv").exists() and not (raw / "accounts.parquet").exists():
        write_demo(raw, DemoSpec(n_accounts=accounts, seed=seed))
    snap = snapshots.build(load_tables(raw), [T])
    personas = behaviour.demo_personas(raw)
    t0 = time.perf_counter()
    gmm = behaviour.fit(snap, method="gmm", seed=7)
    seconds = time.perf_counter() - t0
    check = behaviour.fit(snap, method="kmeans", k=gmm.k, seed=7)
    silhouette = behaviour.fit(snap, method="kmeans", seed=7)

    def ari(model):
        return behaviour.agreement(model.assign(snap)["behaviour_segment"], personas)

    return {
        "accounts": accounts,
        "seed": seed,
        "segmented": gmm.n_accounts,
        "k (BIC)": gmm.k,
        "ARI mixture (headline)": ari(gmm),
        "ARI k-means at that k": ari(check),
        "k (silhouette)": silhouette.k,
        "ARI k-means by silhouette": ari(silhouette),
        "fit s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000,50000")
    parser.add_argument("--seeds", default="1,2,7")
    parser.add_argument("--work", type=Path, default=None, help="folder of demo data to reuse / write")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp())
    rows = []
    for accounts in (int(s) for s in args.sizes.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(evaluate(accounts, seed, work))
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---:|" * len(table.columns))
    for row in table.itertuples(index=False):
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else f"{v:,}" for v in row) + " |")
    headline = table["ARI mixture (headline)"]
    print(f"\nheadline ARI: min {headline.min():.3f}, all >= 0.7: {bool((headline >= 0.7).all())}")


if __name__ == "__main__":
    main()
