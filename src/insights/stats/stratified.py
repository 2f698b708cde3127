"""Stratified readout of a binary pilot outcome: Mantel-Haenszel, CMH, Breslow-Day, per stratum.

Pilots are randomised within segments (strata). The pooled effect is estimated with
Mantel-Haenszel weights, which stay valid with many small strata; each stratum is also
read out on its own, with p-values adjusted for multiplicity.

In each stratum the 2x2 table is ``[[a, b], [c, d]]`` with rows treatment / control
and columns success / failure, so odds ratios are odds of success, treatment over control.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from insights.errors import ParameterError
from insights.stats.intervals import Interval, TestResult, _check_count, compare_proportions, risk_difference
from insights.stats.levels import check_level, level_label, z_value
from insights.stats.table_checks import require_columns

ADJUST_METHODS = {"holm": "Holm step-down", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg FDR"}
REQUIRED_COLUMNS = ("stratum", "arm", "successes", "n")
ARMS = ("treatment", "control")


@dataclass(frozen=True)
class StratifiedResult:
    """Pooled and per-stratum readout of a stratified binary pilot.

    Attributes
    ----------
    odds_ratio : Interval
        Mantel-Haenszel common odds ratio (odds of success, treatment vs control) with the
        Robins-Breslow-Greenland interval.
    risk_difference : Interval
        Mantel-Haenszel weighted risk difference with Sato's (1989) variance.
    cmh : TestResult
        Cochran-Mantel-Haenszel test of no association, without continuity correction.
    breslow_day : TestResult
        Breslow-Day test of homogeneous odds ratios with Tarone's (1985) adjustment.
    per_stratum : pandas.DataFrame
        One row per stratum: stratum, n_treatment, n_control, p_treatment, p_control,
        difference, low, high, p_value, p_adjusted, method.
    strata_used : int
        Number of strata with both arms non-empty (the ones entering the pooled estimates).
    """

    odds_ratio: Interval
    risk_difference: Interval
    cmh: TestResult
    breslow_day: TestResult
    per_stratum: pd.DataFrame
    strata_used: int = 0


# ---------------------------------------------------------------------------- kernels


def _cmh(a, n1, c, n0, correction: bool = False):
    """CMH chi-square and p-value; arrays with strata on the last axis (n1, n0 > 0)."""
    a, n1, c, n0 = (np.asarray(v, dtype=float) for v in (a, n1, c, n0))
    n = n1 + n0
    m1 = a + c
    m0 = n - m1
    expected = (n1 * m1 / n).sum(axis=-1)
    var = (n1 * n0 * m1 * m0 / (n * n * (n - 1))).sum(axis=-1)
    dev = np.abs(a.sum(axis=-1) - expected)
    if correction:
        dev = np.maximum(dev - 0.5, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(var > 0, dev**2 / var, 0.0)
    return stat, stats.chi2.sf(stat, 1)


def _cmh_z(a, n1, c, n0):
    """Signed CMH z statistic (sum of a minus its null expectation, standardised); strata on the last axis."""
    a, n1, c, n0 = (np.asarray(v, dtype=float) for v in (a, n1, c, n0))
    n = n1 + n0
    m1 = a + c
    dev = a.sum(axis=-1) - (n1 * m1 / n).sum(axis=-1)
    var = (n1 * n0 * m1 * (n - m1) / (n * n * (n - 1))).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, dev / np.sqrt(var), 0.0)


def _mh_odds_ratio(a, n1, c, n0, z):
    """MH common odds ratio and Robins-Breslow-Greenland bounds (1-D arrays of strata)."""
    a, n1, c, n0 = (np.asarray(v, dtype=float) for v in (a, n1, c, n0))
    b, d, n = n1 - a, n0 - c, n1 + n0
    r, s = a * d / n, b * c / n
    p, q = (a + d) / n, (b + c) / n
    big_r, big_s = r.sum(), s.sum()
    if big_r == 0 or big_s == 0:
        estimate = 0.0 if big_r == 0 and big_s > 0 else (math.inf if big_s == 0 and big_r > 0 else math.nan)
        return estimate, math.nan, math.nan
    var = (p * r).sum() / (2 * big_r**2) + (p * s + q * r).sum() / (2 * big_r * big_s) + (q * s).sum() / (2 * big_s**2)
    log_or = math.log(big_r / big_s)
    se = math.sqrt(var)
    return big_r / big_s, math.exp(log_or - z * se), math.exp(log_or + z * se)


def _mh_risk_difference(a, n1, c, n0, z):
    """MH weighted risk difference with Sato's (1989) variance (1-D arrays of strata)."""
    a, n1, c, n0 = (np.asarray(v, dtype=float) for v in (a, n1, c, n0))
    n = n1 + n0
    w = (n1 * n0 / n).sum()
    rd = ((a * n0 - c * n1) / n).sum() / w
    p_term = ((n1**2 * c - n0**2 * a + n1 * n0 * (n0 - n1) / 2) / n**2).sum()
    q_term = ((a * (n0 - c) + c * (n1 - a)) / (2 * n)).sum()
    var = (rd * p_term + q_term) / w**2
    se = math.sqrt(max(var, 0.0))
    return rd, rd - z * se, rd + z * se


def _breslow_day(a, n1, c, n0, odds_ratio: float, tarone: bool = True):
    """Breslow-Day statistic (optionally Tarone-adjusted), p-value and df (1-D arrays)."""
    a, n1, c, n0 = (np.asarray(v, dtype=float) for v in (a, n1, c, n0))
    m1 = a + c
    lo = np.maximum(0.0, m1 - n0)
    hi = np.minimum(n1, m1)
    informative = hi > lo  # a degenerate margin fixes a: the stratum carries no information
    a, n1, n0, m1, lo, hi = (v[informative] for v in (a, n1, n0, m1, lo, hi))
    k = a.size
    if k < 2 or not np.isfinite(odds_ratio) or odds_ratio <= 0:
        return math.nan, math.nan, max(k - 1, 0)
    psi = odds_ratio
    # fitted a under the common odds ratio: psi (n1 - x)(m1 - x) = x (n0 - m1 + x)
    qa = 1 - psi
    qb = n0 - m1 + psi * (n1 + m1)
    qc = -psi * n1 * m1
    if abs(qa) < 1e-12:
        fitted = -qc / qb
    else:
        disc = np.sqrt(qb**2 - 4 * qa * qc)
        roots = np.stack([(-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)])
        ok = (roots >= lo - 1e-9) & (roots <= hi + 1e-9)
        fitted = np.where(ok[0], roots[0], roots[1])
    fb, fc = n1 - fitted, m1 - fitted
    fd = n0 - m1 + fitted
    var = 1 / (1 / fitted + 1 / fb + 1 / fc + 1 / fd)
    stat = float(((a - fitted) ** 2 / var).sum())
    if tarone:
        stat -= float((a.sum() - fitted.sum()) ** 2 / var.sum())
    return stat, float(stats.chi2.sf(stat, k - 1)), k - 1


# ------------------------------------------------------------------------ public api


def adjust_pvalues(p_values, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons.

    Parameters
    ----------
    p_values : array-like of float
        Raw p-values in [0, 1]; NaN entries are kept as NaN and not counted.
    method : {"holm", "bonferroni", "fdr_bh"}, default "holm"
        Holm's step-down procedure or Bonferroni (both control the family-wise error rate;
        Holm is uniformly more powerful) or Benjamini-Hochberg (controls the false discovery rate).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the input order.

    Raises
    ------
    ParameterError
        If the method is unknown or a p-value is outside [0, 1].
    """
    if method not in ADJUST_METHODS:
        raise ParameterError(f"adjust method must be one of {sorted(ADJUST_METHODS)}, got {method!r}")
    p = np.asarray(p_values, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    keep = ~np.isnan(p)
    pk = p[keep]
    if ((pk < 0) | (pk > 1)).any():
        raise ParameterError("p-values must lie in [0, 1]")
    m = pk.size
    if m == 0:
        return out
    order = np.argsort(pk, kind="mergesort")
    sorted_p = pk[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * sorted_p))
    elif method == "bonferroni":
        adj = np.minimum(1.0, m * sorted_p)
    else:
        adj = np.minimum.accumulate(np.minimum(1.0, m / rank * sorted_p)[::-1])[::-1]
    back = np.empty(m)
    back[order] = adj
    out[keep] = back
    return out


def _wide_counts(counts: pd.DataFrame) -> pd.DataFrame:
    require_columns(
        counts,
        list(REQUIRED_COLUMNS),
        what="counts",
        fix="Expected one row per (stratum, arm) with columns stratum, arm, successes, n.",
    )
    if counts.empty:
        raise ParameterError("counts has no rows")
    bad_arms = sorted(set(counts["arm"].astype(str)) - set(ARMS))
    if bad_arms:
        raise ParameterError(f"arm must be 'treatment' or 'control', found {bad_arms}")
    if counts[["stratum", "arm"]].isna().any().any():
        raise ParameterError("stratum and arm must not be missing")
    dup = counts.duplicated(["stratum", "arm"])
    if dup.any():
        first = counts.loc[dup, ["stratum", "arm"]].iloc[0].tolist()
        raise ParameterError(f"counts has more than one row for (stratum, arm) = {tuple(first)}; aggregate first")
    rows: dict[Hashable, dict[str, int]] = {}
    for stratum, arm_label, successes, total in zip(counts["stratum"], counts["arm"], counts["successes"], counts["n"]):
        arm = str(arm_label)
        if pd.isna(successes) or pd.isna(total):
            raise ParameterError(f"successes and n must not be missing (stratum {stratum!r}, {arm})")
        if total == 0 and successes == 0:
            x, n = 0, 0
        else:
            x, n = _check_count(successes, total, f"stratum {stratum!r}, {arm}")
        rows.setdefault(stratum, {"x1": 0, "n1": 0, "x0": 0, "n0": 0})
        key = "1" if arm == "treatment" else "0"
        rows[stratum]["x" + key], rows[stratum]["n" + key] = x, n
    wide = pd.DataFrame.from_dict(rows, orient="index")
    wide.index.name = "stratum"
    return wide


def _per_stratum(wide: pd.DataFrame, level: float, adjust: str) -> pd.DataFrame:
    """One row per stratum: arm sizes and rates, risk difference with its CI, test and adjusted p-value."""
    records = []
    for stratum, row in wide.iterrows():
        x1, n1, x0, n0 = int(row.x1), int(row.n1), int(row.x0), int(row.n0)
        rec = {
            "stratum": stratum,
            "n_treatment": n1,
            "n_control": n0,
            "p_treatment": x1 / n1 if n1 else np.nan,
            "p_control": x0 / n0 if n0 else np.nan,
        }
        if n1 == 0 or n0 == 0:
            empty = " and ".join(a for a, m in (("treatment", n1), ("control", n0)) if m == 0)
            d = low = high = p = np.nan
            method = f"not compared: the {empty} arm is empty (left out of the pooled estimates)"
        else:
            ci = risk_difference(x1, n1, x0, n0, level)
            test = compare_proportions(x1, n1, x0, n0)
            d, low, high, p, method = ci.estimate, ci.low, ci.high, test.p_value, f"{ci.method}; {test.method}"
        rec.update(difference=d, low=low, high=high, p_value=p, method=method)
        records.append(rec)
    per = pd.DataFrame.from_records(records)
    per["p_adjusted"] = adjust_pvalues(per["p_value"].to_numpy(), adjust)
    per = per[
        [
            "stratum",
            "n_treatment",
            "n_control",
            "p_treatment",
            "p_control",
            "difference",
            "low",
            "high",
            "p_value",
            "p_adjusted",
            "method",
        ]
    ]
    per.attrs["p_adjusted_method"] = ADJUST_METHODS[adjust]
    return per


def stratified_proportions(
    counts: pd.DataFrame, level: float = 0.95, adjust: str = "holm", correction: bool = False
) -> StratifiedResult:
    """Read out a binary outcome from a pilot randomised within strata.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per (stratum, arm) with columns ``stratum``, ``arm`` ("treatment" or
        "control"), ``successes`` and ``n``. A missing row or n = 0 means an empty arm:
        that stratum is kept in ``per_stratum`` with NaN and left out of the pooled
        estimates and tests.
    level : float, default 0.95
        Confidence level of every interval.
    adjust : {"holm", "bonferroni", "fdr_bh"}, default "holm"
        Multiplicity adjustment of the per-stratum p-values.
    correction : bool, default False
        Continuity correction of the CMH statistic (|sum a - sum E[a]| - 0.5, as R's
        ``mantelhaen.test(correct = TRUE)``); the method string says which.

    Returns
    -------
    StratifiedResult
        Pooled MH odds ratio and risk difference, CMH and Breslow-Day tests, and a
        per-stratum table (Newcombe interval for the difference, ``compare_proportions``
        for the p-value, in the order strata first appear in ``counts``).

    Raises
    ------
    ParameterError
        If columns are missing, an arm label is unknown, a (stratum, arm) appears twice,
        a count is invalid, the level or adjust method is invalid, or no stratum has both arms.
    """
    check_level(level)
    if adjust not in ADJUST_METHODS:
        raise ParameterError(f"adjust must be one of {sorted(ADJUST_METHODS)}, got {adjust!r}")
    wide = _wide_counts(counts)
    z = z_value(level)
    pct = level_label(level)

    per = _per_stratum(wide, level, adjust)

    used = wide[(wide.n1 > 0) & (wide.n0 > 0)]
    if used.empty:
        raise ParameterError(
            "no stratum has accounts in both arms, so nothing can be compared; check the arm labels and the assignment"
        )
    a, n1, c, n0 = (used[k].to_numpy(dtype=float) for k in ("x1", "n1", "x0", "n0"))
    k = len(used)
    or_est, or_low, or_high = _mh_odds_ratio(a, n1, c, n0, z)
    or_method = f"Mantel-Haenszel common odds ratio, Robins-Breslow-Greenland {pct} CI ({k} strata)"
    odds_ratio = Interval(float(or_est), float(or_low), float(or_high), level, or_method)
    rd_method = f"Mantel-Haenszel weighted risk difference, Sato (1989) variance, Wald {pct} CI ({k} strata)"
    rd, rd_low, rd_high = _mh_risk_difference(a, n1, c, n0, z)
    rdiff = Interval(float(rd), float(rd_low), float(rd_high), level, rd_method)
    stat, p = _cmh(a, n1, c, n0, correction)
    with_cc = "with continuity correction" if correction else "no continuity correction"
    cmh = TestResult(float(stat), float(p), f"Cochran-Mantel-Haenszel chi-square test, df=1, {with_cc} ({k} strata)")
    bd_stat, bd_p, df = _breslow_day(a, n1, c, n0, float(or_est), tarone=True)
    if math.isnan(bd_stat):
        bd_method = (
            "Breslow-Day test with Tarone's adjustment: not computed (needs >= 2 informative strata "
            "and a finite, positive common odds ratio)"
        )
    else:
        bd_method = f"Breslow-Day test of homogeneous odds ratios with Tarone's adjustment, df={df}"
    breslow = TestResult(bd_stat, bd_p, bd_method)
    return StratifiedResult(odds_ratio, rdiff, cmh, breslow, per, strata_used=k)
