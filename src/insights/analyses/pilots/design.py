"""Pilot design: baselines from history, sample size, power and MDE, and the renewal calendar.

A renewal pilot can only show an outcome for accounts whose renewal falls inside
the pilot window, so the accounts actually available — not a wished-for sample
size — decide what a pilot can detect and how long it must run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.power import TTestIndPower

from insights.analyses.renewals.churn_rate import trailing_churn
from insights.analyses.segments import rules as segments
from insights.data.loading import Tables
from insights.errors import ParameterError
from insights.metrics.periods import quarter_of
from insights.stats.rates import TOTAL

POWER_METHOD = "two-sided test of two proportions, normal approximation (as R power.prop.test)"


def _check_prob(name: str, p: float) -> None:
    if not 0 < p < 1:
        raise ParameterError(f"{name} must be a probability strictly between 0 and 1, got {p}.")


def _check_alpha_power(alpha: float, power: float) -> None:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ParameterError(f"alpha and power must be between 0 and 1, got alpha={alpha}, power={power}.")


def power_proportions(n: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Power of a two-sided two-sample test of proportions with ``n`` accounts per arm.

    Normal approximation with the null variance from the average proportion: the
    formula of R's ``power.prop.test`` (``strict = FALSE``).

    Parameters
    ----------
    n : float
        Accounts per arm.
    p1, p2 : float
        The two proportions, strictly between 0 and 1.
    alpha : float
        Two-sided significance level.

    Returns
    -------
    float
        Power, between 0 and 1.

    Raises
    ------
    ParameterError
        If a proportion or ``alpha`` is not strictly between 0 and 1.
    """
    _check_prob("p1", p1)
    _check_prob("p2", p2)
    _check_alpha_power(alpha, 0.5)
    qa = stats.norm.isf(alpha / 2)
    q1, q2 = 1 - p1, 1 - p2
    d = abs(p1 - p2)
    return float(
        stats.norm.cdf((np.sqrt(n * d * d) - qa * np.sqrt((p1 + p2) * (q1 + q2) / 2)) / np.sqrt(p1 * q1 + p2 * q2))
    )


def sample_size_proportions(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Accounts per arm to detect ``p1`` against ``p2`` (two-sided), as R's ``power.prop.test``.

    Returns the exact (fractional) solution; round up for a plan.

    Parameters
    ----------
    p1, p2 : float
        The two proportions, strictly between 0 and 1.
    alpha : float
        Two-sided significance level.
    power : float
        Target power.

    Returns
    -------
    float
        Accounts per arm (fractional).

    Raises
    ------
    ParameterError
        If a probability is outside (0, 1) or ``p1 == p2``.
    """
    _check_prob("p1", p1)
    _check_prob("p2", p2)
    _check_alpha_power(alpha, power)
    if p1 == p2:
        raise ParameterError("p1 and p2 must differ: a zero effect needs an infinite sample.")
    qa, qb = stats.norm.isf(alpha / 2), stats.norm.ppf(power)
    q1, q2 = 1 - p1, 1 - p2
    num = qa * np.sqrt((p1 + p2) * (q1 + q2) / 2) + qb * np.sqrt(p1 * q1 + p2 * q2)
    return float((num / abs(p1 - p2)) ** 2)


def mde_proportions(n: float, p_control: float, alpha: float = 0.05, power: float = 0.8, direction: int = 1) -> float:
    """Smallest difference in proportions detectable with ``n`` accounts per arm.

    Parameters
    ----------
    n : float
        Accounts per arm.
    p_control : float
        Rate in the control arm.
    direction : int
        +1 for an increase from ``p_control`` (e.g. a higher renewal rate), -1 for a decrease.

    Returns
    -------
    float
        The absolute difference; ``nan`` if no change within (0, 1) is detectable.
    """
    _check_prob("p_control", p_control)
    _check_alpha_power(alpha, power)
    if n <= 1:
        return float("nan")
    hi = ((1 - p_control) if direction > 0 else p_control) - 1e-9

    def gap(d):
        return power_proportions(n, p_control, p_control + direction * d, alpha) - power

    if gap(hi) < 0:
        return float("nan")
    return float(optimize.brentq(gap, 1e-9, hi, xtol=1e-12))


def sample_size_means(mde: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Accounts per arm to detect a difference in means of ``mde`` (two-sided t test, statsmodels).

    Parameters
    ----------
    mde : float
        Difference in means to detect (positive).
    sd : float
        Common standard deviation (positive).
    alpha : float
        Two-sided significance level.
    power : float
        Target power.

    Returns
    -------
    float
        Accounts per arm (fractional; round up for a plan).

    Raises
    ------
    ParameterError
        If ``mde`` or ``sd`` is not positive, or ``alpha`` or ``power`` is not strictly between 0
        and 1.
    """
    _check_alpha_power(alpha, power)
    if mde <= 0 or sd <= 0:
        raise ParameterError("mde and sd must be positive.")
    return float(TTestIndPower().solve_power(effect_size=mde / sd, alpha=alpha, power=power, ratio=1.0))


def mde_means(n: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest difference in means detectable with ``n`` accounts per arm (two-sided t test).

    Parameters
    ----------
    n : float
        Accounts per arm.
    sd : float
        Common standard deviation.
    alpha : float
        Two-sided significance level.
    power : float
        Target power.

    Returns
    -------
    float
        The detectable difference in means; ``nan`` for fewer than 2 accounts per arm.

    Raises
    ------
    ParameterError
        If ``alpha`` or ``power`` is not strictly between 0 and 1.
    """
    _check_alpha_power(alpha, power)
    if n < 2:
        return float("nan")
    return float(TTestIndPower().solve_power(nobs1=n, alpha=alpha, power=power, ratio=1.0) * sd)


def renewal_baselines(tables: Tables, as_of, grace_days: int, quarters: int = 4) -> pd.DataFrame:
    """Historical renewal rate per contract-value segment over the last ``quarters`` complete quarters.

    The report's one churn rate read as renewals (``insights.analyses.renewals.churn_rate``):
    terms due in the last ``quarters`` quarters whose renewals are all settled at ``as_of``; the
    segment is the tier of the term's own ARR.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    as_of : date-like
        Outcomes are read as known on this day.
    grace_days : int
        Grace period of the churn definition.
    quarters : int
        Complete quarters of history.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment (every tier, then ``TOTAL``): renewals, renewed, rate, low, high,
        method (Wilson score interval; NaN rate without renewals), with ``attrs["window"]`` the
        quarters counted (e.g. ``"2025Q3 to 2026Q2"``).
    """
    trailing = trailing_churn(tables, as_of, grace_days, quarters)
    t = trailing.table
    out = pd.DataFrame(
        {
            "renewals": t["renewals"],
            "renewed": t["renewals"] - t["churned"],
            "rate": 1.0 - t["churn_rate"],
            "low": 1.0 - t["high"],
            "high": 1.0 - t["low"],
            "method": t["method"],
        },
        index=t.index,
    )
    out.attrs["window"] = trailing.window
    return out


def renewal_calendar(tables: Tables, start, quarters: int = 4) -> pd.DataFrame:
    """Accounts (and ARR) whose running term ends within 1..``quarters`` quarters of ``start``.

    Parameters
    ----------
    tables : Tables
        Validated raw tables (contracts).
    start : date-like
        Start of the pilot.
    quarters : int
        Longest window, in quarters (the first ends at the end of ``start``'s quarter).

    Returns
    -------
    pandas.DataFrame
        One row per segment (plus ``TOTAL``) and window: segment, quarters, window_end,
        accounts, arr.

    Raises
    ------
    ParameterError
        If ``quarters`` is less than 1.
    """
    if quarters < 1:
        raise ParameterError("quarters must be at least 1.")
    start = pd.Timestamp(start)
    running = segments.value_segments(tables.contracts, start)
    rows = []
    q0 = quarter_of(start)
    for k in range(1, quarters + 1):
        end = q0.shift(k - 1).end
        inside = running[(running["end_date"] >= start) & (running["end_date"] <= end)]
        for name, part in [*inside.groupby("segment", sort=False), (TOTAL, inside)]:
            rows.append(
                {
                    "segment": name,
                    "quarters": k,
                    "window_end": end,
                    "accounts": len(part),
                    "arr": float(part["arr"].sum()),
                }
            )
    return pd.DataFrame(rows)


def design_table(
    tables: Tables,
    start,
    mde: float,
    grace_days: int,
    alpha: float = 0.05,
    power: float = 0.8,
    quarters: int = 4,
    enrol_share: float = 1.0,
    treatment_share: float | None = None,
    treatments: int = 1,
) -> pd.DataFrame:
    """What a renewal pilot starting on ``start`` can detect, per segment and window length.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    start : date-like
        First day of the pilot (accounts are assigned then).
    mde : float
        Target minimum detectable increase of the renewal rate (absolute, 0.05 = 5 points).
    grace_days : int
        Grace period of the churn definition (for the historical baseline).
    enrol_share : float
        Share of eligible accounts the team can enrol.
    treatment_share : float, optional
        Share of enrolled accounts in each treatment arm; default equal arms, 1 / (treatments + 1).
        The control gets the rest.
    treatments : int, default 1
        Number of treatment arms, each compared with the control. The power calculation splits
        ``alpha`` equally over these comparisons (Bonferroni), as the readout's decision does.

    Returns
    -------
    pandas.DataFrame
        Per segment and window: baseline_rate, eligible, per_arm (effective per-arm n of one
        treatment-vs-control comparison),
        achievable_mde, needed_per_arm (for ``mde``) and enough (bool). ``attrs["method"]``
        names the power calculation.

    Raises
    ------
    ParameterError
        For shares, a number of treatments or an MDE outside their ranges.
    """
    if not isinstance(treatments, int) or treatments < 1:
        raise ParameterError(f"treatments must be a whole number of treatment arms >= 1, got {treatments!r}.")
    share = 1 / (treatments + 1) if treatment_share is None else treatment_share
    control_share = 1 - treatments * share
    if not 0 < enrol_share <= 1 or not 0 < share < 1 or not control_share > 1e-12:
        raise ParameterError(
            "enrol_share must be in (0, 1] and treatment_share in (0, 1), leaving a share for the control "
            f"(got {treatments} treatment arm(s) of {share:g} each)."
        )
    alpha_each = alpha / treatments
    if not 0 < mde < 1:
        raise ParameterError(f"mde is an absolute change in the renewal rate between 0 and 1, got {mde}.")
    start = pd.Timestamp(start)
    base = renewal_baselines(tables, min(start, tables.as_of), grace_days)
    cal = renewal_calendar(tables, start, quarters)
    rows = []
    for _, r in cal.iterrows():
        p0 = float(base["rate"].get(r["segment"], np.nan))
        if np.isnan(p0):  # a segment without settled renewals takes the rate of all segments
            p0 = float(base["rate"].astype(float)[TOTAL])
        enrolled = r["accounts"] * enrol_share
        # unequal arms: per-arm n of the balanced design with the same variance of the difference
        n_eff = enrolled * 2 * share * control_share / (share + control_share)
        usable = 0 < p0 < 1  # a segment where every term renewed (or churned) gives no usable baseline
        needed = sample_size_proportions(p0, p0 + mde, alpha_each, power) if usable and p0 + mde < 1 else np.nan
        achievable = mde_proportions(n_eff, p0, alpha_each, power) if usable else np.nan
        rows.append(
            {
                "segment": r["segment"],
                "quarters": int(r["quarters"]),
                "window_end": r["window_end"],
                "baseline_rate": p0,
                "eligible": int(r["accounts"]),
                "per_arm": n_eff,
                "achievable_mde": achievable,
                "needed_per_arm": needed,
                "enough": bool(np.isfinite(needed) and n_eff >= needed),
            }
        )
    out = pd.DataFrame(rows)
    order = {name: i for i, name in enumerate([*segments.tier_names(), TOTAL])}
    out = out.sort_values(
        ["segment", "quarters"], key=lambda s: s.map(order) if s.name == "segment" else s, kind="stable"
    ).reset_index(drop=True)
    split = f" split over {treatments} comparisons (Bonferroni, {alpha_each:.4g} each)" if treatments > 1 else ""
    out.attrs["method"] = f"{POWER_METHOD}; alpha {alpha}{split}, power {power}"
    return out


def implied_duration(design: pd.DataFrame) -> pd.DataFrame:
    """Per segment, the shortest window (in quarters) with enough accounts for the target MDE.

    Parameters
    ----------
    design : pandas.DataFrame
        Output of ``design_table``.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment: quarters_needed (nullable Int64, missing when no window is long
        enough), window_end, best_achievable_mde.
    """
    rows = []
    for seg, part in design.groupby("segment", sort=False):
        ok = part[part["enough"]]
        rows.append(
            {
                "segment": seg,
                "quarters_needed": int(ok["quarters"].min()) if len(ok) else pd.NA,
                "window_end": ok["window_end"].min() if len(ok) else pd.NaT,
                "best_achievable_mde": float(part["achievable_mde"].min()),
            }
        )
    out = pd.DataFrame(rows).set_index("segment")
    out["quarters_needed"] = out["quarters_needed"].astype("Int64")
    return out


#: Weeks in a quarter, for pilot lengths quoted in weeks.
WEEKS_PER_QUARTER = 13


def conclusion(duration: pd.DataFrame, mde: float, quarters: int) -> str:
    """The pilot design's answer in one plain sentence: which segments can detect the target, and when.

    Parameters
    ----------
    duration : pandas.DataFrame
        Output of ``implied_duration`` (segments, then ``TOTAL``).
    mde : float
        The target increase in renewal rate (absolute, e.g. 0.05).
    quarters : int
        The longest window considered.

    Returns
    -------
    str
        E.g. "No single segment can detect +5 points within 4 quarters (the closest, Mid-Market,
        reaches +6.1); all accounts pooled can, with a 4-quarter window (renewals to 2027-09-30)."
    """
    points = f"+{100 * mde:.0f} points"
    segs = duration.drop(index=TOTAL, errors="ignore")
    able = segs[segs["quarters_needed"].notna()]
    if len(able):
        first = ", ".join(f"{s} in {int(q)} quarter(s)" for s, q in able["quarters_needed"].items())
        out = f"Segments that can detect {points} within {quarters} quarters: {first}"
    else:
        reach = segs["best_achievable_mde"].astype(float).dropna()
        out = f"No single segment can detect {points} within {quarters} quarters"
        if len(reach):
            best = reach.idxmin()
            out += f" (the closest, {best}, reaches +{100 * reach.to_dict()[best]:.1f})"
    if TOTAL in duration.index:
        total: dict[Any, Any] = duration.loc[TOTAL].to_dict()
        if pd.notna(total["quarters_needed"]):
            out += (
                f"; all accounts pooled can, with a {int(total['quarters_needed'])}-quarter window "
                f"(renewals to {pd.Timestamp(total['window_end']):%Y-%m-%d})."
            )
        elif pd.notna(total["best_achievable_mde"]):
            out += f"; not even all accounts pooled (best +{100 * total['best_achievable_mde']:.1f} points)."
        else:
            out += "; not even all accounts pooled."
    else:
        out += "."
    return out


def followup_size(
    tables: Tables, start, mde: float, grace_days: int, alpha: float = 0.05, power: float = 0.8, quarters: int = 8
) -> dict:
    """Size and length of a two-arm renewal pilot over all accounts that detects ``mde``.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    start : date-like
        The pilot's first day.
    mde : float
        Increase in renewal rate to detect (absolute).
    grace_days : int
        Grace period of the churn definition (for the baseline renewal rate).
    alpha, power : float
        Two-sided significance level and power.
    quarters : int
        Longest window considered.

    Returns
    -------
    dict
        ``accounts`` (both arms, rounded up), ``quarters`` (the shortest window with that many
        renewals; None when no window up to ``quarters`` has them), ``weeks`` (``quarters`` x
        ``WEEKS_PER_QUARTER``, or None) and ``mde``.
    """
    table = design_table(tables, start, mde, grace_days, alpha, power, quarters)
    total = table[table["segment"] == TOTAL]
    needed = 2 * int(np.ceil(total["needed_per_arm"].iloc[0]))
    ok = total[total["enough"]]
    if ok.empty:
        return {"accounts": needed, "quarters": None, "weeks": None, "mde": mde}
    q = int(ok["quarters"].min())
    return {"accounts": needed, "quarters": q, "weeks": q * WEEKS_PER_QUARTER, "mde": mde}
