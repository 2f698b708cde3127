"""Survival analysis on any table: Kaplan-Meier (optional entry times), log-rank, Cox with Harrell's C, PH check.

A survival table has one row per subject with a ``time`` (follow-up until the event or
censoring, >= 0), an ``event`` flag (1 = the event happened at ``time``, 0 = censored) and,
optionally, an ``entry`` time (left truncation: the subject is only observed from ``entry`` on, so
it joins the risk set after ``entry``; then ``time > entry``). Column names are parameters;
times are in whatever unit the table uses.

Engines: ``statsmodels.duration.survfunc.SurvfuncRight`` (Kaplan-Meier, Greenwood standard
errors), ``statsmodels.duration.survfunc.survdiff`` (log-rank) and
``statsmodels.duration.hazard_regression.PHReg`` (Cox). Every result names its method.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from insights.errors import ParameterError
from insights.stats.levels import check_level, level_label, z_value
from insights.stats.table_checks import binary_values, check_full_rank, numeric_values, require_columns


@dataclass(frozen=True)
class SurvivalData:
    """Checked arrays of a survival table (``survival_data``).

    Attributes
    ----------
    time, event : numpy.ndarray
        Follow-up time (float) and event flag (0.0 / 1.0).
    entry : numpy.ndarray or None
        Entry time (float), or None without left truncation.
    """

    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None


def survival_data(
    frame, time: Hashable, event: Hashable, entry: Hashable | None = None, extra: Sequence[Hashable] = ()
) -> SurvivalData:
    """Check a survival table and return its time, event and entry arrays.

    Parameters
    ----------
    frame : pandas.DataFrame
    time, event : hashable
        Follow-up time column (numeric, >= 0, no missing values) and event column (0/1).
    entry : hashable, optional
        Entry time column (numeric, >= 0, each strictly below its row's time).
    extra : sequence of hashable
        Further columns that must exist (a group, covariates).

    Returns
    -------
    SurvivalData

    Raises
    ------
    ParameterError
        If a column is missing, a time is not numeric or missing, a time or entry is negative,
        a time is not after its entry, or the event is not 0/1.
    """
    require_columns(frame, [time, event, entry, *extra], "the survival table")
    t = numeric_values(frame, [time])[:, 0]
    if (t < 0).any():
        rows = list(frame.index[t < 0][:5])
        raise ParameterError(
            f"column {time!r} has {int((t < 0).sum())} negative time(s) (rows {rows}); a follow-up "
            "time is a duration from the time origin: fix or drop those rows."
        )
    e = binary_values(frame, event, both=False)
    start = None
    if entry is not None:
        start = numeric_values(frame, [entry])[:, 0]
        if (start < 0).any():
            raise ParameterError(
                f"column {entry!r} has {int((start < 0).sum())} negative entry time(s); entry times "
                "are measured from the same origin as the times: fix or drop those rows."
            )
        late = t <= start
        if late.any():
            rows = list(frame.index[late][:5])
            raise ParameterError(
                f"{int(late.sum())} row(s) have {time!r} <= {entry!r} (rows {rows}); a subject must "
                f"be followed for some time after it enters: drop those rows or fix {entry!r}."
            )
    return SurvivalData(t, e, start)


def _loglog_band(surv: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI of S(t) on the log(-log) scale from the Greenwood standard error."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(surv)
        se_theta = se / (surv * np.abs(logs))
        low = surv ** np.exp(z * se_theta)
        high = surv ** np.exp(-z * se_theta)
    ok = (surv > 0) & (surv < 1) & np.isfinite(se_theta)
    return np.where(ok, low, surv), np.where(ok, high, surv)


def _at(times: np.ndarray, values: np.ndarray, t: float) -> float:
    """Step function value at ``t``: the last value at or before ``t`` (1 before the first time)."""
    i = np.searchsorted(times, t, side="right") - 1
    return 1.0 if i < 0 else float(values[i])


@dataclass
class KaplanMeier:
    """Kaplan-Meier survival curves and their summary (``kaplan_meier``).

    Attributes
    ----------
    curves : pandas.DataFrame
        [group column,] time, survival, low, high, at_risk: a first row at time 0 with survival
        1 (at_risk NaN), then one row per distinct event time with S(t), its pointwise CI and
        the number at risk just before t.
    summary : pandas.DataFrame
        One row per group (index named after the group column; a single row ``"all"`` without
        groups): n, events, median_time (first time with S(t) <= 0.5, up to 1e-12 of rounding;
        NaN if S never falls that low), ``survival_<h>``, ``survival_<h>_low``, ``survival_<h>_high`` for every horizon
        ``h`` (NaN after the group's last observed time), method.
    method : str
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    method: str


def kaplan_meier(
    frame,
    time: Hashable,
    event: Hashable,
    entry: Hashable | None = None,
    group: Hashable | None = None,
    horizons: Sequence[float] = (),
    level: float = 0.95,
) -> KaplanMeier:
    """Kaplan-Meier estimate of S(t), with or without entry times, per group, at any horizons.

    The product-limit estimate of ``statsmodels.duration.survfunc.SurvfuncRight`` with Greenwood
    standard errors; the pointwise interval is computed on the log(-log S) scale (it stays within
    [0, 1]). With ``entry``, a subject counts in the risk set at ``t`` only when
    ``entry < t <= time`` (left truncation). Rows with time 0 are allowed without ``entry``: an
    event at time 0 lowers S(0).

    Parameters
    ----------
    frame : pandas.DataFrame
        The survival table (see ``survival_data``).
    time, event : hashable
        Follow-up time and event (0/1) columns.
    entry : hashable, optional
        Entry time column (left truncation).
    group : hashable, optional
        Column whose values get one curve each (sorted).
    horizons : sequence of float
        Times at which to report S(t) with its interval, e.g. ``(12, 24)``.
    level : float
        Confidence level of the pointwise intervals.

    Returns
    -------
    KaplanMeier

    Raises
    ------
    ParameterError
        As ``survival_data``; also if the group column has missing values, a horizon is
        negative, or ``level`` is not strictly between 0 and 1.
    """
    check_level(level)
    data = survival_data(frame, time, event, entry, [group] if group is not None else [])
    horizons = [float(h) for h in horizons]
    if any(h < 0 for h in horizons):
        raise ParameterError(f"horizons must be >= 0, got {horizons}.")
    if group is not None and frame[group].isna().any():
        raise ParameterError(
            f"group column {group!r} has {int(frame[group].isna().sum())} missing value(s): fill or drop them."
        )
    z = z_value(level)
    method = (
        f"Kaplan-Meier{' with left truncation' if entry is not None else ''}; pointwise {level_label(level)} CI, "
        "log-log, Greenwood SE"
    )
    labels = frame[group].to_numpy() if group is not None else np.full(len(frame), "all", dtype=object)
    name = group if group is not None else "group"
    curves, rows = [], []
    for g in sorted(pd.unique(labels)):
        m = labels == g
        sf = SurvfuncRight(data.time[m], data.event[m], entry=None if data.entry is None else data.entry[m])
        t, s, se = sf.surv_times, sf.surv_prob, sf.surv_prob_se
        low, high = _loglog_band(s, se, z)
        curve = pd.DataFrame(
            {
                "time": np.r_[0.0, t],
                "survival": np.r_[1.0, s],
                "low": np.r_[1.0, low],
                "high": np.r_[1.0, high],
                "at_risk": np.r_[np.nan, sf.n_risk],
            }
        )
        if group is not None:
            curve.insert(0, group, g)
        curves.append(curve)
        rec = {name: g, "n": int(m.sum()), "events": int(data.event[m].sum())}
        below = np.flatnonzero(s <= 0.5 + 1e-12)  # S(t) = 1/2 exactly, up to rounding, counts
        rec["median_time"] = float(t[below[0]]) if len(below) else np.nan
        last = data.time[m].max()
        for h in horizons:
            inside = h <= last
            rec[f"survival_{h:g}"] = _at(t, s, h) if inside else np.nan
            rec[f"survival_{h:g}_low"] = _at(t, low, h) if inside else np.nan
            rec[f"survival_{h:g}_high"] = _at(t, high, h) if inside else np.nan
        rows.append(rec)
    summary = pd.DataFrame(rows).set_index(name)
    summary["method"] = method
    return KaplanMeier(pd.concat(curves, ignore_index=True), summary, method)


def log_rank(frame, time: Hashable, event: Hashable, group: Hashable, entry: Hashable | None = None) -> dict:
    """Log-rank test that every group has the same survival (statsmodels ``survdiff``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The survival table.
    time, event, group : hashable
        Follow-up time, event (0/1) and group columns.
    entry : hashable, optional
        Entry time column (left truncation: risk sets as in ``kaplan_meier``).

    Returns
    -------
    dict
        statistic (chi-square), df (groups - 1), p, method.

    Raises
    ------
    ParameterError
        As ``survival_data``; also if the group column has missing values or a single group,
        or no row has the event.
    """
    data = survival_data(frame, time, event, entry, [group])
    labels = frame[group]
    if labels.isna().any():
        raise ParameterError(
            f"group column {group!r} has {int(labels.isna().sum())} missing value(s): fill or drop them."
        )
    k = labels.nunique()
    if k < 2:
        raise ParameterError(
            f"group column {group!r} holds a single group ({labels.iloc[0]!r} only); the log-rank "
            "test compares two or more groups."
        )
    if data.event.sum() == 0:
        raise ParameterError(f"no row has the event ({event!r} is all 0): the log-rank test needs events.")
    stat, p = survdiff(data.time, data.event, labels.to_numpy(), entry=data.entry)
    return {
        "statistic": float(stat),
        "df": int(k - 1),
        "p": float(p),
        "method": "log-rank chi-square test (statsmodels survdiff)" + (", left-truncated" if entry is not None else ""),
    }


# --------------------------------------------------------------------------- Cox model


def harrell_c(time, event, risk) -> float:
    """Harrell's concordance index of a risk score (higher risk = earlier event).

    A pair is comparable when the subject with the shorter time had the event at that time (or
    both times are equal and only it had the event); it is concordant when that subject has
    the higher risk, and counts one half when the risks are equal. The pairs are counted in
    O(n log n): subjects enter a Fenwick tree over the risk ranks from the latest time to the
    earliest, and each event is compared with the subjects already in it (later times) and with
    the subjects without an event at its own time. Counts are whole numbers, so the result is
    exactly the all-pairs count's.

    Parameters
    ----------
    time, event, risk : array-like
        Follow-up time, event flag (0/1 or bool) and risk score, one per subject.

    Returns
    -------
    float
        C in [0, 1] (0.5 = no better than chance); NaN when no pair is comparable.

    Raises
    ------
    ParameterError
        If the three arrays differ in length, or a time or risk is missing.
    """
    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    r = np.asarray(risk, float)
    if not (len(t) == len(e) == len(r)):
        raise ParameterError("time, event and risk must have the same length.")
    if np.isnan(t).any() or np.isnan(r).any():
        raise ParameterError("time and risk must have no missing values: drop those subjects first.")
    order = np.argsort(-t, kind="stable")  # latest first
    t, e = t[order], e[order]
    rank = np.unique(r, return_inverse=True)[1].reshape(-1)[order] + 1  # 1 = lowest risk
    tree = np.zeros(int(rank.max(initial=0)) + 1, dtype=np.int64)
    twice_num = den = entered = 0  # twice the concordant count: ties count one
    starts = np.r_[0, np.flatnonzero(np.diff(t)) + 1]
    for a, b in zip(starts, np.r_[starts[1:], len(t)]):
        events, others = rank[a:b][e[a:b]], rank[a:b][~e[a:b]]
        if len(events):
            below, upto = _fenwick_prefix(tree, events - 1), _fenwick_prefix(tree, events)
            twice_num += int(2 * below.sum() + (upto - below).sum())
            den += entered * len(events)
            same_time = np.sort(others)
            below = np.searchsorted(same_time, events, side="left")
            upto = np.searchsorted(same_time, events, side="right")
            twice_num += int(2 * below.sum() + (upto - below).sum())
            den += len(others) * len(events)
        _fenwick_add(tree, rank[a:b])
        entered += b - a
    return float((twice_num / 2) / den) if den else np.nan


def _fenwick_prefix(tree: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sum of the counts at positions 1..idx of a Fenwick tree, for each entry of ``idx``."""
    out = np.zeros(len(idx), dtype=np.int64)
    idx = idx.copy()
    while (idx > 0).any():
        out += tree[idx]  # tree[0] stays 0
        idx -= idx & -idx
    return out


def _fenwick_add(tree: np.ndarray, idx: np.ndarray) -> None:
    """Add one at each position of ``idx`` (repeats add several) to a Fenwick tree."""
    idx = idx.copy()
    while len(idx):
        np.add.at(tree, idx, 1)
        idx = idx + (idx & -idx)
        idx = idx[idx < len(tree)]


def ph_check(result, time, event, covariates: Sequence[Hashable]) -> pd.DataFrame:
    """Proportional-hazards check: scaled Schoenfeld residuals against log time (Grambsch-Therneau, per covariate).

    Scaled residuals are ``d * r V + beta`` (``d`` events, ``V`` the coefficient covariance);
    under proportional hazards they do not trend with time. Reported per covariate: Pearson
    correlation with log time over the events (at times > 0) and its p-value; ``ok`` when
    p >= 0.05.

    Parameters
    ----------
    result : statsmodels PHRegResults
        A fitted Cox model.
    time, event : array-like
        Follow-up times (> 0 at the events) and event flags of the fitted rows.
    covariates : sequence of hashable
        Covariate names, in the model's order.

    Returns
    -------
    pandas.DataFrame
        Index covariate: rho, p, ok, method (NaN rho and p with fewer than three events).
    """
    r = np.asarray(result.schoenfeld_residuals)
    t = np.asarray(time, float)
    keep = np.asarray(event, bool) & np.isfinite(r).all(axis=1) & (t > 0)
    d = int(keep.sum())
    scaled = d * r[keep] @ np.asarray(result.cov_params()) + np.asarray(result.params)
    lt = np.log(t[keep])
    recs = []
    for j, name in enumerate(covariates):
        rho, p = stats.pearsonr(scaled[:, j], lt) if d > 2 else (np.nan, np.nan)
        recs.append({"covariate": name, "rho": float(rho), "p": float(p), "ok": bool(p >= 0.05)})
    out = pd.DataFrame(recs).set_index("covariate")
    out["method"] = "Pearson correlation of scaled Schoenfeld residuals with log time (Grambsch-Therneau)"
    return out


def cox_partial_loglik(beta, time, event, X) -> float:
    """Cox partial log-likelihood with Breslow ties, written out directly (an independent check of PHReg).

    Parameters
    ----------
    beta : array-like
        Coefficients, one per column of ``X``.
    time, event : array-like
        Follow-up times and event flags.
    X : array-like
        Covariates, one row per subject.

    Returns
    -------
    float
        ``sum over events i of (x_i beta - log sum_{j: t_j >= t_i} exp(x_j beta))``.
    """
    X = np.asarray(X, float).reshape(len(time), -1)
    eta = X @ np.atleast_1d(np.asarray(beta, float))
    total = 0.0
    for i in np.flatnonzero(np.asarray(event, bool)):
        at_risk = np.asarray(time) >= time[i]
        total += eta[i] - np.log(np.sum(np.exp(eta[at_risk])))
    return float(total)


@dataclass
class CoxResult:
    """Cox proportional-hazards fit (``cox_ph``).

    Attributes
    ----------
    table : pandas.DataFrame
        Index covariate: coef, se, hazard_ratio, hr_low, hr_high (Wald CI), p, method.
    c_index : float
        Harrell's C of the linear predictor on the fitted rows (entry times are not used by C).
    ph_check : pandas.DataFrame
        See ``ph_check``.
    n, events : int
        Rows and events fitted.
    result : statsmodels PHRegResults
    """

    table: pd.DataFrame
    c_index: float
    ph_check: pd.DataFrame
    n: int
    events: int
    result: object


def cox_ph(
    frame,
    time: Hashable,
    event: Hashable,
    covariates: Sequence[Hashable],
    entry: Hashable | None = None,
    ties: str = "breslow",
    level: float = 0.95,
) -> CoxResult:
    """Cox proportional hazards (statsmodels ``PHReg``) with hazard ratios, Harrell's C and the PH check.

    Parameters
    ----------
    frame : pandas.DataFrame
        The survival table with the covariates (numeric; encode categories as 0/1 columns).
    time, event : hashable
        Follow-up time and event (0/1) columns.
    covariates : sequence of hashable
        Covariate columns.
    entry : hashable, optional
        Entry time column (left truncation: risk sets as in ``kaplan_meier``).
    ties : str
        ``"breslow"`` or ``"efron"``.
    level : float
        Confidence level of the Wald intervals of the hazard ratios.

    Returns
    -------
    CoxResult

    Raises
    ------
    ParameterError
        As ``survival_data``; also if no covariate is given, a covariate is not numeric, has
        missing values, is constant or exactly collinear with others, there are fewer events
        than covariates + 1 (at least 2), ``ties`` is unknown or ``level`` is not strictly
        between 0 and 1.
    """
    check_level(level)
    covariates = list(covariates)
    if not covariates:
        raise ParameterError("give at least one covariate column for the Cox model.")
    if ties not in ("breslow", "efron"):
        raise ParameterError(f"ties must be 'breslow' or 'efron', got {ties!r}.")
    data = survival_data(frame, time, event, entry, covariates)
    X = numeric_values(frame, covariates)
    check_full_rank(X, covariates, "covariate")
    events = int(data.event.sum())
    if events < max(2, len(covariates) + 1):
        raise ParameterError(
            f"only {events} event(s) for {len(covariates)} covariate(s): a Cox model needs more "
            "events than covariates; use fewer covariates or more data."
        )
    res = PHReg(data.time, X, status=data.event, entry=data.entry, ties=ties).fit()
    ci = res.conf_int(alpha=1 - level)
    table = pd.DataFrame(
        {
            "coef": res.params,
            "se": res.bse,
            "hazard_ratio": np.exp(res.params),
            "hr_low": np.exp(ci[:, 0]),
            "hr_high": np.exp(ci[:, 1]),
            "p": res.pvalues,
        },
        index=pd.Index(covariates, name="covariate"),
    )
    table["method"] = (
        f"Cox PH (statsmodels PHReg, {ties} ties{', left-truncated' if entry is not None else ''}), "
        f"Wald {level_label(level)} CI"
    )
    c = harrell_c(data.time, data.event, X @ res.params)
    return CoxResult(table, c, ph_check(res, data.time, data.event.astype(bool), covariates), len(frame), events, res)
