"""Quarterly trend of retention: logo churn at renewal, gross and net revenue retention."""

from __future__ import annotations

import pandas as pd

from insights.metrics import churn
from insights.analyses.segments import profiles as intelligence
from insights.data.loading import Tables
from insights.metrics.periods import Quarter
from insights.analyses.renewals.pipeline import renewals_in_quarter


def retention_trend(tables: Tables, snap: pd.DataFrame, quarters: list[Quarter], grace_days: int,
                    segment: str = "segment") -> pd.DataFrame:
    """Per quarter: renewals settled, logo churn rate at renewal, churned ARR, and trailing-year GRR / NRR.

    GRR and NRR follow ``insights.analyses.segments.profiles.retention`` with the cohort under contract at
    the quarter end one year earlier (NaN when the snapshot has no such date). Logo churn is
    churned / (renewed + churned) among renewals due in the quarter, left blank while any of
    them is still inside the grace period (``open``).

    Returns
    -------
    pandas.DataFrame
        Indexed by quarter: renewals, renewed, churned, open, logo_churn, churned_arr, grr, nrr.
    """
    rows = {}
    dates = set(snap["obs_date"])
    for q in quarters:
        r = renewals_in_quarter(tables, q, grace_days)
        renewed = int((r["status"] == churn.RENEWED).sum())
        churned = int((r["status"] == churn.CHURNED).sum())
        row = {"renewals": len(r), "renewed": renewed, "churned": churned,
               "open": int((r["status"] == churn.OPEN).sum()),
               # a quarter with renewals still inside the grace period is not settled: its churns are
               # not all known yet, so its rate would be biased low and is left blank
               "logo_churn": (churned / (renewed + churned) if renewed + churned and not (r["status"] == churn.OPEN).any()
                              else float("nan")),
               "churned_arr": float(r.loc[r["status"] == churn.CHURNED, "arr"].sum()),
               "grr": float("nan"), "nrr": float("nan")}
        start = q.end - pd.DateOffset(years=1)
        start = (start + pd.offsets.QuarterEnd(0)).normalize()
        if q.end in dates and start in dates:
            ret = intelligence.retention(snap[snap["obs_date"] == start], snap[snap["obs_date"] == q.end], segment)
            row["grr"], row["nrr"] = float(ret.iloc[-1]["grr"]), float(ret.iloc[-1]["nrr"])
        rows[str(q)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "quarter"
    return out
