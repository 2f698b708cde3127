"""Quarterly trend of retention: logo churn at renewal, gross and net revenue retention."""

from __future__ import annotations

import pandas as pd

from insights.analyses.renewals.pipeline import renewals_in_quarter
from insights.analyses.segments import profiles as intelligence
from insights.data.loading import Tables
from insights.metrics import churn
from insights.metrics.periods import Quarter
from insights.stats.rates import churn_rate


def retention_trend(
    tables: Tables, snap: pd.DataFrame, quarters: list[Quarter], grace_days: int, segment: str = "segment"
) -> pd.DataFrame:
    """Per quarter: renewals settled, logo churn rate at renewal, churned ARR, and trailing-year GRR / NRR.

    GRR and NRR follow ``insights.analyses.segments.profiles.retention`` with the cohort under contract at
    the quarter end one year earlier (NaN when the snapshot has no such date). Logo churn is
    churned / (renewed + churned) among renewals due in the quarter, left blank while any of
    them is not settled (``insights.metrics.churn.settled``): its churns are not all known yet, so
    its rate would be biased low.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    snap : pandas.DataFrame
        Snapshot with account_id, obs_date, arr and the segment column.
    quarters : list of Quarter
        Quarters to report.
    grace_days : int
        Grace period of the churn definition.
    segment : str
        Segment column of the snapshot (for GRR / NRR).

    Returns
    -------
    pandas.DataFrame
        Indexed by quarter: renewals, renewed, churned, open, logo_churn, churned_arr, grr, nrr.
    """
    rows = {}
    dates = set(snap["obs_date"])
    for q in quarters:
        r = renewals_in_quarter(tables, q, grace_days)
        r = r.assign(
            churned=churn.churned_flag(r["status"]), settled=churn.settled(r["renewal_date"], grace_days, tables.as_of)
        )
        rate = churn_rate(r, outcome="churned", settled="settled", complete_only=True).iloc[0]
        row = {
            "renewals": len(r),
            "renewed": int((r["status"] == churn.RENEWED).sum()),
            "churned": int((r["status"] == churn.CHURNED).sum()),
            "open": int((r["status"] == churn.OPEN).sum()),
            "logo_churn": float(rate["rate"]),
            "churned_arr": float(r.loc[r["status"] == churn.CHURNED, "arr"].sum()),
            "grr": float("nan"),
            "nrr": float("nan"),
        }
        start = q.end - pd.DateOffset(years=1)
        start = (start + pd.offsets.QuarterEnd(0)).normalize()
        if q.end in dates and start in dates:
            ret = intelligence.retention(snap[snap["obs_date"] == start], snap[snap["obs_date"] == q.end], segment)
            row["grr"], row["nrr"] = float(ret.iloc[-1]["grr"]), float(ret.iloc[-1]["nrr"])
        rows[str(q)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "quarter"
    return out
