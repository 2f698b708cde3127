"""Playbook targeting on simulated pilots with a known truth: null calibration, coverage, truth recovery, power.

Each simulated pilot comes from ``insights.demo.targeting.simulate_targeting_pilot`` (playbook helps
accounts low in perceived value, nothing for the rest, by segment; or its null, the same renewal-rate
effect for every account). The estimators are those of ``insights.stats`` with their defaults
(2-fold cross-fitted DR-learner, folds balanced on arm x segment, known propensity 0.5,
BLP with HC1 errors, GATES in 5 groups with 200 account-bootstrap replicates).

    python bench/eval_targeting.py null      # 500 null pilots of 1,000 accounts: BLP rejection rate at 5%
    python bench/eval_targeting.py coverage  # 100 pilots of 3,000: policy-value coverage, GATES ordering
    python bench/eval_targeting.py power     # 100 pilots per size: power of the BLP test

Results are printed as tables and recorded in docs/playbook_targeting.md.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

from insights.demo.targeting import estimation_frame, simulate_targeting_pilot, true_policy_value
from insights.stats.heterogeneity import best_linear_projection, gates, uplift_groups
from insights.stats.policy_value import policy_value, top_share_policy
from insights.stats.uplift import dr_learner


def fit(n: int, seed: int, heterogeneous: bool):
    pilot = simulate_targeting_pilot(n, seed, heterogeneous)
    frame, covariates = estimation_frame(pilot)
    scores = dr_learner(frame, "renewed", "treated", covariates, propensity=0.5, strata="segment", seed=seed)
    return pilot, frame, scores


def binomial_ci(k: int, n: int) -> str:
    lo, hi = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    return f"{k / n:.3f} (Wilson 95% CI {lo:.3f} to {hi:.3f})"


def null(sims: int = 500, n: int = 1000) -> None:
    blp = gts = 0
    t0 = time.perf_counter()
    for seed in range(sims):
        _, _, s = fit(n, seed, heterogeneous=False)
        blp += best_linear_projection(s).test.p_value < 0.05
        gts += gates(s, n_boot=200, seed=seed).attrs["test"].p_value < 0.05
    print(f"null: {sims} pilots of {n} accounts, one common effect ({time.perf_counter() - t0:.0f} s)")
    print(f"  BLP heterogeneity test rejects at 5%: {binomial_ci(blp, sims)}")
    print(f"  GATES most = least test rejects at 5%: {binomial_ci(gts, sims)}")


def coverage(sims: int = 100, n: int = 3000) -> None:
    rows, order = [], []
    t0 = time.perf_counter()
    for seed in range(sims):
        pilot, frame, s = fit(n, seed, heterogeneous=True)
        s["arr"] = frame["arr"].to_numpy()
        policies = {
            "treat everyone": np.ones(n),
            "treat no one": np.zeros(n),
            "top 30% by predicted uplift": top_share_policy(s["cate"], 0.3),
            "rule: observed perceived value < 0": (frame["perceived_value"] < 0).astype(int).to_numpy(),
        }
        for weight in (None, "arr"):
            pv = policy_value(s, policies, weight=weight)
            for (name, pol), (_, r) in zip(policies.items(), pv.iterrows()):
                truth = true_policy_value(pilot, pol, weight)
                gain = truth - true_policy_value(pilot, np.zeros(n), weight)
                rows.append(
                    {
                        "policy": name,
                        "weight": weight or "renewal rate",
                        "value covered": r.value_low <= truth <= r.value_high,
                        "gain covered": r.gain_low <= gain <= r.gain_high,
                    }
                )
        g = gates(s, n_boot=200, seed=seed)
        true_by_group = pilot["true_uplift"].groupby(uplift_groups(s["cate"], 5)).mean().to_numpy()
        order.append(
            {
                "true_increasing_rho": stats.spearmanr(np.arange(5), true_by_group).statistic,
                "estimated_vs_true_rho": stats.spearmanr(g["estimate"], true_by_group).statistic,
                "top_above_bottom": g["estimate"].iloc[-1] > g["estimate"].iloc[0],
                "difference_significant": g.attrs["difference"].low > 0,
            }
        )
    cov = pd.DataFrame(rows).groupby(["weight", "policy"])[["value covered", "gain covered"]].mean()
    print(f"coverage: {sims} pilots of {n} accounts, heterogeneous effect ({time.perf_counter() - t0:.0f} s)")
    print(cov.to_string())
    o = pd.DataFrame(order)
    print("GATES truth recovery (5 groups by predicted uplift):")
    print(f"  true uplift increases across groups, mean Spearman rho: {o['true_increasing_rho'].mean():.3f}")
    print(f"  estimated GATES vs true group means, mean Spearman rho: {o['estimated_vs_true_rho'].mean():.3f}")
    print(f"  most responsive group estimated above least: {o['top_above_bottom'].mean():.3f}")
    print(f"  most minus least interval excludes 0: {o['difference_significant'].mean():.3f}")


def power(sims: int = 100, sizes=(427, 1000, 2000, 3000, 4000)) -> None:
    print(f"power of the BLP heterogeneity test at 5% ({sims} heterogeneous pilots per size)")
    for n in sizes:
        t0 = time.perf_counter()
        k = sum(best_linear_projection(fit(n, seed, True)[2]).test.p_value < 0.05 for seed in range(sims))
        print(f"  {n:>5} accounts: {binomial_ci(k, sims)}  ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else "all"
    for name, run in (("null", null), ("coverage", coverage), ("power", power)):
        if part in (name, "all"):
            run()
