"""Benchmark: driver ranking (dominance with a bootstrap): sampled vs exact subsets vs a statsmodels loop.

Run: .venv/bin/python bench/bench_dominance.py [--rows 50000] [--drivers 12] [--boot 200]
Simulated logistic data: correlated drivers (pairwise correlation 0.3), two controls, four rows per
account (the bootstrap resamples accounts). Paths timed:

* ``rank_drivers`` end to end (``insights.stats.driver_ranking``: checks, odds ratios, point
  estimate, replicates; ``shapley="auto"``: exact up to 8 drivers, sampled above);
* the dominance and its replicates alone (``dominance`` + ``dominance_replicates``, the path the
  previous version of this benchmark timed) with the same design;
* exact general dominance (all 2^k subsets per replicate) when the ranking is sampled: the point
  estimate is timed, the replicates on ``--exact-reps`` replicates and scaled to ``--boot``;
* a statsmodels GLM fit per subset: ``--naive-fits`` random subsets of a bootstrap replicate are
  timed and scaled to the subsets of the exact path and of the sampled design, times
  (``--boot`` + 1).

Scaled rows say so. Accuracy of a sampled ranking against the exact point estimate is printed
too. Results are recorded in docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def simulate(n: int, k: int, seed: int = 7) -> pd.DataFrame:
    """Correlated drivers d00.., controls c1, c2, outcome y, account (four rows each)."""
    rng = np.random.default_rng(seed)
    X = rng.multivariate_normal(np.zeros(k), 0.3 + 0.7 * np.eye(k), size=n)
    C = rng.normal(size=(n, 2))
    eta = -2.0 + X @ -np.linspace(0.8, 0.2, k) + C @ np.array([0.3, -0.2])
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    frame = pd.DataFrame(X, columns=[f"d{j:02d}" for j in range(k)])
    return frame.assign(c1=C[:, 0], c2=C[:, 1], y=y, account=np.arange(n) // 4)


class Clock:
    """Wall and process CPU seconds of a block."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--drivers", type=int, default=12)
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--exact-reps", type=int, default=2, help="replicates timed on the exact path (then scaled)")
    parser.add_argument("--naive-fits", type=int, default=40, help="statsmodels subset fits timed (then scaled)")
    parser.add_argument("--jobs", type=int, default=None, help="threads (default: CPUs, at most 4)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import statsmodels.api as sm
    from threadpoolctl import threadpool_limits

    from insights.stats import dominance as dom
    from insights.stats import driver_ranking as dr
    from insights.stats.model_frame import model_frame
    from insights.stats.shapley import exact_design

    n, k, B = args.rows, args.drivers, args.boot
    frame = simulate(n, k)
    drivers = [f"d{j:02d}" for j in range(k)]
    singletons = [[d] for d in drivers]
    load = os.getloadavg()[0]
    rows = []  # (path, wall, cpu, note)

    with Clock() as c:
        ranking = dr.rank_drivers(
            frame,
            "y",
            drivers,
            ["c1", "c2"],
            cluster="account",
            n_boot=B,
            seed=args.seed,
            groups=singletons,
            n_jobs=args.jobs,
        )
    sampled = ranking.shapley.startswith("sampled")
    rows.append((f"rank_drivers end to end ({'sampled' if sampled else 'exact'})", c.wall, c.cpu, ranking.shapley))

    mf = model_frame(frame, "y", drivers, ["c1", "c2"], "account")
    P, y, C = mf.drivers.to_numpy(), mf.y.to_numpy(), mf.controls.to_numpy()
    design = dr._shapley_design(k, "auto", dr.MAX_EXACT_BLOCKS, dr.N_CYCLES, args.seed)
    rng = np.random.default_rng(args.seed)
    weights = dr._bootstrap_counts(mf.clusters, B, rng)
    threads = min(4, os.cpu_count() or 1) if args.jobs is None else args.jobs
    with threadpool_limits(limits=1, user_api="blas"):
        with Clock() as c:
            point = dom.dominance(P, y, C, design=design, n_jobs=threads)
            dom.dominance_replicates(P, y, weights, C, beta0=point.beta_subsets, design=design, n_jobs=args.jobs)
        rows.append(("dominance + replicates only (same design)", c.wall, c.cpu, f"{len(design.masks)} subsets"))

        if sampled:
            ex = exact_design(k)
            with Clock() as c:
                exact = dom.dominance(P, y, C, design=ex, n_jobs=threads)
            point_wall, point_cpu = c.wall, c.cpu
            reps = max(args.exact_reps, 1)
            with Clock() as c:
                dom.dominance_replicates(P, y, weights[:reps], C, beta0=exact.beta_subsets, design=ex, n_jobs=args.jobs)
            scale = B / reps
            rows.append(
                (
                    f"exact dominance ({2**k} subsets), scaled from {reps} replicates",
                    point_wall + c.wall * scale,
                    point_cpu + c.cpu * scale,
                    f"point {point_wall:.1f} s + {c.wall / reps:.1f} s wall per replicate",
                )
            )
            err = np.abs(point.share - exact.share)
            boot_sd = ranking.boot_shares.std(ddof=1).reindex(drivers).to_numpy()
            accuracy = (
                f"sampled vs exact shares: max |diff| {err.max():.5f} = {np.max(err / point.share_mc_se):.1f} "
                f"MC SE (MC SE {point.share_mc_se.min():.5f}-{point.share_mc_se.max():.5f}); MC SE / "
                f"bootstrap SD <= {np.max(point.share_mc_se / boot_sd):.2f}"
            )
        else:
            accuracy = "exact path: no Monte Carlo error"

    # statsmodels, one GLM per subset on a replicate's weights, a random sample of subsets
    w = weights[0]
    keep = w > 0
    A = np.column_stack([np.ones(n), C, P])[keep]
    pick = np.random.default_rng(0).integers(1, 2**k, args.naive_fits)
    with Clock() as c:
        for code in pick:
            cols = [0, 1, 2] + [3 + j for j in range(k) if code >> j & 1]
            sm.GLM(y[keep], A[:, cols], family=sm.families.Binomial(), freq_weights=w[keep]).fit()
    per_fit_wall, per_fit_cpu = c.wall / args.naive_fits, c.cpu / args.naive_fits
    for label, subsets in [("all subsets", 2**k)] + (
        [("the sampled design's subsets", len(design.masks))] if sampled else []
    ):
        fits = subsets * (B + 1)
        rows.append(
            (
                f"statsmodels GLM per subset, {label}, scaled",
                per_fit_wall * fits,
                per_fit_cpu * fits,
                f"{per_fit_wall * 1000:.0f} ms per fit x {fits:,} fits",
            )
        )

    print(
        f"{n:,} rows ({n // 4:,} accounts), {k} drivers, 2 controls, {B} bootstrap replicates; "
        f"{os.cpu_count()} CPUs, {threads} threads, load {load:.1f} at start"
    )
    print(f"| {'path':<66} | {'wall s':>9} | {'CPU s':>9} | note")
    print(f"|{'-' * 68}|{'-' * 11}:|{'-' * 11}:|-----")
    for path, wall, cpu, note in rows:
        print(f"| {path:<66} | {wall:>9.1f} | {cpu:>9.1f} | {note}")
    print(accuracy)
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
