"""Does the expected loss hold up against what happened? The page-04 backtest over several demo seeds.

For each seed: write the default demo (2,000 accounts), set up the report quarter (2026Q3) as the
notebook does, and run ``insights.analyses.risk.reconciliation.forecast_vs_realised`` on its
settled quarters twice:

- ``before``: the calibration chosen among sigmoid and isotonic only (the earlier rule);
- ``after``: ``none`` (the model's own probability) among the candidates (``model.CALIBRATIONS``).

Beside the forecast and the realised loss it prints the demo's *true* expected loss (sum of the
generator's churn probability x ARR, from ``ground_truth.json``): the forecast should match it up
to the model's error, the realised loss only up to chance (the 90% interval).

Usage::

    nice -n 5 .venv/bin/python bench/eval_forecast_backtest.py [--seeds 7,1,2,3,4]

Prints Markdown tables (results are recorded in docs/forecast_backtest.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import insights
from insights.analyses.risk import model as risk
from insights.analyses.risk import reconciliation
from insights.demo import DemoSpec, write_demo
from insights.metrics.periods import parse_quarter

QUARTER = "2026Q3"
#: The calibration candidates before the change (``none`` not among them).
BEFORE = ("sigmoid", "isotonic")


def _true_expected(snap: pd.DataFrame, truth: dict, quarter: str) -> tuple[float, float]:
    """Sum of the generator's churn probability x ARR (and of the probability) over a quarter's renewals."""
    renewals = pd.DataFrame(truth["renewals"]["data"], columns=truth["renewals"]["columns"])
    p = renewals.set_index("contract_id")["p_churn"]
    q = parse_quarter(quarter)
    due = snap[(snap["obs_date"] == q.shift(-1).end) & snap["renewal_date"].between(q.start, q.end)]
    pt = p.reindex(due["contract_id"]).to_numpy(dtype=float)
    return float(pt @ due["arr"].to_numpy(dtype=float)), float(pt.sum())


def evaluate(seed: int) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        write_demo(Path(tmp), DemoSpec(seed=seed))
        truth = json.loads((Path(tmp) / "ground_truth.json").read_text())
        ctx = insights.setup(QUARTER, Path(tmp), Path(tmp) / "out")
        snap = ctx.snapshots
    quarters = reconciliation.settled_quarters(snap, ctx.quarter)
    parts = []
    for label, candidates in (("before", BEFORE), ("after", risk.CALIBRATIONS)):
        saved = risk.CALIBRATIONS
        risk.CALIBRATIONS = candidates
        try:
            table = reconciliation.forecast_vs_realised(snap, quarters, ctx.settings.grace_days, seed=ctx.seed)
        finally:
            risk.CALIBRATIONS = saved
        table.insert(0, "version", label)
        table.insert(0, "seed", seed)
        parts.append(table)
    out = pd.concat(parts, ignore_index=True)
    true = [_true_expected(snap, truth, q) for q in out["quarter"]]
    out["true_expected_loss"] = [t[0] for t in true]
    out["true_expected_churns"] = [t[1] for t in true]
    return out


def _m(x: float) -> str:
    return f"{x / 1e6:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="7,1,2,3,4")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    table = pd.concat([evaluate(s) for s in seeds], ignore_index=True)
    print(f"Backtest of the expected loss, report quarter {QUARTER}, demo seeds {seeds} ($M)\n")
    head = ["seed", "quarter", "version", "forecast", "90% interval", "realised", "forecast / realised", "inside"]
    head += ["true expected", "expected / churned"]
    print("| " + " | ".join(head) + " |")
    print("|---|---|---|---:|---|---:|---:|---|---:|---:|")
    for r in table.sort_values(["seed", "quarter", "version"], ascending=[True, True, False]).itertuples():
        print(
            f"| {r.seed} | {r.quarter} | {r.version} | {_m(r.forecast_loss)} | {_m(r.loss_low)} to {_m(r.loss_high)} "
            f"| {_m(r.realised_loss)} | {r.forecast_loss / r.realised_loss:.2f} "
            f"| {'yes' if r.inside_interval else 'no'} "
            f"| {_m(r.true_expected_loss)} | {r.expected_churns:.1f} / {r.churned} |"
        )
    head = ["version", "quarters", "forecast / realised (pooled)", "median per quarter", "geometric mean"]
    head += ["forecast / true expected", "expected / churned", "inside 90% interval"]
    print("\n| " + " | ".join(head) + " |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for version in ("before", "after"):
        g = table[table["version"] == version]
        ratio = g["forecast_loss"] / g["realised_loss"]
        pooled = g["forecast_loss"].sum() / g["realised_loss"].sum()
        print(
            f"| {version} | {len(g)} | {pooled:.3f} | {ratio.median():.3f} "
            f"| {np.exp(np.log(ratio).mean()):.3f} | {g['forecast_loss'].sum() / g['true_expected_loss'].sum():.3f} "
            f"| {g['expected_churns'].sum() / g['churned'].sum():.3f} | {int(g['inside_interval'].sum())} of {len(g)} |"
        )
    print(f"\nInterval: {table['interval_method'].iloc[0]}.")


if __name__ == "__main__":
    main()
