"""Leakage-safe account snapshots: one row per account and observation date.

Features use only data strictly before the observation date ``t``: contract terms
that started before ``t``, usage months that ended before ``t``, surveys, tickets,
activities, users and integrations dated before ``t``. The outcome is what happens
at the account's next renewal inside the horizon, derived from contract terms with
the grace period (``insights.metrics.churn``). Every metric of DESIGN.md is defined
once, in its family's module of ``insights.metrics.features``; analyses (health, risk,
drivers, pilot balance) read them from this table.

Metric definitions
------------------
Each look-back window is a field of ``insights.metrics.features.Windows`` (defaults in
brackets); pass ``windows=`` to ``features_at`` or ``build`` to change one.

arr, seats
    Of the contract term in force on the day before ``t`` (``insights.metrics.terms.current_terms``).
tenure_years
    Years since the account was created.
revenue_growth
    ARR now over ARR of the term in force on the day before ``t`` a window earlier, minus 1
    (``revenue_growth_months`` [12]).
utilisation
    Activated seats / purchased seats in the last complete month of the usage window
    (``usage_months`` [3]).
depth
    Events per active user per month over the last complete months (``usage_months`` [3]).
breadth
    Mean distinct features used per month over the last complete months, as a share of
    ``product.features_available`` (config/settings.yaml) (``usage_months`` [3]).
active_share
    Active users / activated seats over the last complete months (``usage_months`` [3]).
satisfaction
    Mean NPS over the days before ``t`` (``survey_days`` [180]); ``csat_180d``, mean ticket CSAT,
    kept as a component (``csat_days`` [180]).
perceived_value
    Mean survey value score (``survey_days`` [180]); ``price_per_active_user``, ARR / mean
    monthly active users, kept beside it (``usage_months`` [3]).
switching_cost
    Mean of the standardised components integrations (connected on ``t``), admins
    (admin users invited), tenure_years and data_volume (log events over the last complete
    months, ``data_volume_months`` [12]), standardised across the accounts of the same
    observation date.
support_burden
    Tickets per 10 seats (``tickets_days`` [90]); ``urgent_share`` of high/urgent tickets kept
    beside it (``tickets_days`` [90]).
onboarding_engagement
    Onboarding sessions held in the account's first days (``onboarding_days`` [90]; so far, if
    younger).
save_play_active, cancellation_requested
    A save play / cancellation request in the days before ``t`` (``activity_days`` [120]).
days_to_renewal
    Days from ``t`` to the end of the term in force.
"""

from __future__ import annotations

import pandas as pd

from insights.data import loading
from insights.data.loading import Tables
from insights.errors import ParameterError
from insights.metrics import churn
from insights.metrics.features import (
    Windows,
    activity_metrics,
    contract_metrics,
    support_metrics,
    survey_metrics,
    switching_metrics,
    usage_metrics,
)
from insights.metrics.features.switching import SWITCHING_COMPONENTS
from insights.metrics.periods import quarters_between

#: The five retention drivers, in the names of the snapshot columns.
DRIVERS = ("satisfaction", "switching_cost", "depth", "breadth", "perceived_value")
#: The optional raw table each driver is computed from (drivers not listed come from required tables).
DRIVER_TABLES = {"satisfaction": "surveys", "perceived_value": "surveys"}


def available_drivers(tables: Tables, drivers=DRIVERS) -> tuple[str, ...]:
    """The drivers the data can measure: those whose source table holds rows.

    Parameters
    ----------
    tables : insights.data.loading.Tables
        The validated tables (an absent optional table is loaded empty).
    drivers : sequence of str
        Candidate drivers, in order.

    Returns
    -------
    tuple of str
        ``drivers`` without those computed from a table without rows (no surveys: no satisfaction
        and no perceived value), in the same order.
    """
    empty = set(tables.without_rows)
    return tuple(d for d in drivers if DRIVER_TABLES.get(d) not in empty)


#: Every feature column of a snapshot.
FEATURES = (
    "arr",
    "seats",
    "tenure_years",
    "revenue_growth",
    "utilisation",
    "depth",
    "breadth",
    "active_share",
    "satisfaction",
    "csat_180d",
    "perceived_value",
    "price_per_active_user",
    "integrations",
    "admins",
    "data_volume",
    "switching_cost",
    "support_burden",
    "urgent_share",
    "onboarding_engagement",
    "save_play_active",
    "cancellation_requested",
    "days_to_renewal",
)
__all__ = ["DRIVERS", "FEATURES", "SWITCHING_COMPONENTS", "Windows", "build", "features_at", "observation_dates"]


def features_at(
    tables: Tables, t, features_available: int, accounts=None, windows: Windows = Windows()
) -> pd.DataFrame:
    """Features of the accounts under contract just before ``t``, from data strictly before ``t``.

    The composition of the metric families of ``insights.metrics.features``.

    Parameters
    ----------
    tables : Tables
    t : date-like
        Observation date.
    features_available : int
        Product features a customer can use (denominator of breadth).
    accounts : list-like, optional
        Restrict to these accounts (they must be under contract the day before ``t``).
    windows : Windows
        Look-back windows of the metrics (default: ``Windows()``, the report's definitions).

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id; columns contract_id and renewal_date (end of the running
        term), then ``FEATURES``.

    Raises
    ------
    ParameterError
        If a table lacks a column a metric reads.
    """
    t = pd.Timestamp(t).normalize()
    terms = contract_metrics(tables.contracts, tables.accounts, t, accounts, windows)
    ids = terms.index
    out = pd.concat(
        [
            terms,
            usage_metrics(tables.usage_monthly, terms, t, features_available, windows),
            survey_metrics(tables.surveys, ids, t, windows),
            support_metrics(tables.support_tickets, terms, t, windows),
            switching_metrics(tables.integrations, tables.users, tables.usage_monthly, terms, t, windows),
            activity_metrics(tables.cs_activities, tables.accounts, ids, t, windows),
        ],
        axis=1,
    )
    return out[["contract_id", "renewal_date", *FEATURES]]


def observation_dates(tables: Tables, first=None, last=None) -> list[pd.Timestamp]:
    """Quarter ends from ``first`` (default: a year into the data) to ``last`` (default: the data end).

    Parameters
    ----------
    tables : Tables
        The dataset; its first usage month and data end give the defaults.
    first, last : date-like, optional
        First and last day a quarter end may fall on.

    Returns
    -------
    list of pandas.Timestamp
        The quarter ends in ``first .. last``, oldest first.
    """
    data_start = loading.data_start(tables.frames)
    first = pd.Timestamp(first) if first is not None else data_start + pd.DateOffset(years=1)
    last = pd.Timestamp(last) if last is not None else tables.as_of
    return [q.end for q in quarters_between(first, last) if first <= q.end <= last]


def build(
    tables: Tables,
    dates=None,
    horizon_days: int = 365,
    grace_days: int = 30,
    features_available: int = 24,
    windows: Windows = Windows(),
) -> pd.DataFrame:
    """Account x observation-date snapshots with the outcome at the next renewal.

    Parameters
    ----------
    tables : Tables
    dates : list of date-like, optional
        Observation dates (default: every quarter end from a year into the data).
    horizon_days : int
        A renewal more than this many days after the observation date gives no label.
    grace_days : int
        Grace period of the churn definition.
    features_available : int
        Denominator of breadth.
    windows : Windows
        Look-back windows of the metrics (``features_at``).

    Returns
    -------
    pandas.DataFrame
        account_id, obs_date, contract_id, renewal_date, the ``FEATURES`` and the label
        columns renewal_in_horizon (bool), churned (1.0 / 0.0, NaN when the renewal is
        outside the horizon or not settled) and settled (bool: the renewal's grace period has
        passed at the data end, ``insights.metrics.churn.settled``). A label exists for settled
        renewals only: a churn is known only once the grace period has passed while an early
        renewal is known at once, so labelling unsettled renewals would bias the most recent
        observation dates towards renewal.

    Raises
    ------
    ParameterError
        If an observation date falls after the data end.
    """
    dates = observation_dates(tables) if dates is None else [pd.Timestamp(d) for d in dates]
    late = [d for d in dates if d > tables.as_of]
    if late:
        raise ParameterError(
            f"observation dates after the data end ({tables.as_of:%Y-%m-%d}): {[f'{d:%Y-%m-%d}' for d in late]}."
        )
    outcomes = churn.contract_outcomes(tables.contracts, grace_days, tables.as_of).set_index("contract_id")
    frames = []
    for t in dates:
        f = features_at(tables, t, features_available, windows=windows).reset_index()
        f.insert(1, "obs_date", t)
        frames.append(f)
    snap = pd.concat(frames, ignore_index=True)
    outcome = snap["contract_id"].map(outcomes["outcome"])
    days = (snap["renewal_date"] - snap["obs_date"]).dt.days
    snap["renewal_in_horizon"] = (days >= 0) & (days <= horizon_days)
    settled = churn.settled(snap["renewal_date"], grace_days, tables.as_of)
    snap["churned"] = churn.churned_flag(outcome).where(snap["renewal_in_horizon"] & settled)
    snap["settled"] = settled
    return snap
