"""Pre-period metrics of accounts at a date, for balance checks and regression adjustment.

Only data strictly before ``as_of`` is used: usage of complete months that ended
before it, surveys and tickets dated before it, the contract term running on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights import segments
from insights.loading import Tables

#: Metrics returned by ``pre_period`` (all numeric).
COVARIATES = ("arr", "seats", "utilisation", "events_per_active_user", "distinct_features", "nps_180d",
              "tickets_90d")


def pre_period(tables: Tables, as_of, account_ids=None) -> pd.DataFrame:
    """Account metrics as they stood just before ``as_of``.

    Parameters
    ----------
    tables : Tables
    as_of : date-like
        The assignment date; nothing on or after it is used.
    account_ids : list-like, optional
        Accounts to return (default: every account under contract on ``as_of``).

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id with columns ``COVARIATES``: ARR and seats of the running
        term, utilisation (activated / purchased seats) and events per active user and
        distinct features over the last three complete months, mean NPS over 180 days
        and support tickets over 90 days. Missing where the account has no such data.
    """
    as_of = pd.Timestamp(as_of)
    terms = segments.current_terms(tables.contracts, as_of).set_index("account_id")
    ids = pd.Index(account_ids if account_ids is not None else terms.index, name="account_id")
    out = pd.DataFrame(index=ids)
    out["arr"] = terms["arr"].reindex(ids).astype(float)
    out["seats"] = terms["seats"].reindex(ids).astype(float)

    usage = tables.usage_monthly
    last_full = (as_of - pd.offsets.MonthBegin(1)).normalize() if as_of.day != 1 else as_of
    window = usage[(usage["month"] < last_full) & (usage["month"] >= last_full - pd.DateOffset(months=3))]
    window = window[window["account_id"].isin(ids)]
    g = window.groupby("account_id")
    latest = window.sort_values("month").groupby("account_id").tail(1).set_index("account_id")
    out["utilisation"] = (latest["activated_seats"].astype(float) / out["seats"].reindex(latest.index)).reindex(ids)
    active = g["active_users"].sum().astype(float)
    out["events_per_active_user"] = (g["events"].sum().astype(float) / active.where(active > 0)).reindex(ids)
    out["distinct_features"] = g["distinct_features"].mean().astype(float).reindex(ids)

    s = tables.surveys
    s = s[(s["responded_at"] < as_of) & (s["responded_at"] >= as_of - pd.Timedelta(days=180))]
    out["nps_180d"] = s.groupby("account_id")["nps"].mean().astype(float).reindex(ids)

    t = tables.support_tickets
    t = t[(t["created_at"] < as_of) & (t["created_at"] >= as_of - pd.Timedelta(days=90))]
    out["tickets_90d"] = t.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    out.loc[out["arr"].isna(), "tickets_90d"] = np.nan
    return out[list(COVARIATES)]
