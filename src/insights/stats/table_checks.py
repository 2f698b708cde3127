"""Checks of a user's table before a statistic runs: columns present, numeric, 0/1, not constant or collinear.

Every check raises ``insights.errors.ParameterError`` naming the offending columns and saying what
to fix, so a caller never sees a bare ``KeyError``, ``ValueError`` or ``LinAlgError`` from deeper down.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from insights.errors import ParameterError


def require_columns(
    frame,
    columns: Sequence[Hashable] | Mapping[str, Hashable | None],
    what: str = "the table",
    fix: str = "Pass the names of existing columns.",
) -> None:
    """Check that ``frame`` is a DataFrame holding every column of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The user's table.
    columns : sequence of hashable, or mapping of str to hashable
        Columns the statistic needs (duplicates allowed, ``None`` entries skipped). A mapping
        names each column's role (parameter), e.g. ``{"outcome": "churned"}``, and the message
        then says which parameter named a missing column.
    what : str
        How to call the table in the message (for example ``"the survival table"``).
    fix : str
        What the user should do, ending the message (default: pass the names of existing columns).

    Raises
    ------
    ParameterError
        If ``frame`` is not a DataFrame, or listing every missing column with the columns the
        table has.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}.")
    roles = dict(columns) if isinstance(columns, Mapping) else {}
    wanted = roles.values() if roles else columns
    missing = list(dict.fromkeys(c for c in wanted if c is not None and c not in frame.columns))
    if missing:
        named = (
            f" for {', '.join(f'{role}={col!r}' for role, col in roles.items() if col in missing)}"
            if roles
            else f"(s) {missing}"
        )
        raise ParameterError(f"{what} has no column{named}; its columns are {list(frame.columns)}. {fix}")


def column_names(value, role: str) -> list[str]:
    """A parameter that names columns, as a list: one name or several, each a string named once.

    Parameters
    ----------
    value : str, iterable of str or None
        What the caller passed; a single string is one column, None is none.
    role : str
        The parameter's name, used in the message (for example ``"drivers"``).

    Returns
    -------
    list of str
        The names in the order given (empty for None).

    Raises
    ------
    ParameterError
        If a name is not a string, or a column is named more than once.
    """
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    bad = [v for v in names if not isinstance(v, str)]
    if bad:
        raise ParameterError(f"{role} must be column names (strings), got {bad!r}.")
    dup = sorted({v for v in names if names.count(v) > 1})
    if dup:
        raise ParameterError(f"{role} name column(s) {dup} more than once; list each once.")
    return names


def numeric_values(frame: pd.DataFrame, columns: Sequence[Hashable], allow_missing: bool = False) -> np.ndarray:
    """The named columns as a float array, after checking they are numeric (and complete).

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : sequence of hashable
        Columns to read (they must exist; see ``require_columns``).
    allow_missing : bool
        Whether missing values may pass (as NaN).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(frame), len(columns))``, dtype float.

    Raises
    ------
    ParameterError
        Naming the columns that are not numeric (or boolean), and, unless ``allow_missing``, the
        columns holding missing or infinite values with their counts.
    """
    columns = list(columns)
    bad = [c for c in columns if not (ptypes.is_numeric_dtype(frame[c]) or ptypes.is_bool_dtype(frame[c]))]
    if bad:
        kinds = {c: str(frame[c].dtype) for c in bad}
        raise ParameterError(
            f"column(s) {bad} are not numeric ({kinds}); encode them as numbers first (for example "
            "pd.get_dummies for a category, or a number of days for a date)."
        )
    values = frame[columns].astype(float).to_numpy()
    if not allow_missing:
        holes = {c: int(n) for c, n in zip(columns, (~np.isfinite(values)).sum(axis=0)) if n}
        if holes:
            raise ParameterError(
                f"missing or infinite values in {holes} (column: rows); drop or impute those rows first."
            )
    return values


def binary_values(frame: pd.DataFrame, column: Hashable, both: bool = True) -> np.ndarray:
    """A 0/1 (or boolean) column as a float array of 0.0 and 1.0.

    Parameters
    ----------
    frame : pandas.DataFrame
    column : hashable
        The outcome or event column.
    both : bool
        Whether both values must occur.

    Returns
    -------
    numpy.ndarray
        Float array of 0.0 / 1.0, one per row.

    Raises
    ------
    ParameterError
        If the column has missing values, values other than 0/1 (a few are shown), or, with
        ``both``, only one of the two values.
    """
    values = numeric_values(frame, [column])[:, 0]
    other = np.unique(values[(values != 0) & (values != 1)])
    if other.size:
        raise ParameterError(
            f"column {column!r} must be 0/1 (or True/False), but holds {other[:5].tolist()}; recode "
            "it, for example (frame[col] > 0).astype(int)."
        )
    if both and np.unique(values).size < 2:
        only = int(values[0]) if values.size else "nothing"
        raise ParameterError(
            f"column {column!r} holds a single class (only {only}); a comparison needs rows with both 0 and 1."
        )
    return values


def collinear_columns(values: np.ndarray, names: Sequence[Hashable]) -> tuple[list[Hashable], int]:
    """Columns involved in exact linear dependencies (together with the intercept), and how many there are.

    The columns are centred and scaled to unit root mean square; the right singular vectors of
    singular values at or below numpy's ``matrix_rank`` tolerance (largest singular value x
    largest dimension x machine epsilon) span the dependencies.

    Parameters
    ----------
    values : numpy.ndarray
        Shape ``(rows, len(names))``, numeric, no missing values, no constant column.
    names : sequence of hashable
        Column names, in the order of the columns of ``values``.

    Returns
    -------
    columns : list of hashable
        Names of the columns with a non-negligible weight (above 1e-6) in a dependency, in column
        order; empty when the centred matrix has full column rank.
    deficiency : int
        Number of independent dependencies (columns minus numerical rank): dropping that many of
        ``columns`` (well chosen) removes them.
    """
    names = list(names)
    A = np.asarray(values, dtype=float)
    if A.ndim != 2 or A.shape[1] == 0:
        return [], 0
    A = A - A.mean(axis=0)
    A = A / np.sqrt((A**2).mean(axis=0))
    _, s, vt = np.linalg.svd(A, full_matrices=False)
    null = vt[s <= s.max() * max(A.shape) * np.finfo(float).eps]
    if not len(null):
        return [], 0
    weight = np.abs(null).max(axis=0)
    return [n for n, w in zip(names, weight) if w > 1e-6], len(null)


def check_full_rank(values: np.ndarray, names: Sequence[Hashable], what: str = "covariate") -> None:
    """Refuse constant columns and exactly collinear sets of columns.

    A column is constant when it equals its mean in every row; collinear sets are those found by
    ``collinear_columns`` (exact linear dependencies among the columns and the intercept).

    Parameters
    ----------
    values : numpy.ndarray
        Shape ``(rows, len(names))``, no missing values.
    names : sequence of hashable
        Column names, for the message.
    what : str
        What the columns are (``"covariate"``, ``"driver"``, ``"column"``).

    Raises
    ------
    ParameterError
        Naming the constant columns, or the columns involved in an exact linear dependency and how
        many of them to drop or combine.
    """
    names = list(names)
    x = np.asarray(values, dtype=float)
    centred = x - x.mean(axis=0)
    constant = [n for n, s in zip(names, np.abs(centred).max(axis=0, initial=0.0)) if s == 0]
    if constant:
        raise ParameterError(
            f"{what}(s) {constant} are constant; a constant {what} has no effect to estimate: drop it."
        )
    involved, deficiency = collinear_columns(x, names)
    if deficiency:
        raise ParameterError(
            f"{what}(s) {involved} are exactly collinear: {deficiency} of them "
            f"{'is a linear combination' if deficiency == 1 else 'are linear combinations'} of the "
            "others (and the intercept), so their effects cannot be told apart; drop "
            f"{deficiency} of them or combine them."
        )
