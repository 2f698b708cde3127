"""Benchmark: general dominance with a bootstrap, against a naive loop of statsmodels fits.

Run: .venv/bin/python bench/bench_dominance.py [--rows 50000] [--drivers 6] [--boot 500]
Simulated logistic data (correlated drivers, two controls). The project's path fits all
2^k subsets at once with batched Newton steps, warm-started from the full-data fit, for
the point estimate and every bootstrap replicate (frequency weights). The naive path fits
each subset with statsmodels Logit; it is timed on a few replicates and scaled to the
same number. Results are recorded in docs/benchmarks.md; nothing here is a test.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--drivers", type=int, default=6)
    parser.add_argument("--boot", type=int, default=500)
    parser.add_argument("--naive-reps", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=None, help="threads for the replicates (default: CPUs)")
    args = parser.parse_args()

    import statsmodels.api as sm

    from insights.stats import dominance as dom

    rng = np.random.default_rng(7)
    n, k = args.rows, args.drivers
    cov = 0.3 + 0.7 * np.eye(k)
    X = rng.multivariate_normal(np.zeros(k), cov, size=n)
    C = rng.normal(size=(n, 2))
    beta = -np.linspace(0.8, 0.2, k)
    p = 1 / (1 + np.exp(-(-2.0 + X @ beta + C @ np.array([0.3, -0.2]))))
    y = (rng.random(n) < p).astype(float)
    accounts = np.arange(n) // 4  # four snapshot rows per account
    n_acc = accounts.max() + 1

    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as insights.analyses.drivers.ranking runs it
        point = dom.dominance(X, y, C)
        counts = np.stack([np.bincount(rng.integers(0, n_acc, n_acc), minlength=n_acc)[accounts]
                           for _ in range(args.boot)]).astype(float)
        dom.dominance_replicates(X, y, counts, C, beta0=point.beta_subsets, n_jobs=args.jobs)
    fast = time.perf_counter() - t0

    t0 = time.perf_counter()
    for rep in range(args.naive_reps):
        w = np.bincount(rng.integers(0, n_acc, n_acc), minlength=n_acc)[accounts].astype(float)
        for size in range(k + 1):
            for subset in itertools.combinations(range(k), size):
                design = sm.add_constant(np.column_stack([C, X[:, list(subset)]]))
                sm.GLM(y, design, family=sm.families.Binomial(), freq_weights=w).fit()
    naive_per_rep = (time.perf_counter() - t0) / args.naive_reps
    naive = naive_per_rep * (args.boot + 1)
    print(f"{n:,} rows, {k} drivers ({2 ** k} subsets), {args.boot} bootstrap replicates + the point estimate")
    print(f"{'path':<44} {'seconds':>9}")
    print(f"{'batched Newton over all subsets (insights)':<44} {fast:>9.1f}")
    print(f"{'statsmodels GLM per subset (scaled from ' + str(args.naive_reps) + ' reps)':<44} {naive:>9.1f}")
    print(f"{'speed-up':<44} {naive / fast:>8.1f}x")


if __name__ == "__main__":
    main()
