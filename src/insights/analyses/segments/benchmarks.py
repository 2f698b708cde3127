"""Segment-relative benchmarks: where an account stands on each metric *within its own segment*.

An account's utilisation is a concern when it is low for its segment and an
opportunity when it is high for its segment, not against the whole base. Segments
too small for a stable benchmark borrow the distribution of their parent segment
(or of all accounts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.errors import ParameterError
from insights.stats.table_checks import require_columns

#: Direction of each snapshot metric: +1 when higher is better for retention, -1 when worse.
DIRECTION = {
    "utilisation": 1,
    "depth": 1,
    "breadth": 1,
    "active_share": 1,
    "satisfaction": 1,
    "csat_180d": 1,
    "perceived_value": 1,
    "switching_cost": 1,
    "integrations": 1,
    "admins": 1,
    "data_volume": 1,
    "onboarding_engagement": 1,
    "revenue_growth": 1,
    "tenure_years": 1,
    "arr": 1,
    "seats": 1,
    "support_burden": -1,
    "urgent_share": -1,
    "price_per_active_user": -1,
}
CONCERN, OPPORTUNITY, TYPICAL = "concern", "opportunity", "typical"


def percentile_against(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mid-rank percentile (0-100) of each value within ``reference`` (NaNs ignored, kept NaN).

    ``100 * (#below + 0.5 * #equal) / n`` — the usual definition for tied data.

    Parameters
    ----------
    values : numpy.ndarray of float
        Values to place.
    reference : numpy.ndarray of float
        The distribution they are placed in.

    Returns
    -------
    numpy.ndarray of float
        One percentile per value; all NaN when ``reference`` has no value.
    """
    ref = np.sort(reference[~np.isnan(reference)])
    out = np.full(len(values), np.nan)
    if len(ref) == 0:
        return out
    ok = ~np.isnan(values)
    below = np.searchsorted(ref, values[ok], side="left")
    upto = np.searchsorted(ref, values[ok], side="right")
    out[ok] = 100.0 * (below + 0.5 * (upto - below)) / len(ref)
    return out


def segment_benchmarks(
    frame: pd.DataFrame,
    metrics,
    segment: str,
    parent: str | None = None,
    by: str | None = "obs_date",
    min_size: int = 30,
    low: float = 20.0,
    high: float = 80.0,
) -> pd.DataFrame:
    """Percentile of every account on every metric within its segment, with concern/opportunity flags.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per account (and observation date, if ``by`` is given).
    metrics : list of str
        Metric columns to benchmark.
    segment : str
        Column with the account's segment.
    parent : str, optional
        Column with the parent segment that small segments borrow from (default: all
        accounts of the same ``by`` group).
    by : str, optional
        Benchmark separately within each value of this column (observation dates).
    min_size : int
        Segments with fewer non-missing values of a metric borrow the parent benchmark.
    low, high : float
        Percentile thresholds: after orienting by ``DIRECTION`` (higher = better), at or
        below ``low`` is a concern, at or above ``high`` an opportunity.

    Returns
    -------
    pandas.DataFrame
        Same index as ``frame``; per metric ``<metric>_pct`` (0-100, in the metric's own
        direction), ``<metric>_flag`` (concern / opportunity / typical / missing) and
        ``<metric>_benchmark`` (the segment or parent whose distribution was used).

    Raises
    ------
    ParameterError
        For unknown columns or thresholds out of order.
    """
    metrics = list(metrics)
    require_columns(frame, [*metrics, segment, *(p for p in (parent, by) if p)], what="the benchmark table")
    if not 0 <= low < high <= 100:
        raise ParameterError("benchmark thresholds need 0 <= low < high <= 100.")
    out = pd.DataFrame(index=frame.index)
    groups = frame.groupby(by, sort=False) if by else [(None, frame)]
    for metric in metrics:
        pct = pd.Series(np.nan, index=frame.index)
        used = pd.Series(pd.NA, index=frame.index, dtype="str")
        for _, part in groups:
            for seg, members in part.groupby(segment, sort=False, dropna=False):
                values = members[metric].to_numpy(dtype=float)
                if np.sum(~np.isnan(values)) >= min_size:
                    ref, name = values, str(seg)
                elif parent is not None:
                    pv = members[parent].iloc[0]
                    ref = part.loc[part[parent] == pv, metric].to_numpy(dtype=float)
                    name = f"{pv} (parent)"
                else:
                    ref, name = part[metric].to_numpy(dtype=float), "all accounts (parent)"
                pct[members.index] = percentile_against(values, ref)
                used[members.index] = name
        oriented = pct if DIRECTION.get(metric, 1) > 0 else 100 - pct
        flag = np.select(
            [oriented.isna(), oriented <= low, oriented >= high], ["missing", CONCERN, OPPORTUNITY], TYPICAL
        )
        out[f"{metric}_pct"] = pct
        out[f"{metric}_flag"] = flag
        out[f"{metric}_benchmark"] = used
    return out


def prioritise_concerns(
    long: pd.DataFrame,
    top: int = 50,
    account: str = "account_id",
    arr: str = "arr",
    metric: str = "metric",
    standing: str = "standing",
    flag: str = "flag",
) -> tuple[pd.DataFrame, int]:
    """The accounts with a concern, ranked by ARR x how far below its segment the account is; the top few.

    A concern says an account is low *for its segment*; with most accounts low on something, a CSM
    needs an order. Each flagged account's *gap* is how far its worst concern lies below the middle
    of its segment: ``50 - min(standing)`` percentile points (0-50; standing is oriented so that
    higher is better). Its *priority* is ``ARR x gap / 50``: ARR weighted by the shortfall, so a
    large account far below its peers comes first. Ties go to the larger ARR, then the account id.

    Parameters
    ----------
    long : pandas.DataFrame
        One row per account and metric (``insights.analyses.segments.profiles.benchmarks``).
    top : int
        Accounts kept (>= 1).
    account, arr, metric, standing, flag : str
        Columns of the account id, its ARR, the metric name, the standing (0-100, higher is better)
        and the flag (``CONCERN`` marks a concern).

    Returns
    -------
    tuple of (pandas.DataFrame, int)
        The ``top`` accounts, highest priority first: rank, account, arr, n_concerns,
        worst_metric, worst_standing, gap_points, priority, concerns (metric names, worst first);
        and the number of flagged accounts left out.

    Raises
    ------
    ParameterError
        If a column is missing or ``top`` < 1.
    """
    require_columns(long, [account, arr, metric, standing, flag], what="the benchmark table")
    if isinstance(top, bool) or int(top) < 1:
        raise ParameterError(f"top must be a whole number of accounts >= 1, got {top!r}.")
    flagged = long[long[flag] == CONCERN].sort_values([account, standing, metric])
    cols = ["rank", account, arr, "n_concerns", "worst_metric", "worst_standing", "gap_points", "priority", "concerns"]
    if flagged.empty:
        return pd.DataFrame(columns=cols), 0
    g = flagged.groupby(account, sort=False)
    out = pd.DataFrame(
        {
            arr: g[arr].first().astype(float),
            "n_concerns": g.size(),
            "worst_metric": g[metric].first(),
            "worst_standing": g[standing].first().astype(float),
            "concerns": g[metric].agg(", ".join),
        }
    )
    out["gap_points"] = (50.0 - out["worst_standing"]).clip(lower=0.0)
    out["priority"] = out[arr] * out["gap_points"] / 50.0
    out = out.rename_axis(account).reset_index()
    out = out.sort_values(["priority", arr, account], ascending=[False, False, True]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[cols].head(int(top)), max(len(out) - int(top), 0)
