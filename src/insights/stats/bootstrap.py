"""Cluster bootstrap: resample whole clusters (for example accounts) with replacement.

A row observed several times for the same cluster (an account on several quarter ends) is not
independent of its siblings; resampling clusters rather than rows keeps them together. The
draws are returned as row weights, so any statistic that accepts weights (a weighted AUC, a
weighted mean) is evaluated on every replicate without copying the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.errors import ParameterError


def cluster_bootstrap_counts(clusters, n_boot: int, seed: int) -> np.ndarray:
    """Row weights of a cluster bootstrap: clusters drawn with replacement, rows weighted by their cluster's count.

    Each replicate draws as many clusters as there are, uniformly with replacement (one
    multinomial draw over the sorted distinct clusters), and gives every row the number of times
    its cluster was drawn. The same ``seed`` always gives the same draws.

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
        Integer array of shape ``(n_boot, len(clusters))``; row ``b`` holds the weight of each
        data row in replicate ``b`` (0 when its cluster was not drawn).

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
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(uniq), np.full(len(uniq), 1.0 / len(uniq)), size=int(n_boot))
    return counts[:, codes]
