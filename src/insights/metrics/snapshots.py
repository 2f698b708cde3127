"""Leakage-safe account snapshots: one row per account and observation date.

Features use only data strictly before the observation date ``t``: contract terms
that started before ``t``, usage months that ended before ``t``, surveys, tickets,
activities, users and integrations dated before ``t``. The outcome is what happens
at the account's next renewal inside the horizon, derived from contract terms with
the grace period (``insights.metrics.churn``). Every metric of DESIGN.md is defined here,
once; analyses (health, risk, drivers, pilot balance) read them from this table.

Metric definitions
------------------
arr, seats
    Of the contract term in force on the day before ``t`` (``insights.metrics.terms.current_terms``).
tenure_years
    Years since the account was created.
revenue_growth
    ARR now over ARR of the term in force on the day before ``t`` a year earlier, minus 1.
utilisation
    Activated seats / purchased seats in the last complete month.
depth
    Events per active user per month over the last three complete months.
breadth
    Mean distinct features used per month over the last three complete months, as a
    share of ``product.features_available`` (config/settings.yaml).
active_share
    Active users / activated seats over the last three complete months.
satisfaction
    Mean NPS over the 180 days before ``t`` (``csat_180d`` kept as a component).
perceived_value
    Mean survey value score over 180 days (``price_per_active_user`` kept beside it).
switching_cost
    Mean of the standardised components integrations (connected on ``t``), admins
    (admin users invited), tenure_years and data_volume (log events over 12 months),
    standardised across the accounts of the same observation date.
support_burden
    Tickets over 90 days per 10 seats (``urgent_share`` of high/urgent kept beside it).
onboarding_engagement
    Onboarding sessions held in the account's first 90 days (so far, if younger).
save_play_active, cancellation_requested
    A save play / cancellation request in the 120 days before ``t``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.metrics import churn
from insights.errors import ParameterError
from insights.data.loading import Tables
from insights.metrics.periods import quarters_between
from insights.metrics.terms import current_terms

#: The five retention drivers, in the names of the snapshot columns.
DRIVERS = ("satisfaction", "switching_cost", "depth", "breadth", "perceived_value")
#: Every feature column of a snapshot.
FEATURES = ("arr", "seats", "tenure_years", "revenue_growth", "utilisation", "depth", "breadth", "active_share",
            "satisfaction", "csat_180d", "perceived_value", "price_per_active_user", "integrations", "admins",
            "data_volume", "switching_cost", "support_burden", "urgent_share", "onboarding_engagement",
            "save_play_active", "cancellation_requested", "days_to_renewal")
SWITCHING_COMPONENTS = ("integrations", "admins", "tenure_years", "data_volume")


def _zscore(x: pd.Series) -> pd.Series:
    sd = x.std(ddof=0)
    return (x - x.mean()) / sd if sd and np.isfinite(sd) else x * 0.0


def features_at(tables: Tables, t, features_available: int, accounts=None) -> pd.DataFrame:
    """Features of the accounts under contract just before ``t``, from data strictly before ``t``.

    Parameters
    ----------
    tables : Tables
    t : date-like
        Observation date.
    features_available : int
        Product features a customer can use (denominator of breadth).
    accounts : list-like, optional
        Restrict to these accounts (they must be under contract the day before ``t``).

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id; columns ``FEATURES`` plus contract_id and renewal_date
        (end of the running term).
    """
    t = pd.Timestamp(t).normalize()
    running = current_terms(tables.contracts, t - pd.Timedelta(days=1)).set_index("account_id")
    if accounts is not None:
        running = running.reindex(pd.Index(accounts, name="account_id")).dropna(subset=["contract_id"])
    ids = running.index
    out = pd.DataFrame(index=ids)
    out["contract_id"] = running["contract_id"]
    out["renewal_date"] = running["end_date"]
    out["arr"] = running["arr"].astype(float)
    out["seats"] = running["seats"].astype(float)
    created = tables.accounts.set_index("account_id")["created_at"].reindex(ids)
    out["tenure_years"] = (t - created).dt.days / 365.25
    year_ago = t - pd.DateOffset(years=1)
    prior = current_terms(tables.contracts, year_ago - pd.Timedelta(days=1)).set_index("account_id")
    out["revenue_growth"] = out["arr"] / prior["arr"].reindex(ids).astype(float) - 1

    # usage: complete months only (a month counts once its last day is before t)
    month_limit = t.to_period("M").to_timestamp()  # first day of t's month
    u = tables.usage_monthly
    u = u[u["month"] < month_limit]  # per-account results are reindexed to ids below
    last3 = u[u["month"] >= month_limit - pd.DateOffset(months=3)]
    g = last3.groupby("account_id")
    latest = last3.sort_values("month").groupby("account_id").tail(1).set_index("account_id")
    out["utilisation"] = latest["activated_seats"].astype(float).reindex(ids) / out["seats"].where(out["seats"] > 0)
    active = g["active_users"].sum().astype(float)
    out["depth"] = (g["events"].sum().astype(float) / active.where(active > 0)).reindex(ids)
    out["breadth"] = (g["distinct_features"].mean().astype(float) / features_available).reindex(ids)
    activated = g["activated_seats"].sum().astype(float)
    out["active_share"] = (active / activated.where(activated > 0)).reindex(ids)
    monthly_active = (active / g.size()).reindex(ids)
    year = u[u["month"] >= month_limit - pd.DateOffset(months=12)]
    out["data_volume"] = np.log1p(year.groupby("account_id")["events"].sum().astype(float)).reindex(ids).fillna(0.0)

    s = tables.surveys
    s = s[(s["responded_at"] < t) & (s["responded_at"] >= t - pd.Timedelta(days=180))]
    sg = s.groupby("account_id")
    out["satisfaction"] = sg["nps"].mean().astype(float).reindex(ids)
    out["perceived_value"] = sg["value_score"].mean().astype(float).reindex(ids)
    out["price_per_active_user"] = out["arr"] / monthly_active.where(monthly_active > 0)

    tk = tables.support_tickets
    tk = tk[tk["created_at"] < t]
    recent = tk[tk["created_at"] >= t - pd.Timedelta(days=90)]
    n_recent = recent.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    out["support_burden"] = n_recent / (out["seats"].where(out["seats"] > 0) / 10)
    urgent = recent["priority"].isin(["high", "urgent"]).groupby(recent["account_id"]).mean()
    out["urgent_share"] = urgent.reindex(ids).astype(float)
    half_year = tk[tk["created_at"] >= t - pd.Timedelta(days=180)]
    out["csat_180d"] = half_year.groupby("account_id")["csat"].mean().astype(float).reindex(ids)

    integ = tables.integrations
    live = integ[(integ["connected_at"] < t) & (integ["disconnected_at"].isna() | (integ["disconnected_at"] >= t))]
    out["integrations"] = live.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    users = tables.users
    admins = users[(users["invited_at"] < t) & (users["role"] == "admin")]
    out["admins"] = admins.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    parts = pd.concat([_zscore(out[c]) for c in SWITCHING_COMPONENTS], axis=1)
    out["switching_cost"] = parts.mean(axis=1)

    act = tables.cs_activities
    act = act[act["date"] < t]
    onboard = act[act["type"] == "onboarding"]
    created_all = tables.accounts.set_index("account_id")["created_at"]
    onboard = onboard[onboard["date"] <= onboard["account_id"].map(created_all) + pd.Timedelta(days=90)]
    out["onboarding_engagement"] = onboard.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    recent_act = act[act["date"] >= t - pd.Timedelta(days=120)]
    for col, kind in (("save_play_active", "save_play"), ("cancellation_requested", "cancellation_request")):
        flagged = set(recent_act.loc[recent_act["type"] == kind, "account_id"])
        out[col] = out.index.isin(flagged).astype(float)
    out["days_to_renewal"] = (out["renewal_date"] - t).dt.days.astype(float)
    return out[["contract_id", "renewal_date", *FEATURES]]


def observation_dates(tables: Tables, first=None, last=None) -> list[pd.Timestamp]:
    """Quarter ends from ``first`` (default: a year into the data) to ``last`` (default: the data end)."""
    data_start = tables.usage_monthly["month"].min()
    first = pd.Timestamp(first) if first is not None else data_start + pd.DateOffset(years=1)
    last = pd.Timestamp(last) if last is not None else tables.as_of
    return [q.end for q in quarters_between(first, last) if first <= q.end <= last]


def build(tables: Tables, dates=None, horizon_days: int = 365, grace_days: int = 30,
          features_available: int = 24) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        account_id, obs_date, the ``FEATURES``, contract_id, renewal_date and the label
        columns renewal_in_horizon (bool), churned (1.0 / 0.0, NaN when the renewal is
        outside the horizon or its outcome is not known at the data end: a churn is known
        only once the grace period has passed, a renewal as soon as the next term exists)
        and settled (bool: the renewal's grace period has passed at the data end,
        ``insights.metrics.churn.settled``; churn rates count settled renewals only).

    Raises
    ------
    ParameterError
        If an observation date falls after the data end.
    """
    dates = observation_dates(tables) if dates is None else [pd.Timestamp(d) for d in dates]
    late = [d for d in dates if d > tables.as_of]
    if late:
        raise ParameterError(f"observation dates after the data end ({tables.as_of:%Y-%m-%d}): "
                             f"{[f'{d:%Y-%m-%d}' for d in late]}.")
    outcomes = churn.contract_outcomes(tables.contracts, grace_days, tables.as_of).set_index("contract_id")
    frames = []
    for t in dates:
        f = features_at(tables, t, features_available).reset_index()
        f.insert(1, "obs_date", t)
        frames.append(f)
    snap = pd.concat(frames, ignore_index=True)
    outcome = snap["contract_id"].map(outcomes["outcome"])
    days = (snap["renewal_date"] - snap["obs_date"]).dt.days
    snap["renewal_in_horizon"] = (days >= 0) & (days <= horizon_days)
    snap["churned"] = churn.churned_flag(outcome).where(snap["renewal_in_horizon"])
    snap["settled"] = churn.settled(snap["renewal_date"], grace_days, tables.as_of)
    return snap
