"""Time-based validation splits with a purge gap: train only on rows whose label was known before the test period.

A row observed at ``time`` often gets its label later (a renewal decided months after the
snapshot). Training on a row whose label is decided inside the test period leaks the future, so
a training row must be observed before the cut-off *and* have its label decided before it:

    train:  time < cutoff  (and time <= train_until, if given)
            and label_time + purge < cutoff
    test:   time >= cutoff

``label_time`` defaults to ``time`` itself; ``purge`` is then the gap kept between the last
training observation and the test period (for example one label horizon). Rows observed before
the cut-off that fail the label rule are *purged*: counted, never used.

``expanding_time_folds`` applies the same rule at every distinct observation time, giving the
folds of an expanding-window (forward-chaining) cross-validation.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from insights.errors import ParameterError
from insights.stats.table_checks import require_columns


class TimeSplit(NamedTuple):
    """Row masks of a purged time split (``purged_time_split``).

    Attributes
    ----------
    train, test, purged : numpy.ndarray of bool
        One entry per row of the table: training rows, test rows (observed at or after the
        cut-off), and rows observed before the cut-off left out because their label is decided
        too late.
    method : str
        The rule in one sentence.
    """

    train: np.ndarray
    test: np.ndarray
    purged: np.ndarray
    method: str


class TimeFold(NamedTuple):
    """One fold of an expanding-window cross-validation (``expanding_time_folds``).

    Attributes
    ----------
    cutoff : object
        The validation time (a ``pandas.Timestamp`` for dates).
    fit, validation : numpy.ndarray of bool
        Rows to fit on (purged at ``cutoff``) and rows to validate on (observed at ``cutoff``).
    """

    cutoff: object
    fit: np.ndarray
    validation: np.ndarray


def _times(frame: pd.DataFrame, column: Hashable) -> pd.Series:
    values = frame[column]
    if not (ptypes.is_datetime64_any_dtype(values) or ptypes.is_numeric_dtype(values)) or ptypes.is_bool_dtype(values):
        raise ParameterError(
            f"time column {column!r} must hold dates or numbers, got {values.dtype}; convert it with "
            "pd.to_datetime or to a number of periods."
        )
    return values


def _show(value) -> str:
    """A cut-off or gap for a message: dates without a midnight time, spans as ``30 days``."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return f"{value:%Y-%m-%d}"
    if isinstance(value, pd.Timedelta) and value == value.floor("D"):
        return f"{value.days} days"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _gap(times: pd.Series, purge) -> pd.Timedelta | float:
    """The purge gap in the unit of ``times`` (a Timedelta for dates, a number otherwise)."""
    number = isinstance(purge, (int, float, np.integer, np.floating)) and not isinstance(purge, bool)
    gap: pd.Timedelta | float
    if ptypes.is_datetime64_any_dtype(times):
        if number and purge == 0:
            return pd.Timedelta(0)
        span: pd.Timedelta | None
        try:
            span = None if number else pd.Timedelta(purge)
        except (TypeError, ValueError):
            span = None
        if span is None or span is pd.NaT:
            raise ParameterError(
                f"purge must be a time span for a date column, got {purge!r}: pass for example "
                "pd.Timedelta(days=365) or '365D'."
            )
        gap, negative = span, span < pd.Timedelta(0)
    else:
        if not number:
            raise ParameterError(f"purge must be a number in the unit of the time column, got {purge!r}.")
        gap = float(purge)
        negative = gap < 0.0
    if negative:
        raise ParameterError(f"purge must not be negative, got {purge!r}.")
    return gap


def purged_time_split(
    frame: pd.DataFrame,
    time: Hashable,
    cutoff,
    purge=0,
    label_time: Hashable | None = None,
    train_until=None,
    label: Hashable | None = None,
) -> TimeSplit:
    """Split rows by time: train before ``cutoff`` on labels decided before it, test from ``cutoff`` on.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table with a time column.
    time : hashable
        Column with the time each row is observed (dates or numbers).
    cutoff : date-like or number
        Start of the test period.
    purge : timedelta-like or number
        Gap between a training row's label time and the cut-off: a training row needs
        ``label_time + purge < cutoff``. For a date column pass a time span
        (``pd.Timedelta(days=30)``, ``"30D"``; ``0`` means none); for a numeric column a number.
    label_time : hashable, optional
        Column with the time each row's label is decided (default: ``time``).
    train_until : date-like or number, optional
        Last observation time a training row may have (inclusive; default: anything before
        ``cutoff``), to leave a further gap.
    label : hashable, optional
        Outcome column: rows with a missing label are in none of the three masks.

    Returns
    -------
    TimeSplit
        Boolean masks ``train``, ``test``, ``purged`` (one entry per row) and the rule as ``method``.

    Raises
    ------
    ParameterError
        If a column is missing, the time columns hold neither dates nor numbers, the purge gap
        is not a span in the time column's unit or is negative, or ``train_until`` is not
        before ``cutoff``.
    """
    require_columns(frame, [time, label_time, label], "the table to split")
    times = _times(frame, time)
    decided = _times(frame, label_time) if label_time is not None else times
    gap = _gap(times, purge)
    if ptypes.is_datetime64_any_dtype(times):
        cutoff = pd.Timestamp(cutoff)
        train_until = None if train_until is None else pd.Timestamp(train_until)
    if train_until is not None and not train_until < cutoff:
        raise ParameterError(f"train_until ({train_until}) must come before the cut-off ({cutoff}).")
    known = frame[label].notna().to_numpy() if label is not None else np.ones(len(frame), bool)
    before = (times < cutoff).to_numpy()
    if train_until is not None:
        before = before & (times <= train_until).to_numpy()
    settled = ((decided + gap) < cutoff).to_numpy()
    train = known & before & settled
    cut = _show(cutoff)
    rule = (
        f"train on rows observed before {cut}"
        + (f" up to {_show(train_until)}" if train_until is not None else "")
        + f" whose label time{'' if label_time is None else f' ({label_time})'} plus a purge gap of {_show(gap)} "
        f"falls before {cut}; test on rows observed from {cut}"
    )
    return TimeSplit(train, known & (times >= cutoff).to_numpy(), known & before & ~settled, rule)


def expanding_time_folds(
    frame: pd.DataFrame, time: Hashable, purge=0, label_time: Hashable | None = None, label: Hashable | None = None
) -> list[TimeFold]:
    """Expanding-window folds: validate on each observation time after the first, fit on the rows purged at it.

    Each fold validates on the rows observed at one time ``t`` and fits on
    ``purged_time_split(frame, time, cutoff=t, purge, label_time, label=label).train``. With a
    ``label`` column, rows without a label are left out and a fold is kept only when both its
    fit and its validation rows hold both classes (0 and 1).

    Parameters
    ----------
    frame : pandas.DataFrame
    time, purge, label_time, label
        As in ``purged_time_split``.

    Returns
    -------
    list of TimeFold
        In time order; ``cutoff`` is a ``pandas.Timestamp`` for a date column.

    Raises
    ------
    ParameterError
        As ``purged_time_split``.
    """
    require_columns(frame, [time, label_time, label], "the table to split")
    times = _times(frame, time)
    known = frame[label].notna().to_numpy() if label is not None else np.ones(len(frame), bool)
    folds = []
    for t in np.sort(times[known].unique())[1:]:
        cut = pd.Timestamp(t) if ptypes.is_datetime64_any_dtype(times) else t
        fit = purged_time_split(frame, time, cut, purge, label_time, label=label).train
        val = known & (times == t).to_numpy()
        if label is not None:
            y = frame[label]
            if y[fit].nunique() < 2 or y[val].nunique() < 2:
                continue
        folds.append(TimeFold(cut, fit, val))
    return folds
