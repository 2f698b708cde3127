"""A/A simulation of pilot readouts: how often does each test reject when nothing differs?

Run: .venv/bin/python bench/bench_pilot_aa.py [--sims 1000] [--seed 20261123]

Each simulated pilot has 3 strata of 200 / 120 / 40 accounts with renewal rates
0.85 / 0.88 / 0.90; every account is assigned to treatment with probability 1/2
(Bernoulli assignment within stratum), and the treatment does nothing. A continuous
outcome (this year's utilisation) depends on a pre-period covariate (last year's
utilisation) with heteroskedastic noise. Each procedure is applied at alpha = 0.05 and
the table gives its rejection rate with the Monte Carlo standard error
sqrt(r (1 - r) / sims). Results are recorded in docs/pilot_aa_simulation.md; the same
simulation runs as a slow test in tests/test_pilot_aa.py.

The computations go through the package: vectorised kernels shared with the public
functions (``insights.stats.intervals._newcombe`` etc.) where the work is per pilot
array arithmetic, and the public functions themselves otherwise.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
from scipy import stats

from insights.stats.adjustment import ancova
from insights.stats.intervals import (
    _newcombe,
    _pearson_chi2,
    _welch,
    compare_proportions,
    sample_ratio_mismatch,
)
from insights.stats.levels import z_value
from insights.stats.sequential import sequential_test, spending_boundaries
from insights.stats.stratified import _cmh, _cmh_z

ALPHA = 0.05
STRATA_SIZES = (200, 120, 40)
RENEWAL_RATES = (0.85, 0.88, 0.90)
LOOKS = (1 / 3, 2 / 3, 1.0)


def simulate_pilots(n_sims: int, seed: int) -> dict[str, np.ndarray]:
    """Draw ``n_sims`` A/A pilots; arrays are (n_sims, n_accounts)."""
    rng = np.random.default_rng(seed)
    stratum = np.repeat(np.arange(len(STRATA_SIZES)), STRATA_SIZES)
    n_acc = stratum.size
    p = np.asarray(RENEWAL_RATES)[stratum]
    treated = rng.random((n_sims, n_acc)) < 0.5
    renewed = rng.random((n_sims, n_acc)) < p
    # utilisation: last year's (covariate) lognormal, this year's correlated with it, noisier when larger
    pre = rng.lognormal(mean=np.log(40.0), sigma=0.5, size=(n_sims, n_acc)) + 5.0 * stratum
    post = 8.0 + 0.8 * pre + rng.normal(size=(n_sims, n_acc)) * (2.0 + 0.15 * pre)
    arrival = rng.random((n_sims, n_acc)).argsort(axis=1).argsort(axis=1)  # rank of each account's readout
    return {"stratum": stratum, "treated": treated, "renewed": renewed, "pre": pre, "post": post, "arrival": arrival}


def _stratum_counts(sim, include=None):
    """Successes and sizes per (sim, stratum, arm): a, n1, c, n0 of shape (n_sims, K)."""
    treated, renewed = sim["treated"], sim["renewed"]
    keep = np.ones_like(treated) if include is None else include
    out = []
    for k in range(len(STRATA_SIZES)):
        col = (sim["stratum"] == k)[None, :] & keep
        t, c = col & treated, col & ~treated
        out.append(((renewed & t).sum(1), t.sum(1), (renewed & c).sum(1), c.sum(1)))
    return tuple(np.stack([o[i] for o in out], axis=1).astype(float) for i in range(4))


def rejections(sim) -> pd.DataFrame:
    """One boolean column per procedure: did it reject at alpha = 0.05?"""
    treated, post, pre = sim["treated"], sim["post"], sim["pre"]
    n_sims = treated.shape[0]
    a, n1, c, n0 = _stratum_counts(sim)
    x1, m1, x0, m0 = a.sum(1), n1.sum(1), c.sum(1), n0.sum(1)

    # 1. pooled 2x2: chi-square when all expected >= 5, else exact (public function on those pilots)
    _, p_chi2, min_exp = _pearson_chi2(x1, m1, x0, m0)
    p_auto = p_chi2.copy()
    for i in np.flatnonzero(min_exp < 5):
        p_auto[i] = compare_proportions(int(x1[i]), int(m1[i]), int(x0[i]), int(m0[i])).p_value
    # 2. Newcombe hybrid score CI for the pooled difference excludes 0
    _, low, high = _newcombe(x1, m1, x0, m0, z_value(1 - ALPHA))
    # 3. Welch t on the continuous outcome
    t_mask = treated.astype(float)
    n_t, n_c = t_mask.sum(1), (1 - t_mask).sum(1)
    mean_t = (post * t_mask).sum(1) / n_t
    mean_c = (post * (1 - t_mask)).sum(1) / n_c
    var_t = (((post - mean_t[:, None]) ** 2) * t_mask).sum(1) / (n_t - 1)
    var_c = (((post - mean_c[:, None]) ** 2) * (1 - t_mask)).sum(1) / (n_c - 1)
    d, se, df = _welch(mean_t, var_t, n_t, mean_c, var_c, n_c)
    p_welch = 2 * stats.t.sf(np.abs(d / se), df)
    # 4. ANCOVA on the pre-period covariate (public function per pilot)
    p_ancova = np.array([ancova(post[i], treated[i], pre[i]).p_value for i in range(n_sims)])
    # 5. CMH across the three strata
    _, p_cmh = _cmh(a, n1, c, n0)
    # 6. SRM: accounts per arm against 50/50 (public function per pilot)
    p_srm = np.array(
        [
            sample_ratio_mismatch(
                {"treatment": int(n_t[i]), "control": int(n_c[i])}, {"treatment": 0.5, "control": 0.5}
            ).p_value
            for i in range(n_sims)
        ]
    )
    # 7. group-sequential CMH z at 3 equally spaced looks, Lan-DeMets O'Brien-Fleming boundaries
    n_acc = treated.shape[1]
    bounds = spending_boundaries(list(LOOKS), alpha=ALPHA)
    z_looks = []
    for frac in LOOKS:
        seen = sim["arrival"] < round(frac * n_acc)
        z_looks.append(_cmh_z(*_stratum_counts(sim, seen)))
    z_looks = np.stack(z_looks, axis=1)
    seq_reject = (np.abs(z_looks) >= bounds["z_boundary"].to_numpy()[None, :]).any(axis=1)
    # the public function must agree with the vectorised decision (checked on the first pilots)
    for i in range(min(n_sims, 20)):
        assert (sequential_test(list(z_looks[i]), bounds).attrs["stopped_at"] is not None) == seq_reject[i]

    return pd.DataFrame(
        {
            "chi-square / exact (auto), pooled": p_auto < ALPHA,
            "Newcombe 95% CI excludes 0, pooled": (low > 0) | (high < 0),
            "Welch t, continuous": p_welch < ALPHA,
            "ANCOVA (HC2), continuous": p_ancova < ALPHA,
            "CMH, 3 strata": p_cmh < ALPHA,
            "SRM, exact binomial (n=360)": p_srm < ALPHA,
            "group-sequential CMH, 3 looks (LD O'Brien-Fleming)": seq_reject,
        }
    )


def rejection_table(n_sims: int = 1000, seed: int = 20261123) -> pd.DataFrame:
    """Rejection rate and Monte Carlo standard error per procedure."""
    rej = rejections(simulate_pilots(n_sims, seed))
    rate = rej.mean()
    return pd.DataFrame({"rejection_rate": rate, "mc_se": np.sqrt(rate * (1 - rate) / n_sims)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, cores: {__import__('os').cpu_count()}")
    t0 = time.perf_counter()
    table = rejection_table(args.sims, args.seed)
    elapsed = time.perf_counter() - t0
    print(
        f"{args.sims} A/A pilots (strata {STRATA_SIZES}, renewal {RENEWAL_RATES}), seed {args.seed}, {elapsed:.1f} s\n"
    )
    print("| procedure | rejection rate | MC s.e. | within 5% +/- 1.5% |")
    print("|---|---:|---:|:---:|")
    for name, row in table.iterrows():
        ok = "yes" if abs(row.rejection_rate - ALPHA) <= 0.015 else "NO"
        print(f"| {name} | {row.rejection_rate:.4f} | {row.mc_se:.4f} | {ok} |")


if __name__ == "__main__":
    main()
