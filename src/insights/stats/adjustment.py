"""Covariate adjustment of a continuous pilot outcome on a pre-period value (ANCOVA / CUPED).

Adjusting for a pre-period covariate (for example last year's utilisation when the
outcome is this year's) removes the part of the outcome variance the covariate explains,
so the same pilot gives a narrower interval. Under randomisation the adjusted estimator
is unbiased for the same effect as the plain difference in means.

ANCOVA fits y = b0 + tau * treated + beta * (x - mean(x)) by OLS and reports tau with an
HC2 (heteroskedasticity-consistent, leverage-corrected) standard error and a t reference
on n - 3 degrees of freedom. CUPED (Deng et al. 2013) subtracts theta * (x - mean(x)) from
y with theta = cov(y, x) / var(x) pooled over both arms, then compares means; its point
estimate equals ANCOVA's exactly when the arms have equal covariate means, and differs
from it by O(1/n) otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from insights.errors import ParameterError
from insights.stats.intervals import Interval, _as_values, mean_difference
from insights.stats.levels import check_level, level_label


@dataclass(frozen=True)
class AdjustedEffect:
    """Covariate-adjusted and unadjusted treatment effects on a continuous outcome.

    Attributes
    ----------
    adjusted : Interval
        ANCOVA treatment coefficient with its HC2 t interval.
    unadjusted : Interval
        Difference in means with Welch's t interval.
    variance_reduction : float
        1 - Var(adjusted estimator) / Var(unadjusted estimator), using the HC2 variance of
        the ANCOVA coefficient and the Welch (Neyman) variance s1^2/n1 + s0^2/n0 (which is
        the HC2 variance of the unadjusted regression). Negative when adjustment hurt.
    theta : float
        CUPED coefficient cov(y, x) / var(x), pooled over both arms.
    method : str
        What was computed.
    cuped_estimate : float
        The CUPED point estimate, for comparison with ``adjusted.estimate``.
    p_value : float
        Two-sided p-value of the adjusted effect (HC2 t test, n - 3 df).
    """

    adjusted: Interval
    unadjusted: Interval
    variance_reduction: float
    theta: float
    method: str
    cuped_estimate: float = math.nan
    p_value: float = math.nan


def _ancova_hc2(y: np.ndarray, treated: np.ndarray, covariate: np.ndarray):
    """OLS of y on [1, treated, centred covariate]: coefficient of treated, HC2 variance, df."""
    n = y.size
    xc = covariate - covariate.mean()
    design = np.column_stack([np.ones(n), treated, xc])
    q, r = np.linalg.qr(design)
    coef = np.linalg.solve(r, q.T @ y)
    resid = y - design @ coef
    leverage = (q * q).sum(axis=1)
    r_inv = np.linalg.inv(r)
    bread = r_inv @ r_inv.T  # (X'X)^-1
    omega = resid**2 / (1 - leverage)
    meat = (design * omega[:, None]).T @ design
    cov = bread @ meat @ bread
    return float(coef[1]), float(cov[1, 1]), n - 3


def ancova(y, treated, covariate, level: float = 0.95) -> AdjustedEffect:
    """Treatment effect on a continuous outcome adjusted for a pre-period covariate.

    Parameters
    ----------
    y : array-like of float
        Outcome per account (for example expansion ARR over the pilot).
    treated : array-like of bool or {0, 1}
        1 (True) for treatment accounts, 0 (False) for control.
    covariate : array-like of float
        The same measure before the pilot started, per account (must not be affected by
        the treatment).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    AdjustedEffect
        The ANCOVA effect (HC2 standard error, t on n - 3 df), the unadjusted Welch
        difference, the variance reduction, the CUPED theta and CUPED estimate.

    Raises
    ------
    ParameterError
        If the inputs differ in length, contain missing values, ``treated`` is not 0/1,
        an arm has fewer than 2 accounts, the covariate is constant, or the level is invalid.
    """
    check_level(level)
    y = _as_values(y, "y", min_n=4)
    x = _as_values(covariate, "covariate", min_n=4)
    try:
        d = np.asarray(treated, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError("treated must be a sequence of 0/1 or booleans") from None
    if not (y.size == x.size == d.size):
        raise ParameterError(f"y, treated and covariate must have the same length, got {y.size}, {d.size}, {x.size}")
    if np.isnan(d).any() or not np.isin(d, (0.0, 1.0)).all():
        raise ParameterError("treated must contain only 0/1 (or False/True)")
    n1, n0 = int(d.sum()), int((1 - d).sum())
    if n1 < 2 or n0 < 2:
        raise ParameterError(f"each arm needs at least 2 accounts, got treatment={n1}, control={n0}")
    if np.ptp(x) == 0:
        raise ParameterError("the covariate is constant, so it cannot adjust anything; drop the adjustment")

    y1, y0 = y[d == 1], y[d == 0]
    unadjusted, _ = mean_difference(y1, y0, level)
    var_unadj = y1.var(ddof=1) / n1 + y0.var(ddof=1) / n0

    tau, var_tau, df = _ancova_hc2(y, d, x)
    se = math.sqrt(var_tau)
    t_crit = float(stats.t.ppf(0.5 + level / 2, df))
    p_value = float(2 * stats.t.sf(abs(tau / se), df)) if se > 0 else math.nan
    pct = level_label(level)
    adjusted = Interval(
        tau,
        tau - t_crit * se,
        tau + t_crit * se,
        level,
        f"ANCOVA (OLS on treatment + centred pre-period covariate), HC2 standard error, t {pct} CI (df={df})",
    )

    theta = float(np.cov(y, x, ddof=1)[0, 1] / x.var(ddof=1))
    y_cuped = y - theta * (x - x.mean())
    cuped = float(y_cuped[d == 1].mean() - y_cuped[d == 0].mean())
    reduction = 1 - var_tau / var_unadj if var_unadj > 0 else math.nan
    method = (
        "ANCOVA with HC2 standard errors vs unadjusted Welch t; variance reduction = 1 - HC2 "
        "Var(adjusted) / Welch Var(unadjusted); theta = CUPED cov(y, x)/var(x) pooled over arms"
    )
    return AdjustedEffect(adjusted, unadjusted, float(reduction), theta, method, cuped, p_value)
