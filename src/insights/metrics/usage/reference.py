"""A plain pandas implementation of the usage metrics, for checking the engines on small data.

It follows the definitions in ``insights.metrics.usage.definitions`` line by line but holds every event in
memory, so it is only for tests and benchmarks (it is the "straightforward pandas" baseline of
``bench/bench_usage_events.py``). Production code uses ``insights.metrics.usage.build_usage_monthly``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.metrics.terms import current_terms
from insights.metrics.usage.definitions import NON_FEATURE_EVENTS, monthly_frame
from insights.metrics.usage.window import Window


def monthly_pandas(
    events: pd.DataFrame, users: pd.DataFrame, contracts: pd.DataFrame, window: Window | None = None
) -> pd.DataFrame:
    """``usage_monthly`` from events in memory (see ``insights.metrics.usage.definitions``).

    Parameters
    ----------
    events : pandas.DataFrame
        account_id, user_id, ts (datetime64, UTC), feature; already checked.
    users : pandas.DataFrame
        user_id, account_id, activated_at.
    contracts : pandas.DataFrame
        contract_id, account_id, start_date, end_date, seats.
    window : Window, optional
        Default: the months of the first and last event.

    Returns
    -------
    pandas.DataFrame
        Columns ``insights.metrics.usage.definitions.MONTHLY_COLUMNS``, sorted by account_id, month
        (``monthly_frame``).
    """
    ts = pd.to_datetime(events["ts"])
    if window is None:
        window = Window(
            ts.min().to_period("M").to_timestamp(),
            (ts.max().to_period("M").to_timestamp() + pd.offsets.MonthEnd(0)).normalize(),
        )
    inside = (ts >= window.start) & (ts < window.end_exclusive)
    ev = pd.DataFrame(
        {
            "account_id": events["account_id"][inside],
            "user_id": events["user_id"][inside],
            "month": ts[inside].dt.to_period("M").dt.to_timestamp(),
            "feature": events["feature"][inside],
        }
    )
    keys = ["account_id", "month"]
    per = ev.groupby(keys).agg(events=("user_id", "size"), active_users=("user_id", "nunique"))
    feats = ev[~ev["feature"].isin(NON_FEATURE_EVENTS)]
    per["distinct_features"] = feats.groupby(keys)["feature"].nunique().reindex(per.index).fillna(0)
    available = feats["feature"].nunique()
    per = per.reset_index()

    c = contracts.assign(
        start_date=pd.to_datetime(contracts["start_date"]), end_date=pd.to_datetime(contracts["end_date"])
    )
    # the term covering each month: in force on at least one of its days, latest start wins
    # (a window holds at least one month)
    covered = pd.concat(
        [current_terms(c, m, m + pd.offsets.MonthEnd(0)).assign(month=m)[[*keys, "seats"]] for m in window.months()],
        ignore_index=True,
    )
    grid = pd.concat([covered[keys], per[keys]]).drop_duplicates()

    act = users.dropna(subset=["activated_at"])
    act = act.assign(act_month=pd.to_datetime(act["activated_at"]).dt.to_period("M").dt.to_timestamp())
    counts = act.groupby(["account_id", "act_month"]).size().rename("n").reset_index()
    pairs = grid.merge(counts, on="account_id", how="left")
    pairs["n"] = np.where(pairs["act_month"] <= pairs["month"], pairs["n"], 0)
    activated = pairs.groupby(keys)["n"].sum().rename("activated_users").reset_index()

    out = grid.merge(activated, on=keys, how="left").merge(covered, on=keys, how="left").merge(per, on=keys, how="left")
    out["activated_users"] = out["activated_users"].fillna(0).astype("int64")
    capped = np.minimum(out["activated_users"], out["seats"].fillna(np.iinfo(np.int64).max))
    out["activated_seats"] = np.where(out["seats"].isna(), out["activated_users"], capped).astype("int64")
    for col in ("active_users", "events", "distinct_features"):
        out[col] = out[col].fillna(0).astype("int64")
    out["depth"] = (out["events"] / out["active_users"].where(out["active_users"] > 0)).astype("float64")
    out["feature_share"] = out["distinct_features"] / available if available else np.nan
    out["depth"] = out["depth"].where(out["active_users"] > 0)
    return monthly_frame(out)
