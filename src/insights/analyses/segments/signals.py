"""The signals customer-success practice watches, per segment, in plain labelled columns.

From the snapshot at one observation date (``insights.metrics.snapshots``; every window is the
snapshot's own) and the accounts table: activated vs purchased seats, whether an admin is in
place, support volume, feature utilisation, onboarding, revenue growth and seat headroom; and
how each segment splits by industry, line of business and region. Nothing is recomputed from
raw events: each column is a snapshot metric summarised per segment.
"""

from __future__ import annotations

import pandas as pd

from insights.display import money, percent
from insights.errors import ParameterError
from insights.stats.rates import TOTAL

#: Label of each signal column (with its window) -> (snapshot column, summary).
SIGNALS = {
    "accounts": ("account_id", "count"),
    "activated / purchased seats (median, last month)": ("utilisation", "median_pct"),
    "admin users (median)": ("admins", "median"),
    "support tickets per 10 seats (median, 90 days)": ("support_burden", "median"),
    "features used (median share, 3 months)": ("breadth", "median_pct"),
    "share with onboarding sessions (first 90 days)": ("onboarding_engagement", "share_positive"),
    "ARR growth (median, trailing 12 months)": ("revenue_growth", "median_pct"),
    "seats per 100 employees (median; headroom at the next renewal)": ("seats_per_100_employees", "median"),
}
#: Firmographic columns of the accounts table shown as a mix per segment.
FIRMOGRAPHICS = {"industry": "industry", "line_of_business": "line of business", "region": "region"}


def _summary(values: pd.Series, how: str) -> str:
    values = values.dropna()
    if how == "count":
        return f"{len(values):,}"
    if values.empty:
        return ""
    if how == "median_pct":
        return f"{100 * values.median():.0f}%"
    if how == "share_positive":
        return f"{100 * (values > 0).mean():.0f}%"
    return f"{values.median():.1f}"


def segment_signals(now: pd.DataFrame, accounts: pd.DataFrame, segment: str) -> pd.DataFrame:
    """One row per segment (then all accounts): the CS signals, formatted, with their windows in the labels.

    Parameters
    ----------
    now : pandas.DataFrame
        Snapshot rows of one observation date with ``segment`` and the columns of ``SIGNALS``
        (account_id, utilisation, admins, support_burden, breadth, onboarding_engagement,
        revenue_growth, seats).
    accounts : pandas.DataFrame
        The accounts table (account_id, employees).
    segment : str
        Segment column of ``now``.

    Returns
    -------
    pandas.DataFrame
        Without index: ``segment`` then one text column per ``SIGNALS`` label.

    Raises
    ------
    ParameterError
        If a needed column is missing.
    """
    needed = {segment, "seats", *(c for c, _ in SIGNALS.values() if c != "seats_per_100_employees")}
    missing = sorted(needed - set(now.columns)) + sorted({"account_id", "employees"} - set(accounts.columns))
    if missing:
        raise ParameterError(f"segment_signals needs the columns {missing}; pass a snapshot and the accounts table.")
    frame = now.merge(accounts[["account_id", "employees"]], on="account_id", how="left")
    frame["seats_per_100_employees"] = 100 * frame["seats"] / frame["employees"]
    groups = [(str(k), g) for k, g in frame.groupby(segment, observed=True, sort=True)] + [(TOTAL, frame)]
    rows = [
        {"segment": name, **{label: _summary(g[col], how) for label, (col, how) in SIGNALS.items()}}
        for name, g in groups
    ]
    return pd.DataFrame(rows)


def firmographic_mix(
    now: pd.DataFrame, accounts: pd.DataFrame, segment: str, column: str, top: int = 6
) -> pd.DataFrame:
    """Share of each segment's accounts in each category of a firmographic column (top categories).

    Parameters
    ----------
    now : pandas.DataFrame
        Snapshot rows of one observation date with ``account_id`` and ``segment``.
    accounts : pandas.DataFrame
        The accounts table with ``column``.
    segment : str
        Segment column of ``now``.
    column : str
        Column of the snapshot (e.g. growth_potential) or, failing that, of ``accounts``
        (industry, line_of_business, region...).
    top : int
        Categories shown (the most common overall); the rest are summed as "other".

    Returns
    -------
    pandas.DataFrame
        Without index: ``segment`` then one column per category with the share as text (``"23%"``).

    Raises
    ------
    ParameterError
        If a needed column is missing.
    """
    if segment not in now.columns or "account_id" not in now.columns:
        raise ParameterError(f"firmographic_mix needs {segment!r} and 'account_id' in the snapshot.")
    if column in now.columns:
        frame = now[["account_id", segment, column]].copy()
    elif column in accounts.columns:
        frame = now[["account_id", segment]].merge(accounts[["account_id", column]], on="account_id", how="left")
    else:
        raise ParameterError(f"firmographic_mix: {column!r} is neither a snapshot nor an accounts column.")
    frame[column] = frame[column].astype(object)
    keep = frame[column].value_counts().index[:top]
    frame[column] = frame[column].where(frame[column].isin(keep), "other")
    order = [*keep, *(["other"] if (frame[column] == "other").any() else [])]
    shares = pd.crosstab(frame[segment].astype(str), frame[column], normalize="index")
    shares.loc[TOTAL] = frame[column].value_counts(normalize=True)
    shares = shares.reindex(columns=order, fill_value=0.0)
    out = shares.map(lambda s: f"{100 * s:.0f}%")
    out.columns = [str(c) for c in out.columns]
    return out.rename_axis(None).reset_index(names="segment")


def moved_to_lower_engagement(counts: pd.DataFrame, order: list[str]) -> int:
    """Accounts that moved to a less engaged segment between two dates.

    Parameters
    ----------
    counts : pandas.DataFrame
        Transition counts, earlier segment (rows) x later segment (columns), as
        ``insights.analyses.segments.behaviour.transitions(...).counts``.
    order : list of str
        Segments from the most to the least engaged (for example the behavioural segments, then
        the not-segmented group of accounts without recent usage).

    Returns
    -------
    int
        Sum of the counts from a segment to any segment after it in ``order``.

    Raises
    ------
    ParameterError
        If a segment of ``order`` is neither a row nor a column of ``counts``.
    """
    unknown = [s for s in order if s not in counts.index and s not in counts.columns]
    if unknown:
        raise ParameterError(f"moved_to_lower_engagement: segments {unknown} are not in the transition counts.")
    total = 0
    for i, before in enumerate(order):
        for after in order[i + 1 :]:
            if before in counts.index and after in counts.columns:
                total += int(counts.to_numpy()[counts.index.get_loc(before), counts.columns.get_loc(after)])
    return total


def profile_table(profile: pd.DataFrame) -> pd.DataFrame:
    """A segment profile (``profiles.segment_profile``) narrowed to what a reader compares, formatted.

    Parameters
    ----------
    profile : pandas.DataFrame
        Indexed by segment: accounts, account_share, arr, arr_share, median_arr, renewals,
        churn_rate, churn_ci_low, churn_ci_high, grr, nrr.

    Returns
    -------
    pandas.DataFrame
        Without index: segment, accounts, share of accounts, ARR, share of ARR, median ARR,
        the cohort churn with its interval and its window in the label, GRR and NRR (trailing
        12 months); every column of the profile is in ``segment_profiles.csv``.

    Raises
    ------
    ParameterError
        If a needed column is missing.
    """
    needed = ["accounts", "account_share", "arr", "arr_share", "median_arr", "renewals", "churn_rate"]
    needed += ["churn_ci_low", "churn_ci_high", "grr", "nrr"]
    missing = [c for c in needed if c not in profile.columns]
    if missing:
        raise ParameterError(f"profile_table needs the profile columns {missing}.")

    def pct(x):
        return "" if pd.isna(x) else percent(x)

    def usd(x):
        return "" if pd.isna(x) else money(x)

    p = profile
    return pd.DataFrame(
        {
            "segment": [str(i) for i in p.index],
            "accounts under contract": [f"{int(n):,}" for n in p["accounts"]],
            "share of accounts": [pct(x) for x in p["account_share"]],
            "ARR": [usd(x) for x in p["arr"]],
            "share of ARR": [pct(x) for x in p["arr_share"]],
            "median ARR": [usd(x) for x in p["median_arr"]],
            "churn of the cohort a year ago (next renewal within 12 months)": [
                "" if pd.isna(r) else f"{pct(r)} ({pct(lo)} to {pct(hi)}) of {int(n):,}"
                for r, lo, hi, n in zip(p["churn_rate"], p["churn_ci_low"], p["churn_ci_high"], p["renewals"])
            ],
            "GRR, trailing 12 months": [pct(x) for x in p["grr"]],
            "NRR, trailing 12 months": [pct(x) for x in p["nrr"]],
        }
    )
