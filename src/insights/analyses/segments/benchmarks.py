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
