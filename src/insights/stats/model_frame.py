"""Checked model matrices for a binary outcome from any DataFrame (column names are parameters).

``model_frame`` turns a table into what a logistic model of ``outcome`` on ``drivers`` and
``controls`` needs, or raises ``ParameterError`` naming the columns and the fix:

- every named column exists (all missing ones listed at once) and no column has two roles;
- rows with a missing value in any used column are dropped (complete cases; the count is in
  ``ModelFrame.n_dropped``), never imputed;
- the outcome is 0/1 (or False/True) with both classes, and the rarer class has at least
  ``min_events`` rows;
- drivers are numeric (or boolean); controls are numeric, boolean or categorical — a
  categorical control (text or pandas category) is dummy-encoded, its first level in sorted
  order the reference, terms named ``column[level]``;
- transformations are explicit (``transforms={"depth": "log1p"}``), never inferred from a name,
  and a value outside a transformation's domain is an error;
- no driver or control is constant, and no set of them is exactly collinear (the design's
  numerical rank, numpy's ``matrix_rank`` tolerance, on centred and scaled columns; the columns
  of every linear dependency are named).

Drivers are standardised over the analysed rows (after their transformation), so effects are per
+1 SD; controls are used as given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.errors import ParameterError
from insights.stats.table_checks import check_full_rank, column_names, require_columns

#: Named transformations: function and the domain it needs.
TRANSFORMS = {
    "log1p": (np.log1p, lambda x: x >= 0, "values >= 0"),
    "log": (np.log, lambda x: x > 0, "values > 0"),
    "sqrt": (np.sqrt, lambda x: x >= 0, "values >= 0"),
}


@dataclass
class ModelFrame:
    """A checked design for a logistic model of a 0/1 outcome.

    Attributes
    ----------
    y : pandas.Series
        The outcome as 0.0/1.0 over the complete rows (the frame's index).
    drivers : pandas.DataFrame
        Standardised drivers (after their transformation), one column per driver name.
    controls : pandas.DataFrame
        Control terms as used (numeric columns as given, categorical ones as indicators
        ``column[level]``); no columns when there are no controls.
    clusters : ndarray of int or None
        Cluster code of each row (``pandas.factorize`` of the cluster column), or None.
    cluster : str or None
        Name of the cluster column.
    n_dropped : int
        Rows dropped for a missing value in a used column.
    transforms : dict
        Column -> name of its transformation (``"log1p"``, ... or the function's name).
    rows : pandas.DataFrame
        The complete rows of the used columns, as given (before any transformation).
    """

    y: pd.Series
    drivers: pd.DataFrame
    controls: pd.DataFrame
    clusters: np.ndarray | None
    cluster: str | None
    n_dropped: int
    transforms: dict[str, str]
    rows: pd.DataFrame

    @property
    def n_rows(self) -> int:
        """Rows analysed."""
        return len(self.y)

    @property
    def n_events(self) -> int:
        """Rows with outcome 1."""
        return int(self.y.sum())

    @property
    def n_clusters(self) -> int:
        """Distinct clusters (the rows when there is no cluster column)."""
        return self.n_rows if self.clusters is None else int(self.clusters.max()) + 1


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(s) or (
        pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)
    )


def _transform(x: pd.Series, how, column: str) -> tuple[pd.Series, str]:
    if callable(how):
        out = pd.Series(np.asarray(how(x), float), index=x.index)
        name = getattr(how, "__name__", "function")
    elif how in TRANSFORMS:
        fn, ok, domain = TRANSFORMS[how]
        valid = ok(x)
        if not valid.all():
            bad = x[~valid]
            raise ParameterError(
                f"transform {how!r} of column {column!r} needs {domain}; {len(bad)} row(s) are "
                f"outside (e.g. {bad.iloc[0]!r}); fix the values or choose another transform."
            )
        out, name = fn(x), how
    else:
        raise ParameterError(
            f"unknown transform {how!r} for column {column!r}; use one of {sorted(TRANSFORMS)} "
            "or a function of a Series."
        )
    if not np.isfinite(out).all():
        raise ParameterError(f"transform {name!r} of column {column!r} gives non-finite values; fix the values.")
    return out, name


def standardise(frame: pd.DataFrame, columns, transforms: dict | None = None) -> pd.DataFrame:
    """Columns as z-scores over the rows of ``frame``, each transformed first if ``transforms`` says so.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : list of str
        Numeric columns without missing values.
    transforms : dict, optional
        Column -> ``"log1p"``, ``"log"``, ``"sqrt"`` or a function of a Series, applied before
        standardising.

    Returns
    -------
    pandas.DataFrame
        Same index, one column per name: ``(x - mean) / sd`` with the population SD (ddof=0).

    Raises
    ------
    ParameterError
        If a transform is unknown or a value is outside its domain, or a column is constant.
    """
    transforms = transforms or {}
    out = pd.DataFrame(index=frame.index)
    constant = []
    for c in columns:
        x = frame[c].astype(float)
        if c in transforms:
            x = _transform(x, transforms[c], c)[0]
        sd = x.std(ddof=0)
        if not sd > 0:
            constant.append(c)
            continue
        out[c] = (x - x.mean()) / sd
    if constant:
        raise ParameterError(
            f"column(s) {constant} are constant over the {len(frame)} rows analysed, so they "
            "cannot explain anything; drop them."
        )
    return out


def _encode_controls(data: pd.DataFrame, controls: list[str], transforms: dict) -> pd.DataFrame:
    """Numeric controls as float (transformed if asked), categorical ones as indicators of all but the first level."""
    parts = []
    for c in controls:
        s = data[c]
        if _is_numeric(s):
            x = s.astype(float)
            parts.append((_transform(x, transforms[c], c)[0] if c in transforms else x).rename(c))
        else:
            if c in transforms:
                raise ParameterError(
                    f"control {c!r} is categorical, so transform {transforms[c]!r} cannot apply; "
                    "drop the transform or make the column numeric."
                )
            try:
                levels = sorted(s.unique())
            except TypeError:  # mixed types: order by their text
                levels = sorted(s.unique(), key=str)
            if len(levels) < 2:
                raise ParameterError(
                    f"categorical control {c!r} has a single level ({levels[0]!r}) in the rows "
                    "analysed; drop it from controls."
                )
            parts.extend((s == lev).astype(float).rename(f"{c}[{lev}]") for lev in levels[1:])
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)


def model_frame(
    frame: pd.DataFrame,
    outcome: str,
    drivers,
    controls=None,
    cluster: str | None = None,
    transforms: dict | None = None,
    min_events: int = 10,
) -> ModelFrame:
    """Check a table and build the standardised design of a logistic model of ``outcome``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per observation.
    outcome : str
        0/1 (or boolean) column.
    drivers : list of str
        Numeric columns whose effects are compared; standardised (per +1 SD).
    controls : list of str, optional
        Columns in every model: numeric or boolean (used as given) or categorical
        (dummy-encoded, first level in sorted order the reference). Default none.
    cluster : str, optional
        Column identifying clusters of correlated rows (e.g. a customer with several rows).
    transforms : dict, optional
        Column -> ``"log1p"``, ``"log"``, ``"sqrt"`` or a function of a Series, applied before
        standardising (drivers) or as is (numeric controls). Nothing is transformed unless named here.
    min_events : int
        Fewest rows each outcome class must have.

    Returns
    -------
    ModelFrame

    Raises
    ------
    ParameterError
        If a column is missing or named twice, the outcome is not 0/1 or has too few rows of a
        class, a driver is not numeric, a transform does not apply, no complete row is left, a
        driver or control is constant, or drivers and controls are exactly collinear.
    """
    if not isinstance(outcome, str):
        raise ParameterError(f"outcome must be a column name, got {outcome!r}.")
    drivers = column_names(drivers, "drivers")
    if not drivers:
        raise ParameterError("drivers must name at least one column.")
    controls = column_names(controls, "controls")
    if cluster is not None and not isinstance(cluster, str):
        raise ParameterError(f"cluster must be a column name or None, got {cluster!r}.")
    roles = [outcome, *drivers, *controls] + ([cluster] if cluster else [])
    twice = sorted({c for c in roles if roles.count(c) > 1})
    if twice:
        raise ParameterError(
            f"column(s) {twice} have two roles (outcome, driver, control, cluster); give each one role."
        )
    require_columns(frame, roles)
    transforms = dict(transforms or {})
    stray = [c for c in transforms if c not in drivers and c not in controls]
    if stray:
        raise ParameterError(f"transforms name column(s) {stray} that are neither drivers nor controls.")
    if isinstance(min_events, bool) or not isinstance(min_events, (int, np.integer)) or min_events < 1:
        raise ParameterError(f"min_events must be a whole number >= 1, got {min_events!r}.")

    not_numeric = [c for c in drivers if not _is_numeric(frame[c])]
    if not_numeric:
        raise ParameterError(
            f"driver column(s) {not_numeric} are not numeric "
            f"({', '.join(str(frame[c].dtype) for c in not_numeric)}); encode them as numbers, "
            "or pass a categorical column as a control (it is dummy-encoded)."
        )
    data = frame[roles].dropna()
    n_dropped = len(frame) - len(data)
    if data.empty:
        raise ParameterError(f"no row has all of {roles} present ({len(frame)} rows); fill or drop missing values.")
    y = _binary_outcome(data[outcome], outcome, min_events)
    Z = standardise(data, drivers, {c: t for c, t in transforms.items() if c in drivers})
    C = _encode_controls(data, controls, transforms)
    constant = [c for c in C.columns if not C[c].std(ddof=0) > 0]
    if constant:
        raise ParameterError(
            f"control term(s) {constant} are constant over the {len(data)} rows analysed; drop them from controls."
        )
    design = pd.concat([Z, C], axis=1)
    check_full_rank(design.to_numpy(float), list(design.columns), "column")
    clusters = pd.factorize(data[cluster])[0] if cluster else None
    if clusters is not None and clusters.max() < 1:
        raise ParameterError(
            f"cluster column {cluster!r} has a single value; pass cluster=None or a column with several clusters."
        )
    names = {c: (getattr(t, "__name__", "function") if callable(t) else t) for c, t in transforms.items()}
    return ModelFrame(y, Z, C, clusters, cluster, int(n_dropped), names, data)


def _binary_outcome(s: pd.Series, name: str, min_events: int) -> pd.Series:
    """The outcome as 0.0/1.0, or an error naming the column, its values and the fix."""
    if pd.api.types.is_bool_dtype(s) or (not pd.api.types.is_string_dtype(s) and s.isin([0, 1]).all()):
        y = s.astype(float)  # numbers 0/1, booleans (also in an object column)
    else:
        found = ", ".join(map(str, pd.unique(s)[:5]))
        raise ParameterError(
            f"outcome {name!r} must be 0/1 (or False/True); found values such as {found}; recode "
            f"it, e.g. (frame[{name!r}] == 'yes').astype(int)."
        )
    events = int(y.sum())
    fewer = min(events, len(y) - events)
    if fewer == 0:
        raise ParameterError(
            f"outcome {name!r} has a single class ({len(y)} rows, all {int(y.iloc[0])}); "
            "comparing drivers needs rows with both outcomes."
        )
    if fewer < min_events:
        raise ParameterError(
            f"outcome {name!r} has {events} events (1) and {len(y) - events} non-events (0); "
            f"at least {min_events} of each are needed (min_events); use more rows."
        )
    return y
