"""Checks of an experiment table (one row per unit): its columns, its arms and its outcome.

Each check raises ``ParameterError`` naming the column and saying what to fix, so that
``insights.stats.experiments.compare_arms`` never fails with a bare ``KeyError`` or a
message about ``y1``/``y0`` that the caller never passed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from insights.errors import ParameterError
from insights.stats.table_checks import require_columns

OUTCOME_KINDS = ("auto", "binary", "numeric")


def check_columns(frame: pd.DataFrame, columns: dict[str, Hashable | None]) -> None:
    """Check that the named columns exist and have no missing values.

    Parameters
    ----------
    frame : pandas.DataFrame
        The experiment table.
    columns : dict of str to column name or None
        Role (``"arm"``, ``"outcome"``, ``"strata"``, ``"covariate"``) to the column given for
        it; roles given as None are skipped.

    Raises
    ------
    ParameterError
        If ``frame`` is not a DataFrame, two roles name the same column, a column is missing
        (all of them are listed, with the columns the table has) or holds missing values.
    """
    require_columns(frame, columns, what="the experiment table")
    given = {role: col for role, col in columns.items() if col is not None}
    seen: dict[Hashable, str] = {}
    for role, col in given.items():
        if col in seen:
            raise ParameterError(f"{seen[col]}= and {role}= both name column {col!r}; each role needs its own column")
        seen[col] = role
    gaps = {col: int(n) for col in given.values() if (n := frame[col].isna().sum())}
    if gaps:
        listed = ", ".join(f"{col!r} ({n} row(s))" for col, n in gaps.items())
        raise ParameterError(f"missing values in {listed}; drop or fill those rows before comparing the arms")


def arm_values(values: pd.Series, column: Hashable) -> list:
    """The distinct arms of an arm column, in a stable order.

    Parameters
    ----------
    values : pandas.Series
        The arm column (no missing values).
    column : hashable
        Its name, for messages.

    Returns
    -------
    list
        The categories in their order for a categorical column, otherwise the distinct values
        sorted (in order of first appearance when they cannot be sorted).

    Raises
    ------
    ParameterError
        If the column holds fewer than two arms.
    """
    found = list(pd.unique(values))
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(found)
        found = [c for c in values.cat.categories if c in present]
    else:
        with contextlib.suppress(TypeError):  # values that cannot be sorted keep their order of appearance
            found = sorted(found)
    if len(found) < 2:
        raise ParameterError(
            f"column {column!r} holds a single arm {found}: a comparison needs a control and at least one treatment arm"
        )
    return found


def resolve_arms(found: list, column: Hashable, control, treatments: Iterable | None) -> tuple[list, list]:
    """The control and the treatment arms to compare with it.

    Parameters
    ----------
    found : list
        The arms present in the table (from ``arm_values``).
    column : hashable
        The arm column, for messages.
    control : object
        The control arm's value.
    treatments : iterable or None
        Treatment arms (list, tuple, array, Index); None means every other arm, in the order of
        ``found``.

    Returns
    -------
    (list, list)
        ``[control]`` and the treatment arms.

    Raises
    ------
    ParameterError
        If the control is not an arm of the table, a treatment has no units, is the control or
        is listed twice, or ``treatments`` is empty or a single string.
    """
    if control not in found:
        raise ParameterError(
            f"control arm {control!r} is not in column {column!r}; its arms are {found}. Pass one of them as control="
        )
    if treatments is None:
        return [control], [a for a in found if a != control]
    if isinstance(treatments, (str, bytes)) or not isinstance(treatments, Iterable):
        raise ParameterError(f"treatments must be a list of arm names, e.g. [{treatments!r}], got {treatments!r}")
    treatments = list(treatments)
    if not treatments:
        raise ParameterError("treatments is empty; pass at least one treatment arm, or None for every other arm")
    absent = [t for t in treatments if t not in found]
    if absent:
        raise ParameterError(f"treatment arm(s) {absent} have no units in column {column!r}; its arms are {found}")
    if control in treatments:
        raise ParameterError(f"arm {control!r} is the control and cannot also be a treatment")
    if len(set(treatments)) != len(treatments):
        raise ParameterError(f"treatments lists an arm more than once: {treatments}")
    return [control], treatments


def outcome_kind(values: pd.Series, column: Hashable, kind: str = "auto") -> str:
    """Whether an outcome column is compared as proportions (binary) or as means (numeric).

    Parameters
    ----------
    values : pandas.Series
        The outcome column (no missing values).
    column : hashable
        Its name, for messages.
    kind : {"auto", "binary", "numeric"}, default "auto"
        "auto": booleans and numbers that are all 0 or 1 are binary, other numbers numeric.

    Returns
    -------
    str
        ``"binary"`` or ``"numeric"``.

    Raises
    ------
    ParameterError
        If ``kind`` is unknown, the column is neither boolean nor numeric, holds infinite
        values, or ``kind="binary"`` is asked for values other than 0 and 1.
    """
    if kind not in OUTCOME_KINDS:
        raise ParameterError(f"outcome_kind must be one of {list(OUTCOME_KINDS)}, got {kind!r}")
    if ptypes.is_bool_dtype(values.dtype):
        return "binary" if kind == "auto" else kind
    y = _floats(
        values,
        f"outcome column {column!r}",
        f"map it to 0/1 or to numbers first, e.g. frame[{column!r}].map({{...: 1, ...: 0}})",
    )
    zero_one = bool(np.isin(y, (0.0, 1.0)).all())
    if kind == "binary" and not zero_one:
        raise ParameterError(
            f"outcome_kind='binary' but column {column!r} holds values other than 0 and 1; "
            "use outcome_kind='numeric' or recode it"
        )
    if kind == "auto":
        return "binary" if zero_one else "numeric"
    return kind


def check_covariate(values: pd.Series, column: Hashable) -> np.ndarray:
    """A pre-period covariate as floats.

    Parameters
    ----------
    values : pandas.Series
        The covariate over the compared units (no missing values).
    column : hashable
        Its name, for messages.

    Returns
    -------
    numpy.ndarray of float

    Raises
    ------
    ParameterError
        If the covariate is not boolean or numeric, holds infinite values or is constant.
    """
    x = _floats(values, f"covariate column {column!r}", "pass a numeric pre-period measure or drop covariate=")
    if np.ptp(x) == 0:
        raise ParameterError(f"covariate column {column!r} is constant, so it cannot adjust anything; drop covariate=")
    return x


def _floats(values: pd.Series, what: str, fix: str) -> np.ndarray:
    """A boolean or numeric column as finite floats; ``what`` names it in the ParameterError, ``fix`` helps."""
    if not (ptypes.is_bool_dtype(values.dtype) or ptypes.is_numeric_dtype(values.dtype)):
        raise ParameterError(
            f"{what} must be boolean or numeric (dtype {values.dtype}, values such as "
            f"{list(pd.unique(values))[:3]}); {fix}"
        )
    out = values.to_numpy(dtype=float)
    if np.isinf(out).any():
        raise ParameterError(f"{what} holds infinite values; drop or cap them first")
    return out


def check_arm_sizes(sizes: dict, column: Hashable, minimum: int, why: str) -> None:
    """Check that every compared arm has at least ``minimum`` units.

    Parameters
    ----------
    sizes : dict
        Arm to number of units.
    column : hashable
        The arm column, for messages.
    minimum : int
        Units needed per arm.
    why : str
        What needs them, e.g. "a comparison of means".

    Raises
    ------
    ParameterError
        Naming every arm that is too small.
    """
    small = {arm: n for arm, n in sizes.items() if n < minimum}
    if small:
        listed = ", ".join(f"{arm!r} has {n}" for arm, n in small.items())
        raise ParameterError(f"{why} needs at least {minimum} units per arm, but in column {column!r} {listed}")
