"""Playbook targeting at scale: cross-fitted DR-learner plus 200 bootstrap replicates on 50,000 accounts.

Run: python bench/bench_targeting.py [--accounts 50000] [--boot 200] [--folds 2]

A simulated pilot (``insights.demo.targeting.simulate_targeting_pilot``) of that many accounts goes
through the estimators the notebook and ``insights pilot target`` use: the cross-fitted DR-learner
(default nuisance and effect models, known propensity, folds balanced on arm x segment), then BLP,
GATES (5 groups), the Qini curve (21 points) and the ARR-weighted policy values, the last three
with ``--boot`` account-bootstrap replicates. Prints one table of stage timings (target: under 60 s
on 2 cores) and the load average; results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from insights.demo.targeting import estimation_frame, simulate_targeting_pilot
from insights.stats.heterogeneity import best_linear_projection, gates
from insights.stats.policy_value import policy_value, qini_curve, top_share_policy
from insights.stats.uplift import dr_learner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    times = {}
    t = time.perf_counter()
    pilot = simulate_targeting_pilot(args.accounts, seed=1)
    frame, covariates = estimation_frame(pilot)
    times["simulate pilot"] = time.perf_counter() - t
    t = time.perf_counter()
    s = dr_learner(frame, "renewed", "treated", covariates, propensity=0.5, strata="segment", folds=args.folds)
    s["arr"] = frame["arr"].to_numpy()
    times[f"DR-learner ({args.folds} folds)"] = time.perf_counter() - t
    t = time.perf_counter()
    blp = best_linear_projection(s, cluster="cluster")
    times["BLP (cluster-robust)"] = time.perf_counter() - t
    t = time.perf_counter()
    g = gates(s, cluster="cluster", n_boot=args.boot)
    times[f"GATES, {args.boot} bootstrap"] = time.perf_counter() - t
    t = time.perf_counter()
    q = qini_curve(s, weight="arr", n_boot=args.boot)
    times[f"Qini, {args.boot} bootstrap"] = time.perf_counter() - t
    t = time.perf_counter()
    n = len(s)
    pols = {"all": np.ones(n), "none": np.zeros(n), "top 30%": top_share_policy(s["cate"], 0.3)}
    policy_value(s, pols, weight="arr")
    times["policy values"] = time.perf_counter() - t
    estimation = sum(v for k, v in times.items() if k != "simulate pilot")
    print(f"{args.accounts:,} accounts, {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{'stage':<32}{'s':>8}")
    for k, v in times.items():
        print(f"{k:<32}{v:>8.1f}")
    print(f"{'estimation total':<32}{estimation:>8.1f}")
    print(f"load average before: {load_before[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(
        f"BLP loading {blp.loading.estimate:.2f} (p = {blp.test.p_value:.2g}); "
        f"GATES {np.round(g['estimate'], 3).tolist()}"
    )
    print(
        f"Qini coefficient {q.attrs['qini'].estimate:,.0f} ({q.attrs['qini'].low:,.0f} to {q.attrs['qini'].high:,.0f})"
    )


if __name__ == "__main__":
    main()
