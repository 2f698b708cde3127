"""Checks raw tables against the data contract and collects *every* violation.

Each violation names the table, column, rule, how many rows break it and a few
example keys, so one run tells the user everything to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insights.data import contract  # first: it imports pandera with pyspark's pandas-3 warning silenced
from insights.data.contract import DATE, DATETIME, FLOAT, INT, MONTH, STR

# isort: split
import pandera.pandas as pa  # after insights.data.contract (see above)

N_EXAMPLES = 5


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    table, column, rule : str
        Where the rule is broken and which rule (``"—"`` as column for table-level problems).
    count : int
        Rows (or, for a missing table/column, occurrences) that break the rule.
    examples : tuple of str
        Up to five example keys (with the offending value where useful).
    """

    table: str
    column: str
    rule: str
    count: int
    examples: tuple[str, ...] = ()


def violations_frame(violations: list[Violation]) -> pd.DataFrame:
    """Return violations as a DataFrame.

    Parameters
    ----------
    violations : list of Violation
        As found by ``validate_tables``.

    Returns
    -------
    pandas.DataFrame
        One row per violation with columns table, column, rule, count, examples (joined by ", ");
        empty with those columns when there are none.
    """
    return pd.DataFrame(
        [
            {"table": v.table, "column": v.column, "rule": v.rule, "count": v.count, "examples": ", ".join(v.examples)}
            for v in violations
        ],
        columns=["table", "column", "rule", "count", "examples"],
    )


# --- keys and examples ---------------------------------------------------------------


def _label(frame: pd.DataFrame, spec: contract.Table, i) -> str:
    """A readable label for row ``i``: its key values, or its row number for event logs."""
    key = [k for k in spec.key if k in frame.columns]
    if not key:
        position = frame.index.get_loc(i)
        if not isinstance(position, int):  # a repeated index label: number the first of its rows
            position = int(np.flatnonzero(frame.index == i)[0])
        return f"row {position + 1}"
    values: list[Any] = [frame.at[i, k] for k in key]
    return "|".join("<empty>" if pd.isna(value) else str(value) for value in values)


def _show(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _examples(frame: pd.DataFrame, spec: contract.Table, mask, values: pd.Series | None = None) -> tuple[str, ...]:
    """Labels of the first few rows where ``mask`` holds (with the offending value if given)."""
    idx = frame.index[np.asarray(mask, dtype=bool)][: N_EXAMPLES * 4]
    labels = (
        list(dict.fromkeys(_label(frame, spec, i) for i in idx))[:N_EXAMPLES]
        if values is None
        else [f"{_label(frame, spec, i)} ({_show(values[i])})" for i in idx[:N_EXAMPLES]]
    )
    return tuple(labels)


# --- type coercion -----------------------------------------------------------------


def _blank(series: pd.Series) -> pd.Series:
    """True where a raw value is missing (NA or an empty/whitespace string)."""
    as_text = series.astype("string")
    return series.isna() | as_text.str.strip().eq("").fillna(False)


def coerce_column(series: pd.Series, kind: str) -> tuple[pd.Series, pd.Series, str]:
    """Convert one raw column to its contract type.

    Parameters
    ----------
    series : pandas.Series
        The raw column (text from CSV, or already typed from Parquet).
    kind : str
        A contract column kind: ``str``, ``int``, ``float``, ``date``, ``datetime`` or ``month``.

    Returns
    -------
    typed : pandas.Series
        Values of the contract type (``str``, ``Int64``, ``float64`` or ``datetime64[ns]``), missing where
        blank or unparseable.
    bad : pandas.Series of bool
        Non-empty raw values that could not be converted.
    rule : str
        Name of the parsing rule, for the violation report.

    Raises
    ------
    ValueError
        If ``kind`` is not a contract column kind (a programming error).
    """
    blank = _blank(series)
    if kind == STR:
        typed = series.astype("string").str.strip().mask(blank).astype("str")
        return typed, pd.Series(False, index=series.index), "text"
    if kind in (INT, FLOAT):
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            numbers = series.astype("float64")
        else:
            numbers = pd.to_numeric(series.astype("string").str.strip().mask(blank), errors="coerce")
            numbers = numbers.astype("float64")
        bad = numbers.isna() & ~blank
        if kind == INT:
            fractional = numbers.notna() & (numbers != np.round(numbers))
            numbers = numbers.mask(fractional)
            bad = bad | fractional
            return numbers.astype("Int64"), bad, "not a whole number"
        return numbers, bad, "not a number"
    if kind in (DATE, DATETIME, MONTH):
        if pd.api.types.is_datetime64_any_dtype(series):
            stamps = series
        else:
            text = series.astype("string").str.strip().mask(blank)
            stamps = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        stamps = stamps.astype("datetime64[ns]")
        bad = stamps.isna() & ~blank
        if kind == DATE:
            stamps = stamps.dt.normalize()
        elif kind == MONTH:
            stamps = stamps.dt.to_period("M").dt.start_time.astype("datetime64[ns]")
        rule = "unparseable date" if kind != DATETIME else "unparseable timestamp"
        return stamps, bad, rule
    raise ValueError(f"unknown column kind {kind!r}")


def coerce_table(name: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Violation]]:
    """Type the columns of one raw table; report missing columns, unparseable and missing values.

    Columns outside the contract are kept as they are.

    Parameters
    ----------
    name : str
        Table name in ``insights.data.contract.TABLES``.
    raw : pandas.DataFrame
        The table as read.

    Returns
    -------
    typed : pandas.DataFrame
        A copy with each contract column converted by ``coerce_column``.
    violations : list of Violation
        Missing columns, unparseable values and missing values in non-nullable columns.
    """
    spec = contract.TABLES[name]
    out: list[Violation] = []
    typed = raw.copy()
    for col in spec.columns:
        if col.name not in raw.columns and col.optional:
            continue
        if col.name not in raw.columns:
            out.append(
                Violation(
                    name, col.name, "missing column", 1, (f"columns present: {', '.join(map(str, raw.columns))}"[:200],)
                )
            )
            continue
        values, bad, rule = coerce_column(raw[col.name], col.kind)
        typed[col.name] = values
        if bad.any():
            out.append(Violation(name, col.name, rule, int(bad.sum()), _examples(raw, spec, bad, raw[col.name])))
        if not col.nullable:
            missing = _blank(raw[col.name])
            if missing.any():
                out.append(
                    Violation(name, col.name, "missing value", int(missing.sum()), _examples(raw, spec, missing))
                )
    return typed, out


# --- rules on typed tables ---------------------------------------------------------


def check_values(name: str, typed: pd.DataFrame) -> list[Violation]:
    """Bounds and allowed values (pandera, lazy: every failure is collected).

    Parameters
    ----------
    name : str
        Table name in ``insights.data.contract.TABLES``.
    typed : pandas.DataFrame
        The table after ``coerce_table``; contract columns it lacks are skipped.

    Returns
    -------
    list of Violation
        Violations of numeric bounds and allowed values, one per column and rule; empty if none.
    """
    spec = contract.TABLES[name]
    present = [c.name for c in spec.columns if c.name in typed.columns]
    schema = contract.pandera_schema(name, check_nulls=False)
    schema = schema.select_columns(present)
    try:
        with contract.quiet_pyspark():
            schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    cases = cases[cases["index"].notna() & cases["column"].notna()]
    out = []
    for (column, check), group in cases.groupby(["column", "check"], sort=True):
        rows = pd.Index(group["index"].astype("int64").unique())
        mask = typed.index.isin(rows)
        out.append(
            Violation(
                name,
                str(column),
                _rule_name(spec.column(str(column)), str(check)),
                int(mask.sum()),
                _examples(typed, spec, mask, typed[column]),
            )
        )
    return out


def _rule_name(col: contract.Column, check: str) -> str:
    """A readable rule for a pandera check name."""
    if check.startswith("greater_than_or_equal_to"):
        return f"below minimum {col.min:g}"
    if check.startswith("less_than_or_equal_to"):
        return f"above maximum {col.max:g}"
    if check.startswith("isin") and col.allowed:
        return f"not one of {', '.join(col.allowed)}"
    return check


def check_keys(name: str, typed: pd.DataFrame) -> list[Violation]:
    """Duplicate primary keys.

    Parameters
    ----------
    name : str
        Table name in ``insights.data.contract.TABLES``.
    typed : pandas.DataFrame
        The table after ``coerce_table``; contract columns it lacks are skipped.

    Returns
    -------
    list of Violation
        One violation counting every row of a duplicated complete key; empty if keys are unique or absent.
    """
    spec = contract.TABLES[name]
    key = list(spec.key)
    if not key or any(k not in typed.columns for k in key):
        return []
    complete = typed[key].notna().all(axis=1)
    dup = typed[key].duplicated(keep=False) & complete
    if not dup.any():
        return []
    return [Violation(name, "+".join(key), "duplicate key", int(dup.sum()), _examples(typed, spec, dup))]


def check_order(name: str, typed: pd.DataFrame) -> list[Violation]:
    """Date pairs that must not be reversed (e.g. end_date before start_date).

    Parameters
    ----------
    name : str
        Table name in ``insights.data.contract.TABLES``.
    typed : pandas.DataFrame
        The table after ``coerce_table``; contract columns it lacks are skipped.

    Returns
    -------
    list of Violation
        One violation per reversed pair of date columns; empty if none.
    """
    spec = contract.TABLES[name]
    out = []
    for earlier, later in spec.ordered:
        if earlier not in typed.columns or later not in typed.columns:
            continue
        a, b = typed[earlier], typed[later]
        if not (pd.api.types.is_datetime64_any_dtype(a) and pd.api.types.is_datetime64_any_dtype(b)):
            continue
        reversed_ = (b < a).fillna(False)
        if reversed_.any():
            rows = typed.index[reversed_.to_numpy()][:N_EXAMPLES]
            values = b[rows].dt.strftime("%Y-%m-%d") + " < " + a[rows].dt.strftime("%Y-%m-%d")
            out.append(
                Violation(
                    name,
                    later,
                    f"{later} before {earlier}",
                    int(reversed_.sum()),
                    _examples(typed, spec, reversed_, values),
                )
            )
    return out


def check_foreign_keys(tables: dict[str, pd.DataFrame]) -> list[Violation]:
    """References to rows that do not exist (e.g. a contract of an unknown account).

    Parameters
    ----------
    tables : dict of pandas.DataFrame
        Typed tables by name; a reference to a table that is absent is not checked.

    Returns
    -------
    list of Violation
        One violation per foreign key with unknown values; empty if all resolve.
    """
    out = []
    for name, frame in tables.items():
        spec = contract.TABLES[name]
        for col, (ref_table, ref_col) in spec.foreign_keys.items():
            ref = tables.get(ref_table)
            if ref is None or ref_col not in ref.columns or col not in frame.columns:
                continue
            values = frame[col]
            # as objects: pandas' string isin boxes every reference value in Python (0.2 s for 25,000)
            unknown = values.notna() & ~values.astype(object).isin(ref[ref_col].dropna().astype(object))
            if unknown.any():
                out.append(
                    Violation(
                        name,
                        col,
                        f"unknown {ref_table}.{ref_col}",
                        int(unknown.sum()),
                        _examples(frame, spec, unknown, values),
                    )
                )
    return out


def validate_tables(raw: dict[str, pd.DataFrame | None]) -> tuple[dict[str, pd.DataFrame], list[Violation]]:
    """Type and check a set of raw tables against the contract.

    Parameters
    ----------
    raw : dict
        Table name to raw DataFrame (``None`` or absent: the file was not found).

    Returns
    -------
    typed : dict of pandas.DataFrame
        Typed tables (meaningful only when there are no violations).
    violations : list of Violation
        Every problem found, in table order.
    """
    violations: list[Violation] = []
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in contract.TABLES.items():
        frame = raw.get(name)
        if frame is None:
            if spec.required:
                violations.append(Violation(name, "—", "missing table", 1, (f"expected {name}.csv or {name}.parquet",)))
            continue
        if spec.required and len(frame) == 0:
            violations.append(Violation(name, "—", "no rows", 1))
        t, v = coerce_table(name, frame)
        violations += v
        violations += check_values(name, t)
        violations += check_keys(name, t)
        violations += check_order(name, t)
        typed[name] = t
    violations += check_foreign_keys(typed)
    order = {name: i for i, name in enumerate(contract.TABLES)}
    violations.sort(key=lambda v: order[v.table])
    return typed, violations
