"""Is the segment playbooks' confidence in "X is the top driver in segment S" calibrated?

For each demo seed (default size, 2,000 accounts): write the demo, build snapshots, contract-value
segments and the drivers' analysis rows, then per segment

- the partial-pooling estimate (``insights.analyses.drivers.pooling``): the first driver and its
  posterior P(first), uncalibrated;
- for comparison, the per-segment dominance ranking's top driver and its bootstrap P(top)
  (``ranking.rank_by_segment``, ``rank_anyway=True``, ``--boot`` replicates),

and compare both with the segment's true top driver (``ground_truth.json``).

Three steps, so the calibration map is fitted on seeds the evaluation never sees::

    # 1. collect (CPU heavy: run under nice, at most 2 processes)
    nice -n 5 .venv/bin/python bench/eval_playbook_calibration.py collect --seeds 201-250 --out train.csv
    nice -n 5 .venv/bin/python bench/eval_playbook_calibration.py collect --seeds 101-150 --out test.csv
    # 2. fit the isotonic maps p_first -> share right on the training seeds (all segments, and those
    #    below SMALL_SEGMENT_EVENTS churns; prints CONFIDENCE_MAP and SMALL_SEGMENT_MAP)
    .venv/bin/python bench/eval_playbook_calibration.py fit train.csv
    # 3. evaluate the maps (as pasted in insights.analyses.drivers.pooling) on the unseen seeds
    .venv/bin/python bench/eval_playbook_calibration.py evaluate test.csv

Seed 7 (the notebooks' demo) is in neither set. Results are recorded in docs/driver_recovery.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from insights.analyses.drivers import pooling
from insights.analyses.drivers import ranking as drivers
from insights.analyses.segments import rules as segments
from insights.data import loading
from insights.demo import DemoSpec, write_demo
from insights.metrics import snapshots
from insights.stats import recalibration
from insights.stats.intervals import proportion_ci

TIMES = ["seconds_data", "seconds_pooled", "seconds_dominance"]
BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0000001)


def analysis_rows(seed: int, accounts: int, cache: Path | None) -> tuple[pd.DataFrame, dict]:
    """The drivers' analysis rows of one demo seed and its true top driver per segment (cached when asked)."""
    files = (cache / f"rows_{seed}_{accounts}.pkl", cache / f"truth_{seed}_{accounts}.json") if cache else None
    if files and files[0].exists() and files[1].exists():
        return pd.read_pickle(files[0]), json.loads(files[1].read_text())
    with tempfile.TemporaryDirectory() as tmp:
        write_demo(Path(tmp), DemoSpec(seed=seed, n_accounts=accounts))
        truth = json.loads((Path(tmp) / "ground_truth.json").read_text())["ranking"]["by_segment"]
        tables = loading.load_tables(Path(tmp))
    snap = snapshots.build(tables)
    snap = snap.join(segments.rule_segments(snap, tables.accounts)[["segment"]])
    rows = drivers.analysis_rows(snap)
    if files:
        cache.mkdir(parents=True, exist_ok=True)
        rows.to_pickle(files[0])
        files[1].write_text(json.dumps(truth))
    return rows, truth


def collect(seed: int, n_boot: int, accounts: int, cache: Path | None = None) -> list[dict]:
    """One row per segment of one seed: pooled first driver and P(first), dominance top and P(top), truth."""
    t0 = time.perf_counter()
    rows, truth = analysis_rows(seed, accounts, cache)
    t1 = time.perf_counter()
    first = pooling.first_drivers(pooling.pooled_effects(rows), seed=seed, confidence_map=())
    t2 = time.perf_counter()
    dom = drivers.rank_by_segment(rows, n_boot=n_boot, seed=seed, rank_anyway=True) if n_boot else {}
    t3 = time.perf_counter()
    out = []
    for s, r in first.iterrows():
        true_top = truth[s][0]
        d = dom.get(s)
        ranked = d is not None and not isinstance(d, str)
        out.append(
            {
                "seed": seed,
                "segment": s,
                "events": int(rows.loc[rows["segment"] == s, "churned"].sum()),
                "first": r["first"],
                "p_first": r["p_first"],
                "pooling_weight": r["pooling_weight"],
                "true_top": true_top,
                "correct": int(r["first"] == true_top),
                "dominance_top": d.order[0] if ranked else None,
                "dominance_p_top": float(d.rank_probability.iloc[0, 0]) if ranked else np.nan,
                "dominance_correct": int(ranked and d.order[0] == true_top),
                "seconds_data": t1 - t0,
                "seconds_pooled": t2 - t1,
                "seconds_dominance": t3 - t2,
            }
        )
    return out


def _bin_row(group: str, stated: str, part: pd.DataFrame) -> dict:
    """One row of the calibration table: n, mean stated, right, share right and its Wilson 95% CI."""
    right = int(part["correct"].sum())
    ci = proportion_ci(right, len(part))
    return {
        "group": group,
        "stated": stated,
        "n": len(part),
        "mean_stated": part["stated"].mean(),
        "right": right,
        "share_right": right / len(part),
        "low": ci.low,
        "high": ci.high,
    }


def calibration_table(stated, correct, by=None) -> pd.DataFrame:
    """Stated-confidence bins x n x share right (Wilson 95% CI), overall and per ``by``."""
    frame = pd.DataFrame({"stated": np.asarray(stated, float), "correct": np.asarray(correct, int)})
    frame["group"] = "all" if by is None else np.asarray(by)
    if by is not None:
        frame = pd.concat([frame, frame.assign(group="all")])
    frame["bin"] = pd.cut(frame["stated"], BINS, right=False)
    recs = [
        _bin_row(g, f"{b.left:.2f}-{min(b.right, 1):.2f}", part)
        for (g, b), part in frame.groupby(["group", "bin"], observed=True, sort=True)
    ]
    for g, part in frame.groupby("group", sort=True):
        hi = part[part["stated"] >= pooling.RECOMMEND_AT]
        if len(hi):
            recs.append(_bin_row(g, f">= {pooling.RECOMMEND_AT:g} (recommended)", hi))
    out = pd.DataFrame(recs)
    out.attrs["method"] = proportion_ci(1, 2).method
    return out


def markdown(df: pd.DataFrame) -> str:
    """A Markdown table (no extra dependency)."""

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def seeds_of(text: str) -> range:
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="step", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--seeds", required=True)
    c.add_argument("--boot", type=int, default=100, help="dominance bootstrap replicates (0: skip the comparison)")
    c.add_argument("--accounts", type=int, default=2000)
    c.add_argument("--out", required=True)
    c.add_argument("--cache", type=Path, help="folder keeping each seed's analysis rows, to re-run without the demo")
    f = sub.add_parser("fit")
    f.add_argument("csv")
    e = sub.add_parser("evaluate")
    e.add_argument("csv")
    args = ap.parse_args(argv)
    if args.step == "collect":
        out = Path(args.out)
        for s in seeds_of(args.seeds):
            if s == 7:
                print("seed 7 is the notebooks' demo; skipped", file=sys.stderr)
                continue
            recs = pd.DataFrame(collect(s, args.boot, args.accounts, args.cache))
            recs.to_csv(out, mode="a", header=not out.exists(), index=False)
            print(f"seed {s}: {recs[TIMES].iloc[0].round(1).to_dict()}", flush=True)
        return
    df = pd.read_csv(args.csv)
    print(f"{df['seed'].nunique()} seeds ({df['seed'].min()}-{df['seed'].max()}), {len(df)} segment rankings")
    if args.step == "fit":
        small = df["events"] < pooling.SMALL_SEGMENT_EVENTS
        for name, part in [("CONFIDENCE_MAP", df), ("SMALL_SEGMENT_MAP", df[small])]:
            x, y = recalibration.fit_map(part["p_first"], part["correct"])
            pairs = ", ".join(f"({a:.4f}, {b:.4f})" for a, b in zip(x, y))
            print(f"{name} = ({pairs},)  # {len(part)} segment rankings")
        return
    conf = pooling.segment_confidence(df["p_first"], df["events"])
    for label, stated, right in [
        ("calibrated confidence (partial pooling, segment_confidence)", conf, df["correct"]),
        ("uncalibrated P(first) (partial pooling)", df["p_first"], df["correct"]),
        (
            "bootstrap P(top) of the per-segment dominance ranking",
            df["dominance_p_top"].fillna(0),
            df["dominance_correct"],
        ),
    ]:
        table = calibration_table(stated, right, df["segment"])
        print(f"\n### {label}\n\n{markdown(table)}\n\n({table.attrs['method']})")
    rec = df.assign(confidence=conf, recommended=conf >= pooling.RECOMMEND_AT)
    summary = rec.groupby("segment").agg(
        rankings=("seed", "size"),
        events_median=("events", "median"),
        first_right=("correct", "sum"),
        dominance_right=("dominance_correct", "sum"),
        recommended=("recommended", "sum"),
        pooling_weight_median=("pooling_weight", "median"),
    )
    print("\n" + markdown(summary.reset_index()))
    print(f"\nseconds per seed (median): {df.groupby('seed')[TIMES].first().median().round(1).to_dict()}")


if __name__ == "__main__":
    main()
