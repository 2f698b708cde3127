"""Support metrics of an account on an observation date ``t``, from its support tickets.

support_burden
    Tickets opened in the ``Windows.tickets_days`` days before ``t`` per 10 purchased seats
    (0 without tickets; NaN without seats).
urgent_share
    Share of those tickets with priority high or urgent (NaN without tickets).
csat_180d
    Mean ticket CSAT over the ``Windows.csat_days`` days before ``t`` (named for the default 180).
"""

from __future__ import annotations

import pandas as pd

from insights.metrics.features.windows import Windows, trailing_days
from insights.stats.table_checks import require_columns

#: Columns of ``support_metrics``.
SUPPORT_COLUMNS = ("support_burden", "urgent_share", "csat_180d")
#: Ticket priorities counted as urgent.
URGENT_PRIORITIES = ("high", "urgent")


def support_metrics(
    support_tickets: pd.DataFrame, terms: pd.DataFrame, t, windows: Windows = Windows()
) -> pd.DataFrame:
    """Support burden, urgent share and ticket CSAT from the tickets before ``t``.

    Parameters
    ----------
    support_tickets : pandas.DataFrame
        Tickets: account_id, created_at, priority, csat (nullable).
    terms : pandas.DataFrame
        The accounts' contract metrics (``insights.metrics.features.contract.contract_metrics``),
        indexed by account_id with a seats column; its index gives the accounts.
    t : date-like
        Observation date; tickets on or after it are not read.
    windows : Windows
        Look-back windows; this family uses ``tickets_days`` and ``csat_days``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``terms``, columns ``SUPPORT_COLUMNS`` (see the module docstring).

    Raises
    ------
    ParameterError
        If a table lacks a column this function reads.
    """
    require_columns(support_tickets, ("account_id", "created_at", "priority", "csat"), what="the support_tickets table")
    require_columns(terms, ("seats",), what="the contract metrics (output of contract_metrics)")
    t = pd.Timestamp(t).normalize()
    ids = terms.index
    seats = terms["seats"].astype(float)
    out = pd.DataFrame(index=ids)
    recent = trailing_days(support_tickets, "created_at", t, windows.tickets_days)
    n_recent = recent.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    out["support_burden"] = n_recent / (seats.where(seats > 0) / 10)
    urgent = recent["priority"].isin(URGENT_PRIORITIES).groupby(recent["account_id"]).mean()
    out["urgent_share"] = urgent.reindex(ids).astype(float)
    rated = trailing_days(support_tickets, "created_at", t, windows.csat_days)
    out["csat_180d"] = rated.groupby("account_id")["csat"].mean().astype(float).reindex(ids)
    return out
