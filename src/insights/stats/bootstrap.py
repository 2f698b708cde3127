"""Cluster bootstrap: resample whole clusters (for example accounts) with replacement.

A row observed several times for the same cluster (an account on several quarter ends) is not
independent of its siblings; resampling clusters rather than rows keeps them together. The
draws are returned as row weights (``cluster_bootstrap_counts``), so any statistic that accepts
weights (a weighted AUC, a weighted mean) is evaluated on every replicate without copying the
data, or as the count of each cluster (``cluster_bootstrap_draws``), which is smaller when a
cluster has several rows and lets a statistic aggregate rows by cluster first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.errors import ParameterError


def cluster_bootstrap_draws(clusters, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster of each row and the number of times each cluster is drawn in each replicate.

    Each replicate draws as many clusters as there are, uniformly with replacement (one
    multinomial draw over the sorted distinct clusters). The same ``seed`` always gives the same
    draws, and the first ``k`` replicates of ``n_boot`` are those of ``k`` (replicates are drawn
    one after another from one generator). Row ``i`` has weight ``counts[b, codes[i]]`` in
    replicate ``b``, exactly as in ``cluster_bootstrap_counts``.

    Parameters
    ----------
    clusters : array-like
        Cluster of each row (any hashable values; missing values are not allowed).
    n_boot : int
        Number of bootstrap replicates (at least 1).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    codes : numpy.ndarray
        Integer code of each row's cluster (its position among the sorted distinct clusters).
    counts : numpy.ndarray
        Read-only integer array (uint8 unless a count exceeds 255, then int32) of shape
        ``(n_boot, number of distinct clusters)``: how often each cluster is drawn in each replicate.

    Raises
    ------
    ParameterError
        If ``clusters`` is empty or has missing values, or ``n_boot`` < 1.
    """
    series = pd.Series(clusters)
    if series.empty:
        raise ParameterError("the cluster bootstrap needs at least one row.")
    if series.isna().any():
        raise ParameterError(
            f"the cluster column has {int(series.isna().sum())} missing value(s): give every row a "
            "cluster (for example its account id) or drop those rows."
        )
    if int(n_boot) < 1:
        raise ParameterError(f"n_boot must be at least 1, got {n_boot}.")
    codes, uniq = pd.factorize(series, sort=True)
    return codes, _multinomial_counts(len(uniq), int(n_boot), int(seed))


def cluster_bootstrap_counts(clusters, n_boot: int, seed: int) -> np.ndarray:
    """Row weights of a cluster bootstrap: clusters drawn with replacement, rows weighted by their cluster's count.

    Each replicate draws as many clusters as there are, uniformly with replacement (one
    multinomial draw over the sorted distinct clusters), and gives every row the number of times
    its cluster was drawn (``cluster_bootstrap_draws``, spread over the rows). The same ``seed``
    always gives the same draws.

    Parameters
    ----------
    clusters : array-like
        Cluster of each row (any hashable values; missing values are not allowed).
    n_boot : int
        Number of bootstrap replicates (at least 1).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        Integer (int64) array of shape ``(n_boot, len(clusters))``; row ``b`` holds the weight of each
        data row in replicate ``b`` (0 when its cluster was not drawn).

    Raises
    ------
    ParameterError
        If ``clusters`` is empty or has missing values, or ``n_boot`` < 1.
    """
    codes, counts = cluster_bootstrap_draws(clusters, n_boot, seed)
    return counts[:, codes].astype(np.int64)


def _multinomial_counts(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` multinomial draws of ``n_clusters`` equally likely clusters (read-only).

    The draws depend only on the three numbers, so the latest ones are kept: a report asks for
    the same resamples of the same test accounts several times (each model's AUC, their
    difference, the permutation importance), and with many clusters each draw takes seconds.
    A request for fewer replicates is served by the first rows of a longer draw, which are the
    same numbers (the generator draws replicate after replicate).
    """
    cached = _DRAWS.get((n_clusters, seed))
    if cached is not None and cached.shape[0] >= n_boot:
        return cached[:n_boot]
    _DRAWS.clear()  # one draw kept: 150,000 clusters x 1,000 replicates hold 0.15 GB
    rng = np.random.default_rng(seed)
    pvals = np.full(n_clusters, 1.0 / n_clusters)
    # counts are small (about Poisson(1)): one byte each, unless a count above 255 turns up
    counts = np.empty((n_boot, n_clusters), dtype=np.uint8)
    step = max(1, _BLOCK // n_clusters)  # replicates per block: the generator's int64 draws stay small
    for start in range(0, n_boot, step):
        block = rng.multinomial(n_clusters, pvals, size=min(step, n_boot - start))
        if counts.dtype == np.uint8 and block.max() > 255:
            counts = counts.astype(np.int32)
        counts[start : start + step] = block
    counts.flags.writeable = False
    _DRAWS[(n_clusters, seed)] = counts
    return counts


#: Numbers drawn at a time by ``_multinomial_counts`` (8 MB of int64).
_BLOCK = 1_000_000
#: The latest multinomial draw, keyed by (clusters, seed); see ``_multinomial_counts``.
_DRAWS: dict[tuple[int, int], np.ndarray] = {}
