"""A/A simulation of monitoring a pilot every week: naive peeking, three planned looks, a confidence sequence.

Run: .venv/bin/python bench/bench_pilot_monitoring.py [--sims 20000] [--seed 20261205]

Each simulated pilot enrols ``--accounts`` accounts (default 1,000), assigned to treatment with
probability 1/2, whose renewals (rate 0.85 in both arms: the playbook does nothing) become known
in random order, evenly over a 26-week window. The team looks every week. Procedures, all at
alpha = 0.05, two-sided, on the difference of renewal rates:

- fixed sample, final look only: pooled two-proportion z, |z| >= 1.96 at week 26;
- naive peeking: the same test at every weekly look, stopping at the first |z| >= 1.96;
- three planned looks (1/3, 2/3, all outcomes) with Lan-DeMets O'Brien-Fleming-type boundaries
  (``insights.stats.sequential.spending_boundaries``: 3.710, 2.511, 1.993);
- the same three looks but 1.96 at the last one (the readout's former rule);
- always-valid: the asymptotic confidence sequence (``cs_half_width``, tuned for the planned
  accounts) around the difference, unpooled standard error, looked at every week; rejects at the
  first week 0 is outside it.

Output: one table row per procedure with its false-positive rate and Monte Carlo standard error
sqrt(r (1 - r) / sims). Recorded in docs/pilot_aa_simulation.md.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
from scipy import stats

from insights.stats.sequential import cs_half_width, spending_boundaries

ALPHA = 0.05
RATE = 0.85
WEEKS = 26
PLANNED = (1 / 3, 2 / 3, 1.0)


def _z_and_se(x1, n1, x0, n0):
    """Pooled z of p1 - p0 and the unpooled standard error of the difference, arrays."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p0 = x1 / n1, x0 / n0
        pooled = (x1 + x0) / (n1 + n0)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        z = np.where(se0 > 0, (p1 - p0) / se0, 0.0)
        se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return np.nan_to_num(z), p1 - p0, se


def _counts_at(treated, renewed, looks):
    """Successes and units per arm after the first ``k`` outcomes, for every k in ``looks``; (sims, looks)."""
    idx = np.asarray(looks) - 1
    n1 = np.cumsum(treated, axis=1, dtype=np.int32)[:, idx]
    x1 = np.cumsum(treated & renewed, axis=1, dtype=np.int32)[:, idx]
    x0 = np.cumsum(~treated & renewed, axis=1, dtype=np.int32)[:, idx]
    n0 = idx[None, :] + 1 - n1
    return x1.astype(float), n1.astype(float), x0.astype(float), n0.astype(float)


def simulate(n_sims: int, n_accounts: int, seed: int, chunk: int = 5000) -> dict[str, np.ndarray]:
    """Rejection indicator per procedure and simulated pilot."""
    rng = np.random.default_rng(seed)
    weekly = np.unique(np.ceil(np.arange(1, WEEKS + 1) / WEEKS * n_accounts).astype(int))
    planned = np.ceil(np.asarray(PLANNED) * n_accounts).astype(int)
    bounds = spending_boundaries(list(PLANNED), alpha=ALPHA)["z_boundary"].to_numpy()
    z_crit = stats.norm.isf(ALPHA / 2)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("final", "peeking", "obf", "obf_196", "cs")}
    for start in range(0, n_sims, chunk):
        m = min(chunk, n_sims - start)
        treated = rng.random((m, n_accounts)) < 0.5  # outcomes already in their order of arrival
        renewed = rng.random((m, n_accounts)) < RATE
        z, diff, se = _z_and_se(*_counts_at(treated, renewed, weekly))
        out["final"].append(np.abs(z[:, -1]) >= z_crit)
        out["peeking"].append((np.abs(z) >= z_crit).any(axis=1))
        half = cs_half_width(se, weekly[None, :], ALPHA, planned_n=n_accounts)
        out["cs"].append((np.abs(diff) > np.nan_to_num(half, nan=np.inf)).any(axis=1))
        zp, _, _ = _z_and_se(*_counts_at(treated, renewed, planned))
        out["obf"].append((np.abs(zp) >= bounds[None, :]).any(axis=1))
        naive_final = np.r_[bounds[:-1], z_crit]
        out["obf_196"].append((np.abs(zp) >= naive_final[None, :]).any(axis=1))
    return {k: np.concatenate(v) for k, v in out.items()}


LABELS = {
    "final": "fixed sample, final look only (|z| >= 1.96)",
    "peeking": f"naive peeking, {WEEKS} weekly looks at |z| >= 1.96",
    "obf": "3 planned looks, O'Brien-Fleming boundaries (3.710, 2.511, 1.993)",
    "obf_196": "3 planned looks, but 1.96 at the final look (former rule)",
    "cs": f"asymptotic confidence sequence, {WEEKS} weekly looks",
}


def table(rejections: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rate, Monte Carlo s.e. and distance from 5% in s.e. per procedure."""
    rows = []
    for key, label in LABELS.items():
        r = float(rejections[key].mean())
        se = float(np.sqrt(r * (1 - r) / rejections[key].size))
        rows.append({"procedure": label, "false_positive_rate": r, "mc_se": se, "z_vs_5pct": (r - ALPHA) / se})
    return pd.DataFrame(rows).set_index("procedure")


def main() -> None:
    """Run the simulation and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=20000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args()
    t0 = time.perf_counter()
    rejections = simulate(args.sims, args.accounts, args.seed)
    elapsed = time.perf_counter() - t0
    print(
        f"{args.sims} A/A pilots of {args.accounts} accounts, renewal rate {RATE}, {WEEKS} weekly looks, "
        f"seed {args.seed}; {elapsed:.1f} s on Python {platform.python_version()}"
    )
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 200):
        print(table(rejections).to_string())


if __name__ == "__main__":
    main()
