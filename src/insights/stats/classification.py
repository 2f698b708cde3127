"""Metrics of a binary classifier's scores.

ROC AUC with DeLong or cluster-bootstrap intervals, PR AUC, Brier score, calibration table and lift.

Vocabulary: ``y`` is the 0/1 outcome (1 = the event, for example a churn), a *score* or ``p`` is
higher for rows more likely to have the event (a probability for the Brier score and the
calibration table). Rows can belong to *clusters* (an account observed on several dates); the
cluster bootstrap then resamples clusters, not rows. Every interval names its method.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import sparse, stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from insights.errors import ParameterError
from insights.stats.bootstrap import cluster_bootstrap_draws
from insights.stats.intervals import proportion_ci
from insights.stats.levels import check_level, level_label, z_value


def auc_delong(y, risk, level: float = 0.95) -> dict:
    """ROC AUC of ``risk`` for ``y`` with a DeLong confidence interval.

    The AUC is the Mann-Whitney probability that a row with the event has a higher risk than
    one without (ties count one half), computed from mid-ranks; the DeLong et al. (1988)
    variance comes from its structural components (fast form of Sun & Xu 2014). Rows are taken
    as independent (use one row per cluster, or ``auc_bootstrap``). The point estimate is
    checked against ``sklearn.metrics.roc_auc_score``.

    Parameters
    ----------
    y : array-like of 0/1
        Outcome, 1 = event.
    risk : array-like of float
        Score, higher = more likely to have the event (for a health score pass ``100 - health``).
    level : float
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    dict
        auc, low, high, se, n, events, method (``"DeLong 95% CI"``); NaN auc, low, high and se
        when one class is absent.

    Raises
    ------
    ParameterError
        If ``level`` is not strictly between 0 and 1.
    """
    check_level(level)
    y = np.asarray(y, dtype=float)
    r = np.asarray(risk, dtype=float)
    pos, neg = r[y == 1], r[y == 0]
    m, n = len(pos), len(neg)
    out = {
        "auc": np.nan,
        "low": np.nan,
        "high": np.nan,
        "se": np.nan,
        "n": m + n,
        "events": m,
        "method": f"DeLong {level_label(level)} CI",
    }
    if m == 0 or n == 0:
        return out
    tz = stats.rankdata(np.concatenate([pos, neg]))
    tx, ty = stats.rankdata(pos), stats.rankdata(neg)
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    check = roc_auc_score(np.r_[np.ones(m), np.zeros(n)], np.r_[pos, neg])
    if not np.isclose(auc, check, rtol=0, atol=1e-10):  # pragma: no cover - a bug, not a user error
        raise RuntimeError(f"AUC {auc} differs from sklearn's {check}.")
    v_pos = (tz[:m] - tx) / n
    v_neg = 1.0 - (tz[m:] - ty) / m
    var = (np.var(v_pos, ddof=1) / m if m > 1 else 0.0) + (np.var(v_neg, ddof=1) / n if n > 1 else 0.0)
    se = float(np.sqrt(var))
    z = z_value(level)
    out.update(auc=float(auc), se=se, low=float(max(0.0, auc - z * se)), high=float(min(1.0, auc + z * se)))
    return out


def weighted_auc(y, risk, weights):
    """ROC AUC with row weights, for example the counts of a bootstrap replicate.

    ``sum_ij w_i w_j [risk_i > risk_j] (+ half for ties) / (sum_i w_i * sum_j w_j)`` over rows
    ``i`` with the event and ``j`` without; with unit weights it equals ``roc_auc_score``.

    Parameters
    ----------
    y : array-like of 0/1
    risk : array-like of float
    weights : array-like
        One weight per row, or a 2-D array with one row of weights per replicate.

    Returns
    -------
    float or numpy.ndarray
        The weighted AUC (one per replicate for 2-D weights); NaN when the weights leave one
        class empty.

    Raises
    ------
    ParameterError
        If ``risk`` has missing values.
    """
    w = np.asarray(weights)
    if w.ndim == 2:
        return cluster_weighted_auc(y, risk, np.arange(w.shape[1]), w)
    y = np.asarray(y, dtype=float)
    codes, n_unique = _risk_codes(risk)
    return _weighted_auc_codes(y, codes, n_unique, w)


def cluster_weighted_auc(y, risk, codes, counts) -> np.ndarray:
    """ROC AUC in every replicate of a cluster bootstrap, row ``i`` weighted ``counts[b, codes[i]]``.

    The value of ``weighted_auc`` with the weights ``counts[:, codes]``, without building them:
    the rows are ranked by ``risk`` once, and each replicate's weighted class totals per distinct
    risk value are the cluster counts times a sparse (distinct risk values x clusters) table of
    rows. With integer counts every sum is a whole or half number, so the result is exactly that
    of ``weighted_auc``.

    Parameters
    ----------
    y : array-like of 0/1
        Outcome of each row (rows neither 0 nor 1 are left out, as in ``weighted_auc``).
    risk : array-like of float
        Score of each row.
    codes : array-like of int
        Cluster of each row as a position in ``0 .. counts.shape[1] - 1`` (``cluster_bootstrap_draws``).
    counts : array-like
        Shape ``(n_boot, n_clusters)``: the weight of each cluster in each replicate.

    Returns
    -------
    numpy.ndarray
        One AUC per replicate; NaN where a replicate leaves one class empty.

    Raises
    ------
    ParameterError
        If ``risk`` has missing values, or ``codes`` does not fit ``y`` and ``counts``.
    """
    y = np.asarray(y, dtype=float)
    codes = np.asarray(codes)
    counts = np.asarray(counts)
    fits = counts.ndim == 2 and len(codes) == len(y)
    if not fits or (len(codes) and not 0 <= codes.min() <= codes.max() < counts.shape[1]):
        raise ParameterError(
            f"codes must give each of the {len(y)} rows a cluster among the {counts.shape[-1]} columns of "
            "counts (n_boot x n_clusters), as cluster_bootstrap_draws returns them."
        )
    ranks, n_unique = _risk_codes(risk)
    pos, neg = y == 1, y == 0
    if len(np.unique(ranks[pos])) > len(np.unique(ranks[neg])):
        # P(pos > neg) = P(-neg > -pos): group by the class with fewer distinct scores
        pos, neg, ranks = neg, pos, n_unique - 1 - ranks
    n_clusters = counts.shape[1]
    levels = np.unique(ranks[pos])  # distinct scores of the grouped class, ascending

    def table(rows, at, n_rows):
        return sparse.csr_matrix((np.ones(int(rows.sum())), (at, codes[rows])), shape=(n_rows, n_clusters))

    # per distinct score p of the grouped class: its rows, the other class's rows with that very
    # score (ties), and the other class's rows whose score lies between levels p - 1 and p
    grouped = table(pos, np.searchsorted(levels, ranks[pos]), len(levels))
    other_at = np.searchsorted(levels, ranks[neg], side="right")  # levels at or below the row
    tied = neg.copy()
    tied[neg] = (other_at > 0) & (levels[np.maximum(other_at - 1, 0)] == ranks[neg])
    ties = table(tied, np.searchsorted(levels, ranks[tied]), len(levels))
    keep = other_at < len(levels)  # rows above every level count only in the total
    between = table(neg & _spread(neg, keep), other_at[keep], len(levels))
    per_cluster = np.stack(
        [np.bincount(codes[pos], minlength=n_clusters), np.bincount(codes[neg], minlength=n_clusters)], axis=1
    ).astype(float)
    out = np.empty(counts.shape[0])
    step = max(1, _AUC_BLOCK // max(len(levels), n_clusters, 1))  # replicates per block: arrays of ~_AUC_BLOCK numbers
    for start in range(0, counts.shape[0], step):
        block = np.ascontiguousarray(counts[start : start + step].T, dtype=float)
        totals = block.T @ per_cluster  # replicate x (grouped class, other class)
        below = np.cumsum(between @ block, axis=0)  # other class strictly below each level
        num = (grouped @ block * (below + 0.5 * (ties @ block))).sum(axis=0)
        t1, t0 = totals[:, 0], totals[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + step] = np.where((t1 == 0) | (t0 == 0), np.nan, num / (t1 * t0))
    return out


def _spread(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Boolean array like ``mask`` holding ``values`` at its True positions and False elsewhere."""
    out = np.zeros(len(mask), dtype=bool)
    out[mask] = values
    return out


#: Numbers per array in ``cluster_weighted_auc``'s blocks of replicates (4 million: 32 MB).
_AUC_BLOCK = 4_000_000


def _risk_codes(risk) -> tuple[np.ndarray, int]:
    """Rank of each row's risk among the distinct values (0 = lowest) and the number of distinct values."""
    values = np.asarray(risk, dtype=float)
    if np.isnan(values).any():
        raise ParameterError(f"the score has {int(np.isnan(values).sum())} missing value(s): score every row.")
    codes, _ = pd.factorize(pd.Series(values), sort=True)
    return codes, int(codes.max()) + 1 if len(codes) else 0


def _weighted_auc_codes(y: np.ndarray, codes: np.ndarray, n_unique: int, w: np.ndarray) -> float:
    """Weighted AUC from ``codes``, the ranks of the unique risk values."""
    w1 = np.bincount(codes[y == 1], weights=w[y == 1], minlength=n_unique)
    w0 = np.bincount(codes[y == 0], weights=w[y == 0], minlength=n_unique)
    t1, t0 = w1.sum(), w0.sum()
    if t1 == 0 or t0 == 0:
        return np.nan
    below = np.cumsum(w0) - w0
    return float((w1 * (below + 0.5 * w0)).sum() / (t1 * t0))


def auc_bootstrap(
    y, risks: dict, clusters, level: float = 0.95, n_boot: int = 1000, seed: int = 0, cluster_name: str = "cluster"
) -> pd.DataFrame:
    """AUC of one or more scores with a percentile cluster bootstrap (paired across scores).

    Clusters (not rows) are resampled with replacement (``cluster_bootstrap_draws``), so rows
    of one cluster move together; every score is evaluated on the same resamples, so the
    differences between scores (each later score minus the first) are paired.

    Parameters
    ----------
    y : array-like of 0/1
    risks : dict of str to array-like
        Name -> score (higher = more likely to have the event).
    clusters : array-like
        Cluster of each row (for example its account).
    level : float
        Confidence level.
    n_boot : int
        Bootstrap resamples (at least 100).
    seed : int
        Seed of the resampling.
    cluster_name : str
        What a cluster is, for the method text (``"account"`` gives "bootstrap by account").

    Returns
    -------
    pandas.DataFrame
        Index ``score``: one row per score and per difference ``"<name> - <first>"``; auc, low,
        high, n, events, clusters, method (``"bootstrap by <cluster_name> (1000 resamples,
        percentile) 95% CI"``). NaN estimates when one class is absent.

    Raises
    ------
    ParameterError
        If ``level`` is not strictly between 0 and 1 or ``n_boot`` < 100.
    """
    check_level(level)
    if n_boot < 100:
        raise ParameterError(f"n_boot must be at least 100, got {n_boot}.")
    y = np.asarray(y, dtype=float)
    names = list(risks)
    est, reps = {}, {}
    n_clusters = pd.Series(clusters).nunique()
    method = f"bootstrap by {cluster_name} ({n_boot} resamples, percentile) {level_label(level)} CI"
    both = (y == 1).any() and (y == 0).any()
    codes, counts = cluster_bootstrap_draws(clusters, n_boot, seed) if both else (None, None)
    for name in names:
        r = np.asarray(risks[name], dtype=float)
        if not both:
            est[name], reps[name] = np.nan, np.full(n_boot, np.nan)
            continue
        est[name] = float(roc_auc_score(y, r))
        reps[name] = cluster_weighted_auc(y, r, codes, counts)
    rows = []
    q = [(1 - level) / 2, (1 + level) / 2]
    for name in names:
        lo, hi = np.nanquantile(reps[name], q) if both else (np.nan, np.nan)
        rows.append((name, est[name], lo, hi))
    for name in names[1:]:
        d = reps[name] - reps[names[0]]
        lo, hi = np.nanquantile(d, q) if both else (np.nan, np.nan)
        rows.append((f"{name} - {names[0]}", est[name] - est[names[0]], lo, hi))
    out = pd.DataFrame(rows, columns=["score", "auc", "low", "high"]).set_index("score")
    out["n"], out["events"], out["clusters"], out["method"] = len(y), int((y == 1).sum()), n_clusters, method
    return out


def top_lift(y, p, frac: float = 0.1) -> float:
    """Lift of the top ``frac`` of rows by score: their event rate over the overall event rate.

    The top group is the first ``ceil(frac * n)`` rows sorted by ``p`` descending (ties in
    their given order).

    Parameters
    ----------
    y : array-like of 0/1
    p : array-like of float
    frac : float
        Share of rows in the top group, in (0, 1].

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        If ``frac`` is not in (0, 1] or no row has the event.
    """
    if not 0 < frac <= 1:
        raise ParameterError(f"frac must be in (0, 1], got {frac}.")
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if y.sum() == 0:
        raise ParameterError("lift is undefined when no row has the event (y is all 0).")
    k = math.ceil(frac * len(y))
    order = np.argsort(-p, kind="stable")
    return float(y[order[:k]].mean() / y.mean())


def lift_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Events captured by score group (deciles by default), highest score first.

    Rows sorted by ``p`` descending (stable) are cut into ``n_bins`` groups of as equal size as
    possible (``numpy.array_split``).

    Parameters
    ----------
    y : array-like of 0/1
    p : array-like of float
    n_bins : int
        Number of groups.

    Returns
    -------
    pandas.DataFrame
        group (1 = highest scores), rows, events, event_rate, mean_p, lift (group rate / overall
        rate), cum_share_rows, cum_share_events (gains), cum_lift.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    base = y.mean()
    rows = []
    for i, idx in enumerate(np.array_split(order, n_bins), 1):
        rows.append(
            (
                i,
                len(idx),
                int(y[idx].sum()),
                y[idx].mean() if len(idx) else np.nan,
                p[idx].mean() if len(idx) else np.nan,
            )
        )
    out = pd.DataFrame(rows, columns=["group", "rows", "events", "event_rate", "mean_p"])
    out["lift"] = out["event_rate"] / base
    out["cum_share_rows"] = out["rows"].cumsum() / len(y)
    out["cum_share_events"] = out["events"].cumsum() / y.sum()
    out["cum_lift"] = out["cum_share_events"] / out["cum_share_rows"]
    return out


def calibration_table(y, p, n_bins: int = 10, level: float = 0.95) -> pd.DataFrame:
    """Binned calibration: predicted vs observed event rate in equal-width probability bins, with counts.

    Bins as ``sklearn.calibration.calibration_curve(strategy="uniform")``; empty bins are left
    out. The observed rate of each bin has a Wilson score interval.

    Parameters
    ----------
    y : array-like of 0/1
    p : array-like of float
        Predicted probabilities in [0, 1].
    n_bins : int
    level : float

    Returns
    -------
    pandas.DataFrame
        bin_low, bin_high, rows, events, mean_predicted, observed, low, high, method (Wilson).
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    rows = []
    for b in range(n_bins):
        m = ids == b
        n = int(m.sum())
        if not n:
            continue
        x = int(y[m].sum())
        ci = proportion_ci(x, n, level)
        rows.append((edges[b], edges[b + 1], n, x, p[m].mean(), x / n, ci.low, ci.high, ci.method))
    return pd.DataFrame(
        rows, columns=["bin_low", "bin_high", "rows", "events", "mean_predicted", "observed", "low", "high", "method"]
    )


def held_out_metrics(
    y, p, clusters=None, level: float = 0.95, n_boot: int = 1000, seed: int = 0, cluster_name: str = "cluster"
) -> dict:
    """ROC AUC with its interval, PR AUC, Brier score and top-decile lift of held-out probabilities.

    The AUC interval is a percentile cluster bootstrap (``auc_bootstrap``) when ``clusters`` is
    given, else DeLong's; the DeLong interval (rows taken as independent) is always reported
    too. PR AUC is the average precision (``sklearn.metrics.average_precision_score``), the
    Brier score the mean squared error of ``p`` (``sklearn.metrics.brier_score_loss``), the
    top-decile lift ``top_lift(y, p, 0.1)``.

    Parameters
    ----------
    y : array-like of 0/1
        Outcome, with both classes.
    p : array-like of float
        Predicted probability of the event.
    clusters : array-like, optional
        Cluster of each row (for the bootstrap).
    level, n_boot, seed, cluster_name
        As in ``auc_bootstrap``.

    Returns
    -------
    dict
        n, events, clusters (distinct clusters; ``n`` without clusters), auc, auc_low,
        auc_high, auc_method, auc_delong_low, auc_delong_high, auc_delong_method, pr_auc,
        base_rate, brier, top_decile_lift.

    Raises
    ------
    ParameterError
        If no row has the event, or as ``auc_bootstrap``.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    d = auc_delong(y, p, level)
    if clusters is not None:
        b = auc_bootstrap(y, {"p": p}, clusters, level, n_boot, seed, cluster_name).loc["p"]
        auc, low, high, method = b["auc"], b["low"], b["high"], b["method"]
        n_clusters = int(pd.Series(clusters).nunique())
    else:
        auc, low, high, method = d["auc"], d["low"], d["high"], d["method"]
        n_clusters = len(y)
    return {
        "n": len(y),
        "events": int(y.sum()),
        "clusters": n_clusters,
        "auc": auc,
        "auc_low": low,
        "auc_high": high,
        "auc_method": method,
        "auc_delong_low": d["low"],
        "auc_delong_high": d["high"],
        "auc_delong_method": d["method"],
        "pr_auc": average_precision_score(y, p),
        "base_rate": y.mean(),
        "brier": brier_score_loss(y, p),
        "top_decile_lift": top_lift(y, p, 0.1),
    }
