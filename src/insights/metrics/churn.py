"""Churn derived from contract terms: the one place that decides what a churn is.

A contract term that ends with no successor term for the same account starting
within ``grace_days`` of its end is a churn at its end date. A term whose grace
period has not yet passed at ``as_of`` is still open: its outcome is unknown.

A renewal is *settled* once its grace period has passed at ``as_of`` (``settled``):
only then would a churn have been seen as well as a renewal. Churn and renewal rates
count settled renewals only (``insights.stats.rates.churn_rate`` with the ``settled``
column), because a renewal shows up as soon as the successor term is signed while a
churn shows up only after the grace period, so counting unsettled renewals biases a
churn rate low.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RENEWED, CHURNED, OPEN = "renewed", "churned", "open"


def settled(end_date, grace_days: int, as_of) -> pd.Series:
    """Whether each renewal is settled: its grace period has passed at ``as_of``.

    Parameters
    ----------
    end_date : pandas.Series of datetime64
        Renewal dates (end dates of contract terms).
    grace_days : int
        Grace period of the churn definition (``contract_outcomes``), in days.
    as_of : date-like
        The data end.

    Returns
    -------
    pandas.Series of bool
        True where ``end_date + grace_days <= as_of``, on the index of ``end_date``.

    Raises
    ------
    ValueError
        If ``grace_days`` is negative.
    """
    return (pd.Series(end_date) <= settled_until(grace_days, as_of)).astype(bool)


def settled_until(grace_days: int, as_of) -> pd.Timestamp:
    """The last renewal date whose outcome is settled at ``as_of``: ``as_of - grace_days``.

    Parameters
    ----------
    grace_days : int
        Grace period of the churn definition, in days.
    as_of : date-like
        The data end.

    Returns
    -------
    pandas.Timestamp
        A churn at or before this date is known; later ones may still be inside their grace period.

    Raises
    ------
    ValueError
        If ``grace_days`` is negative.
    """
    if grace_days < 0:
        raise ValueError("grace_days must be >= 0")
    return pd.Timestamp(as_of) - pd.Timedelta(days=grace_days)


def churned_flag(outcome) -> pd.Series:
    """The outcome of each term as a number: 1.0 churned, 0.0 renewed, NaN when still open.

    Parameters
    ----------
    outcome : pandas.Series of str
        ``RENEWED``, ``CHURNED``, ``OPEN`` or any other status (which gives NaN).

    Returns
    -------
    pandas.Series of float
        On the index of ``outcome``.
    """
    outcome = pd.Series(outcome)
    flag = np.where(outcome == CHURNED, 1.0, np.where(outcome == RENEWED, 0.0, np.nan))
    return pd.Series(flag, index=outcome.index, dtype="float64")


def contract_outcomes(contracts: pd.DataFrame, grace_days: int, as_of) -> pd.DataFrame:
    """Classify each contract term as renewed, churned or open.

    A term is *renewed* when another term of the same account starts on or before
    ``end_date + grace_days`` and ends after it (a later term, an overlapping
    co-termed term or a late signature all count). Otherwise it is *churned* at
    its ``end_date`` if ``end_date + grace_days <= as_of``, else *open*.

    Parameters
    ----------
    contracts : pandas.DataFrame
        Columns contract_id, account_id, start_date, end_date, arr (typed, as
        returned by ``insights.data.loading.load_tables``).
    grace_days : int
        Days after the end of a term within which a successor still counts.
    as_of : date-like
        Last day covered by the data.

    Returns
    -------
    pandas.DataFrame
        One row per term, in the input order, with the input columns plus
        ``outcome`` (renewed/churned/open), ``successor_id`` (the earliest-starting
        successor), ``renewal_gap_days`` (days between the end and the successor's
        start, minus one; 0 for back-to-back terms), ``churn_date`` (the end date
        for churned terms, else NaT) and ``settled`` (the grace period has passed at
        ``as_of``: see ``settled``).

    Raises
    ------
    ValueError
        If ``grace_days`` is negative.
    """
    closed = settled(contracts["end_date"], grace_days, as_of)
    base = contracts[["contract_id", "account_id", "start_date", "end_date"]]
    pairs = base.merge(base, on="account_id", suffixes=("", "_next"))
    limit = pairs["end_date"] + pd.to_timedelta(grace_days, unit="D")
    succ = pairs[
        (pairs["contract_id_next"] != pairs["contract_id"])
        & (pairs["start_date_next"] > pairs["start_date"])
        & (pairs["start_date_next"] <= limit)
        & (pairs["end_date_next"] > pairs["end_date"])
    ].sort_values(["contract_id", "start_date_next", "contract_id_next"])
    first = succ.drop_duplicates("contract_id").set_index("contract_id")
    out = contracts.copy()
    nxt = first.reindex(out["contract_id"])  # typed columns even when no term has a successor
    out["successor_id"] = pd.Series(nxt["contract_id_next"].to_numpy(), index=out.index).astype("str")
    gap = (pd.Series(nxt["start_date_next"].to_numpy(), index=out.index) - out["end_date"]).dt.days - 1
    out["renewal_gap_days"] = gap.clip(lower=0).astype("Int64")
    has_successor = out["successor_id"].notna()
    out["outcome"] = OPEN
    out.loc[has_successor, "outcome"] = RENEWED
    out.loc[~has_successor & closed, "outcome"] = CHURNED
    out["churn_date"] = out["end_date"].where(out["outcome"] == CHURNED)
    out["settled"] = closed
    return out


def churn_events(contracts: pd.DataFrame, grace_days: int, as_of) -> pd.DataFrame:
    """Churned terms only.

    Parameters
    ----------
    contracts, grace_days, as_of
        As for ``contract_outcomes``.

    Returns
    -------
    pandas.DataFrame
        account_id, contract_id, churn_date, arr (the ARR lost).
    """
    outcomes = contract_outcomes(contracts, grace_days, as_of)
    churned = outcomes[outcomes["outcome"] == CHURNED]
    return churned[["account_id", "contract_id", "churn_date", "arr"]].reset_index(drop=True)
