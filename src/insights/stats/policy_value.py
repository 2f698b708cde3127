"""What a targeting policy is worth, estimated off-policy on randomised data: IPW/DR values and the Qini curve.

A policy says, for every row, treat (1) or not (0). Its value is the mean outcome had it been
followed. From AIPW scores (``insights.stats.uplift.dr_learner``: ``gamma1``, ``gamma0``) the
doubly robust estimate is ``mean(pi * gamma1 + (1 - pi) * gamma0)``; the inverse-probability
weighted one uses ``T Y / e`` and ``(1 - T) Y / (1 - e)`` instead. With a weight (e.g. ARR) the
value is the weighted mean, so times the number of rows it is the total (retained ARR).

The Qini curve is the gain over treating no one when the top share of rows by predicted uplift is
treated, per row of the population; targeting at random gives the straight line ``share * ATE``.

Column names are parameters; nothing here knows our tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from insights.errors import ParameterError
from insights.stats.bootstrap import cluster_bootstrap_counts
from insights.stats.heterogeneity import checked_columns, percentile_band
from insights.stats.intervals import Interval
from insights.stats.levels import check_level, level_label, z_value
from insights.stats.table_checks import require_columns

ESTIMATORS = ("dr", "ipw")


def arm_scores(frame: pd.DataFrame, estimator: str = "dr") -> tuple[np.ndarray, np.ndarray]:
    """Per-row scores of the outcome under control and under treatment.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of ``insights.stats.uplift.dr_learner`` (outcome, treated, propensity, gamma0, gamma1).
    estimator : {"dr", "ipw"}
        Doubly robust (AIPW) or inverse-probability weighted scores.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Scores under control and under treatment; their means estimate the two arms' mean outcomes.

    Raises
    ------
    ParameterError
        If ``estimator`` is unknown or a needed column is missing.
    """
    if estimator not in ESTIMATORS:
        raise ParameterError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}.")
    if estimator == "dr":
        checked_columns(frame, ["gamma0", "gamma1"])
        return frame["gamma0"].to_numpy(dtype=float), frame["gamma1"].to_numpy(dtype=float)
    checked_columns(frame, ["outcome", "treated", "propensity"])
    y, t, e = (frame[c].to_numpy(dtype=float) for c in ("outcome", "treated", "propensity"))
    return (1 - t) * y / (1 - e), t * y / e


def _cluster_mean_se(values: np.ndarray, clusters) -> float:
    """Standard error of a mean of rows, with rows of a cluster summed first (cluster-robust)."""
    codes, uniq = pd.factorize(pd.Series(clusters), sort=True)
    n, g = len(values), len(uniq)
    resid = np.zeros(g)
    np.add.at(resid, codes, values - values.mean())
    return float(np.sqrt(g / (g - 1) * (resid**2).sum()) / n)


def policy_value(
    frame: pd.DataFrame,
    policies: Mapping[str, object],
    weight: Hashable | None = None,
    cluster: Hashable | None = "cluster",
    estimator: str = "dr",
    level: float = 0.95,
) -> pd.DataFrame:
    """Value of each policy and its gain over treating no one, with cluster-robust normal intervals.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of ``insights.stats.uplift.dr_learner`` (plus a weight column if ``weight`` is given).
    policies : mapping of str to array-like
        Name -> 0/1 (or bool) per row of ``frame``: whom the policy treats.
    weight : hashable, optional
        Column weighting each row's outcome (e.g. ARR: the value is then retained ARR per row).
    cluster : hashable or None, default "cluster"
        Cluster column for the standard errors; None for independent rows.
    estimator : {"dr", "ipw"}
        Doubly robust (AIPW) or inverse-probability weighted.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per policy: policy, treated_share, value, value_low, value_high (mean weighted outcome
        per row under the policy), gain, gain_low, gain_high (value minus the treat-no-one value; its
        interval accounts for the pairing), method.

    Raises
    ------
    ParameterError
        If a policy's length differs from the frame's or holds values other than 0/1, or a column is missing.
    """
    check_level(level)
    checked_columns(frame, [weight])
    require_columns(frame, [cluster], "the scores table")
    s0, s1 = arm_scores(frame, estimator)
    w = frame[weight].to_numpy(dtype=float) if weight is not None else np.ones(len(frame))
    clusters = frame[cluster].to_numpy() if cluster is not None else np.arange(len(frame))
    z = z_value(level)
    name = "DR (AIPW)" if estimator == "dr" else "IPW"
    kind = "cluster-robust" if cluster is not None else "i.i.d."
    rows = []
    for label, pol in policies.items():
        pi = np.asarray(pol, dtype=float)
        if pi.shape != (len(frame),) or not np.isin(pi, (0.0, 1.0)).all():
            raise ParameterError(f"policy {label!r} must give 0/1 for each of the {len(frame)} rows.")
        values = w * (pi * s1 + (1 - pi) * s0)
        gains = w * pi * (s1 - s0)
        v, se_v = values.mean(), _cluster_mean_se(values, clusters)
        gn, se_g = gains.mean(), _cluster_mean_se(gains, clusters)
        rows.append(
            {
                "policy": label,
                "treated_share": float(pi.mean()),
                "value": v,
                "value_low": v - z * se_v,
                "value_high": v + z * se_v,
                "gain": gn,
                "gain_low": gn - z * se_g,
                "gain_high": gn + z * se_g,
                "method": f"{name} policy value, {kind} normal {level_label(level)} CI",
            }
        )
    return pd.DataFrame(rows)


def top_share_policy(predicted, share: float) -> np.ndarray:
    """Treat the top ``share`` of rows by predicted uplift (ties broken by row order).

    Parameters
    ----------
    predicted : array-like of float
        Predicted uplift per row.
    share : float
        Share of rows to treat, in [0, 1] (rounded to whole rows).

    Returns
    -------
    numpy.ndarray
        0/1 per row.

    Raises
    ------
    ParameterError
        If ``share`` is outside [0, 1].
    """
    if not 0 <= share <= 1:
        raise ParameterError(f"share must be between 0 and 1, got {share}.")
    s = np.asarray(predicted, dtype=float)
    k = round(share * len(s))
    order = np.argsort(-s, kind="stable")
    pi = np.zeros(len(s))
    pi[order[:k]] = 1.0
    return pi


def qini_curve(
    frame: pd.DataFrame,
    cate: Hashable = "cate",
    points: int = 20,
    weight: Hashable | None = None,
    cluster: Hashable | None = "cluster",
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    estimator: str = "dr",
) -> pd.DataFrame:
    """Qini (uplift) curve: gain from treating the top share by predicted uplift, with bootstrap bands.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of ``insights.stats.uplift.dr_learner`` (plus a weight column if given).
    cate : hashable, default "cate"
        Predicted uplift column that ranks the rows.
    points : int, default 20
        Shares 0, 1/points, ..., 1.
    weight : hashable, optional
        Column weighting each row's outcome (e.g. ARR).
    cluster : hashable or None, default "cluster"
        Resampling unit of the bootstrap; None for rows.
    n_boot : int, default 200
        Bootstrap replicates (the ranking is held fixed).
    level : float, default 0.95
        Confidence level of the pointwise bands.
    seed : int, default 0
        Seed of the bootstrap.
    estimator : {"dr", "ipw"}
        Scores used.

    Returns
    -------
    pandas.DataFrame
        One row per share: share, gain (mean weighted gain per row of the population over treating
        no one), low, high (pointwise percentile band), random (share times the average effect),
        method. ``attrs["qini"]`` is the Interval of the area between the curve and the random line
        (trapezoid rule), bootstrap percentile.

    Raises
    ------
    ParameterError
        If ``points`` < 1, a column is missing, or ``level``/``n_boot`` is invalid.
    """
    check_level(level)
    if int(points) < 1:
        raise ParameterError(f"points must be at least 1, got {points}.")
    checked_columns(frame, [cate, weight])
    require_columns(frame, [cluster], "the scores table")
    s0, s1 = arm_scores(frame, estimator)
    w = frame[weight].to_numpy(dtype=float) if weight is not None else np.ones(len(frame))
    phi = w * (s1 - s0)
    shares = np.linspace(0, 1, int(points) + 1)
    ranked = np.argsort(-frame[cate].to_numpy(dtype=float), kind="stable")
    rank = np.empty(len(frame), dtype=int)
    rank[ranked] = np.arange(len(frame))
    cut = np.round(shares * len(frame)).astype(int)
    member = (rank[:, None] < cut[None, :]).astype(float)  # rows x shares
    clusters = frame[cluster].to_numpy() if cluster is not None else np.arange(len(frame))
    wb = cluster_bootstrap_counts(clusters, n_boot, seed).astype(float)
    total = wb.sum(1, keepdims=True)
    boot = (wb @ (member * phi[:, None])) / total
    boot_ate = (wb @ phi)[:, None] / total
    est = (member * phi[:, None]).mean(0)
    ate = phi.mean()
    low, high = percentile_band(boot, level)
    unit = "account" if cluster is not None else "row"
    band = f"{unit}-bootstrap percentile {level_label(level)} band (B={n_boot})"
    method = f"Qini curve on {estimator.upper()} scores, {band}"
    out = pd.DataFrame(
        {"share": shares, "gain": est, "low": low, "high": high, "random": shares * ate, "method": method}
    )
    area = np.trapezoid(est - shares * ate, shares)
    area_boot = np.trapezoid(boot - shares[None, :] * boot_ate, shares, axis=1)
    alo, ahi = percentile_band(area_boot[:, None], level)
    out.attrs["qini"] = Interval(
        float(area), float(alo[0]), float(ahi[0]), level, f"Qini coefficient (area over random), {band}"
    )
    return out
