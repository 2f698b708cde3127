"""Usage metrics of an account on an observation date ``t``, from complete months of ``usage_monthly``.

A month counts once its last day is before ``t`` (``complete_months``); the usage window is the
last ``Windows.usage_months`` such months (default 3).

utilisation
    Activated seats in the latest month of the window / purchased seats of the term in force.
depth
    Events per active user per month over the window (events summed / active users summed).
breadth
    Mean distinct features used per month over the window, as a share of ``features_available``
    (``product.features_available`` in config/settings.yaml).
active_share
    Active users / activated seats, both summed over the window.
price_per_active_user
    ARR of the term in force / mean monthly active users over the window (the price side of
    perceived value).

Accounts without usage in the window get NaN. ``data_volume`` (``Windows.data_volume_months``) is a
switching-cost component: ``insights.metrics.features.switching``.
"""

from __future__ import annotations

import pandas as pd

from insights.metrics.features.windows import Windows
from insights.stats.table_checks import require_columns

#: Columns of ``usage_metrics``.
USAGE_COLUMNS = ("utilisation", "depth", "breadth", "active_share", "price_per_active_user")
#: Columns of ``usage_monthly`` the usage metrics read.
MONTHLY_COLUMNS = ("account_id", "month", "active_users", "activated_seats", "events", "distinct_features")


def complete_months(usage_monthly: pd.DataFrame, t, months: int) -> pd.DataFrame:
    """Rows of the last ``months`` complete calendar months before ``t``.

    Parameters
    ----------
    usage_monthly : pandas.DataFrame
        Monthly usage with a ``month`` column (datetime64, first day of the month).
    t : date-like
        Observation date; its own month is not complete before ``t`` and is left out.
    months : int
        Number of months.

    Returns
    -------
    pandas.DataFrame
        Rows with ``first day of t's month - months <= month < first day of t's month``, in their
        original order.
    """
    limit = pd.Timestamp(t).to_period("M").to_timestamp()
    month = usage_monthly["month"]
    return usage_monthly[(month < limit) & (month >= limit - pd.DateOffset(months=months))]


def usage_metrics(
    usage_monthly: pd.DataFrame, terms: pd.DataFrame, t, features_available: int, windows: Windows = Windows()
) -> pd.DataFrame:
    """Utilisation, depth, breadth, active share and price per active user on ``t``.

    Parameters
    ----------
    usage_monthly : pandas.DataFrame
        Monthly usage: account_id, month, active_users, activated_seats, events, distinct_features.
    terms : pandas.DataFrame
        The accounts' contract metrics (``insights.metrics.features.contract.contract_metrics``),
        indexed by account_id with columns arr and seats; its index gives the accounts.
    t : date-like
        Observation date.
    features_available : int
        Product features a customer can use (denominator of breadth).
    windows : Windows
        Look-back windows; this family uses ``usage_months``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``terms``, columns ``USAGE_COLUMNS`` (see the module docstring).

    Raises
    ------
    ParameterError
        If a table lacks a column this function reads.
    """
    require_columns(usage_monthly, MONTHLY_COLUMNS, what="the usage_monthly table")
    require_columns(terms, ("arr", "seats"), what="the contract metrics (output of contract_metrics)")
    ids = terms.index
    recent = complete_months(usage_monthly, pd.Timestamp(t).normalize(), windows.usage_months)
    g = recent.groupby("account_id")
    latest = recent.sort_values("month").groupby("account_id").tail(1).set_index("account_id")
    seats = terms["seats"].astype(float)
    out = pd.DataFrame(index=ids)
    out["utilisation"] = latest["activated_seats"].astype(float).reindex(ids) / seats.where(seats > 0)
    active = g["active_users"].sum().astype(float)
    out["depth"] = (g["events"].sum().astype(float) / active.where(active > 0)).reindex(ids)
    out["breadth"] = (g["distinct_features"].mean().astype(float) / features_available).reindex(ids)
    activated = g["activated_seats"].sum().astype(float)
    out["active_share"] = (active / activated.where(activated > 0)).reindex(ids)
    monthly_active = (active / g.size()).reindex(ids)
    out["price_per_active_user"] = terms["arr"].astype(float) / monthly_active.where(monthly_active > 0)
    return out
