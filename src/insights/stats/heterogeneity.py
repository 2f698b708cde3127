"""Is there heterogeneity in a treatment effect, and where? BLP, GATES and CLAN on DR scores.

These follow Chernozhukov, Demirer, Duflo and Fernández-Val ("Generic machine learning inference
on heterogeneous treatment effects in randomized experiments"), in their doubly robust score
form: given a per-row DR pseudo-outcome (``score``, whose mean given the covariates is the
conditional effect) and a predicted uplift that did not see the row's outcome (``cate``),

* **BLP**, the best linear projection of the true effect on the prediction: the regression
  ``score = b1 + b2 (cate - mean cate)``; ``b1`` is the average effect, and ``b2 = 0`` means the
  prediction carries no heterogeneity (``b2 = 1`` means it is well calibrated);
* **GATES**, the average effect within quantile groups of the prediction (the group mean of the
  score), with cluster-bootstrap intervals and the test of most minus least responsive group;
* **CLAN**, how the most and the least responsive groups differ in their covariates.

Column names are parameters; nothing here knows our tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from insights.errors import ParameterError
from insights.stats.bootstrap import cluster_bootstrap_counts
from insights.stats.intervals import Interval, TestResult, mean_difference
from insights.stats.levels import check_level, level_label, z_value
from insights.stats.table_checks import numeric_values, require_columns


def checked_columns(frame: pd.DataFrame, columns: Sequence[Hashable | None]) -> None:
    """Check that the named columns (``None`` skipped) exist and are numeric without missing values.

    Parameters
    ----------
    frame : pandas.DataFrame
        The user's table.
    columns : sequence of hashable or None
        Columns a statistic reads.

    Raises
    ------
    ParameterError
        Naming the missing, non-numeric or incomplete columns.
    """
    named = [c for c in columns if c is not None]
    require_columns(frame, named, "the scores table")
    numeric_values(frame, named)


def robust_ols(y: np.ndarray, x: np.ndarray, clusters=None) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients with a heteroskedasticity-robust (HC1) or cluster-robust (CR1) covariance.

    Parameters
    ----------
    y : numpy.ndarray
        Outcome, shape (n,).
    x : numpy.ndarray
        Design matrix with its intercept column, shape (n, k), full column rank.
    clusters : array-like, optional
        Cluster of each row; default: each row its own (HC1).

    Returns
    -------
    beta : numpy.ndarray
        Coefficients, shape (k,).
    cov : numpy.ndarray
        Their covariance, shape (k, k): HC1 ``n/(n-k)`` or CR1 ``G/(G-1) (n-1)/(n-k)`` small-sample factor.

    Raises
    ------
    ParameterError
        If the design is rank deficient (e.g. a constant prediction) or has fewer rows than columns + 1.
    """
    n, k = x.shape
    if n <= k or np.linalg.matrix_rank(x) < k:
        raise ParameterError(
            "the regression design is rank deficient (a constant predicted uplift, or too few rows): "
            "the heterogeneity test needs predictions that vary."
        )
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    u = y - x @ beta
    if clusters is None:
        meat = (x * u[:, None]).T @ (x * u[:, None])
        factor = n / (n - k)
    else:
        codes, uniq = pd.factorize(pd.Series(clusters), sort=True)
        sums = np.zeros((len(uniq), k))
        np.add.at(sums, codes, x * u[:, None])
        meat = sums.T @ sums
        g = len(uniq)
        factor = g / (g - 1) * (n - 1) / (n - k)
    return beta, factor * bread @ meat @ bread


@dataclass(frozen=True)
class LinearProjection:
    """Best linear projection of the effect on the predicted uplift.

    Attributes
    ----------
    average : Interval
        ``b1``, the average effect.
    loading : Interval
        ``b2``, the heterogeneity loading (0 = no heterogeneity the prediction can find, 1 = calibrated).
    test : TestResult
        Two-sided test of ``b2 = 0``.
    """

    average: Interval
    loading: Interval
    test: TestResult


def best_linear_projection(
    frame: pd.DataFrame,
    score: Hashable = "score",
    cate: Hashable = "cate",
    cluster: Hashable | None = None,
    level: float = 0.95,
) -> LinearProjection:
    """Best linear projection (BLP) of the treatment effect on the predicted uplift, with its test.

    Regresses the DR pseudo-outcome on ``1`` and the centred prediction; robust standard errors.

    Parameters
    ----------
    frame : pandas.DataFrame
        E.g. the output of ``insights.stats.uplift.dr_learner``.
    score : hashable, default "score"
        DR pseudo-outcome column.
    cate : hashable, default "cate"
        Predicted uplift column (cross-fitted).
    cluster : hashable, optional
        Cluster column for cluster-robust (CR1) errors; default heteroskedasticity-robust (HC1).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    LinearProjection
        Average effect and heterogeneity loading with normal intervals, and the z-test of ``b2 = 0``.

    Raises
    ------
    ParameterError
        If a column is missing or has missing values, the prediction is constant, or ``level`` is invalid.
    """
    check_level(level)
    checked_columns(frame, [score, cate])
    require_columns(frame, [cluster], "the scores table")
    s = frame[cate].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(s)), s - s.mean()])
    beta, cov = robust_ols(frame[score].to_numpy(dtype=float), x, None if cluster is None else frame[cluster])
    se = np.sqrt(np.diag(cov))
    z = z_value(level)
    kind = "HC1" if cluster is None else "cluster-robust CR1"
    method = f"BLP on DR scores, {kind} normal {level_label(level)} CI"
    ivs = [Interval(float(b), float(b - z * e), float(b + z * e), level, method) for b, e in zip(beta, se)]
    stat = float(beta[1] / se[1])
    test = TestResult(stat, float(2 * stats.norm.sf(abs(stat))), f"BLP heterogeneity loading = 0, {kind} z-test")
    return LinearProjection(ivs[0], ivs[1], test)


def uplift_groups(predicted, groups: int) -> np.ndarray:
    """Quantile group of each row by its predicted uplift: 1 = least responsive, ``groups`` = most.

    Parameters
    ----------
    predicted : array-like of float
        Predicted uplift per row.
    groups : int
        Number of groups (at least 2, at most the number of rows).

    Returns
    -------
    numpy.ndarray
        Group number 1..groups per row (equal-sized groups by rank; ties broken by row order).

    Raises
    ------
    ParameterError
        If ``groups`` is out of range.
    """
    s = pd.Series(np.asarray(predicted, dtype=float))
    if not 2 <= groups <= len(s):
        raise ParameterError(f"groups must be between 2 and the number of rows ({len(s)}), got {groups}.")
    return pd.qcut(s.rank(method="first"), groups, labels=False).to_numpy() + 1


def percentile_band(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap bounds of each column of ``draws``.

    Parameters
    ----------
    draws : numpy.ndarray
        Replicates x statistics (NaN replicates ignored).
    level : float
        Confidence level.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper ``(1 -/+ level) / 2`` quantiles per column.
    """
    return np.nanquantile(draws, (1 - level) / 2, axis=0), np.nanquantile(draws, (1 + level) / 2, axis=0)


def gates(
    frame: pd.DataFrame,
    score: Hashable = "score",
    cate: Hashable = "cate",
    groups: int = 5,
    cluster: Hashable | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Group average treatment effects (GATES) by quantile group of the predicted uplift.

    Each group's effect is the mean of the DR pseudo-outcome in the group; the groups are fixed by
    the (cross-fitted) prediction and the rows are resampled by cluster.

    Parameters
    ----------
    frame : pandas.DataFrame
        E.g. the output of ``insights.stats.uplift.dr_learner``.
    score, cate : hashable
        DR pseudo-outcome and predicted-uplift columns.
    groups : int, default 5
        Number of quantile groups.
    cluster : hashable, optional
        Resampling unit of the bootstrap (e.g. account id); default each row.
    n_boot : int, default 200
        Bootstrap replicates.
    level : float, default 0.95
        Confidence level.
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per group (1 = least responsive): group, n, predicted (mean predicted uplift),
        estimate, low, high, method. ``attrs["difference"]`` is the Interval of the most minus the
        least responsive group and ``attrs["test"]`` its TestResult (bootstrap-SE z-test of no difference).

    Raises
    ------
    ParameterError
        If a column is missing or has missing values, or ``groups``, ``n_boot`` or ``level`` is invalid.
    """
    check_level(level)
    checked_columns(frame, [score, cate])
    require_columns(frame, [cluster], "the scores table")
    phi = frame[score].to_numpy(dtype=float)
    g = uplift_groups(frame[cate], groups)
    member = (g[:, None] == np.arange(1, groups + 1)[None, :]).astype(float)
    clusters = frame[cluster].to_numpy() if cluster is not None else np.arange(len(frame))
    w = cluster_bootstrap_counts(clusters, n_boot, seed).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (w @ (member * phi[:, None])) / (w @ member)
    est = (member * phi[:, None]).sum(0) / member.sum(0)
    low, high = percentile_band(boot, level)
    unit = "account" if cluster is not None else "row"
    method = f"GATES on DR scores, {unit}-bootstrap percentile {level_label(level)} CI (B={n_boot})"
    out = pd.DataFrame(
        {
            "group": np.arange(1, groups + 1),
            "n": member.sum(0).astype(int),
            "predicted": (member * frame[cate].to_numpy(dtype=float)[:, None]).sum(0) / member.sum(0),
            "estimate": est,
            "low": low,
            "high": high,
            "method": method,
        }
    )
    diff_draws = boot[:, -1] - boot[:, 0]
    d = float(est[-1] - est[0])
    dlo, dhi = percentile_band(diff_draws[:, None], level)
    out.attrs["difference"] = Interval(
        d, float(dlo[0]), float(dhi[0]), level, f"most minus least responsive group, {method.split(', ', 1)[1]}"
    )
    se = float(np.nanstd(diff_draws, ddof=1))
    stat = d / se if se > 0 else float("nan")
    out.attrs["test"] = TestResult(
        stat, float(2 * stats.norm.sf(abs(stat))), f"GATES most = least responsive, {unit}-bootstrap SE z-test"
    )
    return out


def clan(
    frame: pd.DataFrame,
    covariates: Sequence[Hashable],
    cate: Hashable = "cate",
    groups: int = 5,
    level: float = 0.95,
) -> pd.DataFrame:
    """Classification analysis (CLAN): covariate means of the most and the least responsive groups.

    Parameters
    ----------
    frame : pandas.DataFrame
        Covariates and the predicted uplift, one row per unit.
    covariates : sequence of hashable
        Numeric columns to compare.
    cate : hashable, default "cate"
        Predicted uplift column.
    groups : int, default 5
        Number of quantile groups (as in ``gates``); the top and the bottom group are compared.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per covariate: covariate, most (mean in the most responsive group), least, difference,
        low, high (Welch t interval of most minus least), p_value (Welch t test), method.

    Raises
    ------
    ParameterError
        If a column is missing, has missing values, or a group has fewer than 2 rows.
    """
    check_level(level)
    checked_columns(frame, [cate, *covariates])
    g = uplift_groups(frame[cate], groups)
    rows = []
    for c in covariates:
        v = frame[c].to_numpy(dtype=float)
        top, bottom = v[g == groups], v[g == 1]
        if np.ptp(np.concatenate([top, bottom])) == 0:
            iv = Interval(0.0, 0.0, 0.0, level, "constant in both groups")
            test = TestResult(float("nan"), 1.0, "constant in both groups")
        else:
            iv, test = mean_difference(top, bottom, level)
        rows.append(
            {
                "covariate": c,
                "most": float(top.mean()),
                "least": float(bottom.mean()),
                "difference": iv.estimate,
                "low": iv.low,
                "high": iv.high,
                "p_value": test.p_value,
                "method": f"CLAN, most minus least responsive of {groups} groups: {iv.method}",
            }
        )
    return pd.DataFrame(rows)
