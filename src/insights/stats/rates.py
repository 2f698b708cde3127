"""Rates of a 0/1 outcome per group, with Wilson score intervals, on any table.

``churn_rate`` is the one place that turns a table of outcomes into counts, rates and
intervals: the churn rate of a segment, the renewal rate of a tier, the logo churn of a
quarter. Which rows count is decided by two columns the caller names: the outcome (rows where
it is missing have no outcome and are left out) and, optionally, a ``settled`` flag (rows whose
outcome could still change are left out; with ``complete_only`` a group with any of them gets
no rate at all). ``TOTAL`` labels the all-rows row of every table of the package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.errors import ParameterError
from insights.stats.intervals import _wilson, wilson_method
from insights.stats.levels import check_level, z_value
from insights.stats.table_checks import require_columns

#: Label of the row that covers all rows (all accounts) in every grouped table.
TOTAL = "All accounts"
#: Columns of ``churn_rate``, in order (``unsettled`` only when a settled column is given).
RATE_COLUMNS = ("n", "events", "rate", "low", "high", "method")


def group_order(values: pd.Series, order=None) -> list:
    """The groups of a column, in a stable order.

    Parameters
    ----------
    values : pandas.Series
        Group labels (missing labels are no group).
    order : sequence, optional
        Groups to list, in this order, whether present or not.

    Returns
    -------
    list
        ``order`` when given; else the labels present, in category order for a categorical
        column and sorted (as text) otherwise.
    """
    if order is not None:
        return list(order)
    present = set(values.dropna())
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [c for c in values.cat.categories if c in present]
    return sorted(present, key=str)


def _flag(frame: pd.DataFrame, column: str, what: str, allow_missing: bool) -> pd.Series:
    """A 0/1 column as float (NaN kept when allowed), or a ParameterError naming the column."""
    col = frame[column]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        values = col.astype("Float64")
    elif col.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all():  # True/False with gaps
        values = col.map({True: 1.0, False: 0.0}).astype("Float64")
    else:
        raise ParameterError(
            f"{what} column {column!r} must hold 0/1 or True/False, not {col.dtype} values "
            f"(e.g. {list(col.dropna().unique()[:3])}); recode it first, e.g. "
            f"frame[{column!r}].eq('Yes')."
        )
    values = values.astype(float)
    if not allow_missing and values.isna().any():
        raise ParameterError(
            f"{what} column {column!r} has {int(values.isna().sum())} missing value(s); "
            "say for every row whether it counts (True/False)."
        )
    bad = values.notna() & ~values.isin([0.0, 1.0])
    if bad.any():
        raise ParameterError(
            f"{what} column {column!r} must hold only 0 and 1 (or True/False); found "
            f"{sorted(values[bad].unique().tolist())[:5]}."
        )
    return values


def churn_rate(
    frame: pd.DataFrame,
    outcome: str = "churned",
    by: str | None = None,
    settled: str | None = None,
    level: float = 0.95,
    order=None,
    total: str | None = TOTAL,
    complete_only: bool = False,
) -> pd.DataFrame:
    """Share of rows with outcome 1, per group and in total, with a Wilson score interval.

    A row counts when its outcome is not missing and, given ``settled``, when it is settled.
    With churn labels (1 churned, 0 renewed) this is the churn rate; pass a renewal flag as
    ``outcome`` for the renewal rate. In this package a renewal counts once its grace period has
    passed (``insights.metrics.churn.settled``: the ``settled`` column of the snapshots and of
    ``contract_outcomes``), since a renewal is seen at once but a churn only after the grace
    period, and counting unsettled renewals would bias the churn rate low.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table with one row per renewal (or customer).
    outcome : str
        Column of 0/1 (or True/False) outcomes; missing values mean "no outcome" (the row is
        left out).
    by : str, optional
        Group column. Without it only the ``total`` row is returned.
    settled : str, optional
        Boolean column: rows where it is False are left out (and counted in ``unsettled``).
    level : float
        Confidence level of the intervals.
    order : sequence, optional
        Groups to report, in this order; a group absent from ``frame`` gets ``n = 0``.
        Default: the groups present (``group_order``).
    total : str or None
        Label of the row over all rows (including rows whose group is missing or not in
        ``order``); None for no total row. Default ``TOTAL``.
    complete_only : bool
        If True, a group with any unsettled row gets no rate (NaN rate and interval): use it
        for periods (a quarter's churn rate must cover all renewals due in it).

    Returns
    -------
    pandas.DataFrame
        Indexed by group (named ``by``), then ``total``: n (rows counted), events (rows with
        outcome 1), rate, low, high, method (e.g. ``"Wilson score 95% CI"``) and, given
        ``settled``, unsettled (rows left out because not settled, whatever their outcome).
        Rate and interval are NaN for a group with ``n = 0``.

    Raises
    ------
    ParameterError
        If a named column is missing, the outcome is not 0/1, the settled flag is not boolean or
        has missing values, ``level`` is not in (0, 1), ``by`` and ``total`` are both None, or
        ``complete_only`` is asked without ``settled``.
    """
    check_level(level)
    require_columns(frame, {"outcome": outcome, "by": by, "settled": settled}, what="the table of churn_rate")
    if by is None and total is None:
        raise ParameterError("churn_rate without `by` has only the total row: pass total= a label, or by= a column.")
    if complete_only and settled is None:
        raise ParameterError("complete_only needs settled= the column that says which rows are settled.")
    y = _flag(frame, outcome, "outcome", allow_missing=True)
    ok = _flag(frame, settled, "settled", allow_missing=False).astype(bool) if settled else pd.Series(True, frame.index)
    counted = y.notna() & ok
    keys = group_order(frame[by], order) if by is not None else []
    cols = {"n": counted.astype(int), "events": y.where(counted, 0.0), "unsettled": (~ok).astype(int)}
    parts = pd.DataFrame(cols, index=frame.index)
    sums = parts.groupby(frame[by], observed=True, dropna=True).sum() if by is not None else parts.iloc[:0]
    sums.index = pd.Index(list(sums.index), dtype=object)
    table = sums.reindex(pd.Index(keys, dtype=object), fill_value=0)
    if total is not None:
        table = pd.concat([table, parts.sum().to_frame(total).T])
    n = table["n"].to_numpy(dtype=float)
    x = table["events"].to_numpy(dtype=float)
    has = n > 0
    if complete_only:
        has &= table["unsettled"].to_numpy() == 0
    low, high = _wilson(x[has], n[has], z_value(level))
    out = pd.DataFrame({"n": n.astype(int), "events": x.astype(int)}, index=table.index)
    for name, values in (("rate", x[has] / n[has]), ("low", low), ("high", high)):
        column = np.full(len(out), np.nan)
        column[has] = values
        out[name] = column
    out["method"] = wilson_method(level)
    if settled is not None:
        out["unsettled"] = table["unsettled"].to_numpy(dtype=int)
    out.index.name = by
    return out
