"""Checks raw tables against the data contract and collects *every* violation.

Each violation names the table, column, rule, how many rows break it and a few
example keys, so one run tells the user everything to fix.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insights.data import contract  # first: it imports pandera with pyspark's pandas-3 warning silenced
from insights.data.contract import DATE, DATETIME, FLOAT, INT, MONTH, STR
from insights.errors import ParameterError

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
    return "|".join(_key_text(value) for value in values)


def _key_text(value) -> str:
    """A key value as text: ``<empty>`` when missing, a date without its midnight time."""
    if pd.isna(value):
        return "<empty>"
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return f"{value:%Y-%m-%d}"
    return str(value)


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

#: Whole numbers beyond this size are not exact in the float64 the numbers are parsed through.
_LARGEST_WHOLE = 2**53
#: Dates the typed tables (``datetime64[ns]``) can hold.
_FIRST_DAY, _LAST_DAY = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")


def _as_text(series: pd.Series) -> pd.Series:
    """Raw values as stripped text (missing stays missing), whatever objects a file held."""
    try:
        return series.astype("string").str.strip()
    except Exception:  # noqa: BLE001 - objects pandas cannot turn into text in one go (bytes, nested values)
        return pd.Series(
            [None if value is None or value is pd.NA else str(value).strip() for value in series],
            index=series.index,
            dtype="string",
        )


def _blank(series: pd.Series) -> pd.Series:
    """True where a raw value is missing (NA or an empty/whitespace string)."""
    return series.isna() | _as_text(series).eq("").fillna(False).astype(bool)


def _placeholder(series: pd.Series) -> pd.Series:
    """True where a raw text value is a placeholder for a missing value (``NULL``, ``N/A``, ``nan``...)."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return pd.Series(False, index=series.index)
    return _as_text(series).str.lower().isin(contract.MISSING_PLACEHOLDERS).fillna(False).astype(bool)


def _each(text: pd.Series, parse) -> pd.Series:
    """``parse`` applied value by value, missing where it raises (the slow path when a whole column fails)."""
    out = []
    for value in text:
        try:
            out.append(parse(value) if value is not None and value is not pd.NA else None)
        except Exception:  # noqa: BLE001 - any value a parser refuses is an unparseable value
            out.append(None)
    return pd.Series(out, index=text.index, dtype="object")


def _to_float(text: pd.Series) -> pd.Series:
    """Text parsed as float64, NaN where it is not a number."""
    try:
        return pd.to_numeric(text.astype(object), errors="coerce").astype("float64")
    except Exception:  # noqa: BLE001 - fall back to one value at a time
        return pd.to_numeric(_each(text, float), errors="coerce").astype("float64")


def _parse_stamps(text: pd.Series) -> pd.Series:
    """ISO 8601 text as UTC wall times (naive), NaT where unparseable; any resolution pandas picks."""

    def parse(values):
        return pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)

    try:
        stamps = parse(text)
    except Exception:  # noqa: BLE001 - fall back to one value at a time
        stamps = parse(_each(text, lambda value: parse(pd.Series([value])).iloc[0]))
    return stamps.dt.tz_localize(None)


def coerce_column(series: pd.Series, kind: str) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Convert one raw column to its contract type; never raises on any value.

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
        blank or where the value breaks a rule.
    problems : dict of str to pandas.Series of bool
        Rule name (``"not a number"``, ``"unparseable date"``, ``"placeholder for a missing value"``,
        ``"not a finite number"``, ``"date out of range ..."``...) to the rows that break it; only
        rules some row breaks. Each row breaks at most one rule.

    Raises
    ------
    ValueError
        If ``kind`` is not a contract column kind (a programming error).
    """
    if kind not in (STR, INT, FLOAT, DATE, DATETIME, MONTH):
        raise ValueError(f"unknown column kind {kind!r}")
    blank = _blank(series)
    placeholder = _placeholder(series) & ~blank
    missing = blank | placeholder
    problems = {"placeholder for a missing value (leave the cell empty)": placeholder}
    if kind == STR:
        typed: pd.Series = _as_text(series).mask(missing).astype("str")
    elif kind in (INT, FLOAT):
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            numbers = series.astype("float64")
        else:
            numbers = _to_float(_as_text(series).mask(missing))
        rule = "not a whole number" if kind == INT else "not a number"
        problems[rule] = numbers.isna() & ~missing
        problems["not a finite number"] = pd.Series(np.isinf(numbers.to_numpy()), index=series.index, dtype=bool)
        if kind == INT:
            problems[rule] |= numbers.notna() & (numbers != np.round(numbers)) & ~problems["not a finite number"]
            problems[f"whole number beyond ±{_LARGEST_WHOLE:,}"] = (numbers.abs() > _LARGEST_WHOLE) & ~problems[
                "not a finite number"
            ]
        numbers = numbers.mask(pd.concat(problems, axis=1).any(axis=1))
        typed = numbers.astype("Int64") if kind == INT else numbers
    else:
        if pd.api.types.is_datetime64_any_dtype(series):
            stamps = series.dt.tz_convert("UTC").dt.tz_localize(None) if series.dt.tz is not None else series
        else:
            stamps = _parse_stamps(_as_text(series).mask(missing))
        problems["unparseable date" if kind != DATETIME else "unparseable timestamp"] = stamps.isna() & ~missing
        out_of_range = ((stamps < _FIRST_DAY) | (stamps > _LAST_DAY)).fillna(False).astype(bool)
        problems[f"date out of range ({_FIRST_DAY:%Y-%m-%d} to {_LAST_DAY:%Y-%m-%d})"] = out_of_range
        stamps = stamps.mask(out_of_range).astype("datetime64[ns]")
        if kind == DATE:
            stamps = stamps.dt.normalize()
        elif kind == MONTH:
            stamps = stamps.dt.to_period("M").dt.start_time.astype("datetime64[ns]")
        typed = stamps
    return typed, {rule: rows for rule, rows in problems.items() if rows.any()}


def coerce_table(name: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Violation]]:
    """Type the columns of one raw table; report missing columns, values that cannot be typed and missing values.

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
        A copy with each contract column converted by ``coerce_column`` (and a fresh row index).
    violations : list of Violation
        Missing columns, values that cannot be typed (with their row keys and values) and missing
        values in non-nullable columns.
    """
    spec = contract.TABLES[name]
    out: list[Violation] = []
    raw = raw.reset_index(drop=True)
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
        values, problems = coerce_column(raw[col.name], col.kind)
        typed[col.name] = values
        for rule, rows in problems.items():
            out.append(Violation(name, col.name, rule, int(rows.sum()), _examples(raw, spec, rows, raw[col.name])))
        if not col.nullable:
            missing = _blank(raw[col.name])
            if missing.any():
                out.append(
                    Violation(name, col.name, "missing value", int(missing.sum()), _examples(raw, spec, missing))
                )
    return typed, out


# --- rules on typed tables ---------------------------------------------------------


def _values(name: str, typed: pd.DataFrame, as_of: pd.Timestamp) -> list[Violation]:
    """Bounds and allowed values (pandera, lazy: every failure is collected)."""
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


def _keys(name: str, typed: pd.DataFrame, as_of: pd.Timestamp) -> list[Violation]:
    """Duplicate primary keys: one violation counting every row of a duplicated complete key."""
    spec = contract.TABLES[name]
    key = list(spec.key)
    if not key or any(k not in typed.columns for k in key):
        return []
    complete = typed[key].notna().all(axis=1)
    dup = typed[key].duplicated(keep=False) & complete
    if not dup.any():
        return []
    return [Violation(name, "+".join(key), "duplicate key", int(dup.sum()), _examples(typed, spec, dup))]


def _dates(typed: pd.DataFrame, *columns: str) -> bool:
    """Whether every one of ``columns`` is present and typed as dates."""
    return all(c in typed.columns and pd.api.types.is_datetime64_any_dtype(typed[c]) for c in columns)


def _order(name: str, typed: pd.DataFrame, as_of: pd.Timestamp) -> list[Violation]:
    """Date pairs that must not be reversed (e.g. end_date before start_date)."""
    spec = contract.TABLES[name]
    out = []
    for earlier, later in spec.ordered:
        if not _dates(typed, earlier, later):
            continue
        a, b = typed[earlier], typed[later]
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


def _recorded(name: str, typed: pd.DataFrame, as_of: pd.Timestamp) -> list[Violation]:
    """Recorded dates after the as-of date (a month counts from its first day)."""
    spec = contract.TABLES[name]
    out = []
    for col in spec.columns:
        if not col.recorded or not _dates(typed, col.name):
            continue
        values = typed[col.name]
        late = (values >= as_of + pd.Timedelta(days=1)).fillna(False).astype(bool)
        if late.any():
            shown = values.dt.strftime("%Y-%m-%d %H:%M:%S" if col.kind == DATETIME else "%Y-%m-%d")
            out.append(
                Violation(
                    name,
                    col.name,
                    f"after the as-of date {as_of:%Y-%m-%d}",
                    int(late.sum()),
                    _examples(typed, spec, late, shown),
                )
            )
    return out


def _months(name: str, typed: pd.DataFrame, as_of: pd.Timestamp) -> list[Violation]:
    """Months without rows between the first and the last month (a stray row far from the rest)."""
    column = contract.TABLES[name].continuous_months
    if column is None or not _dates(typed, column):
        return []
    present = pd.PeriodIndex(typed[column].dropna(), freq="M").unique()
    if len(present) < 2:
        return []
    missing = pd.period_range(present.min(), present.max(), freq="M").difference(present)
    if missing.empty:
        return []
    runs: list[list[pd.Period]] = []
    for month in missing:
        if runs and month == runs[-1][-1] + 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    examples = tuple(f"{r[0]}" if len(r) == 1 else f"{r[0]} to {r[-1]}" for r in runs[:N_EXAMPLES])
    return [Violation(name, column, "months without rows between the first and the last", len(missing), examples)]


#: The rules checked on each typed table, in report order.
_TABLE_RULES = (_values, _keys, _order, _recorded, _months)


def check_table(name: str, typed: pd.DataFrame, as_of: pd.Timestamp) -> list[Violation]:
    """Every rule of one typed table: bounds, allowed values, keys, date order, dates after ``as_of``, month gaps.

    A rule that fails on values nobody foresaw is itself reported as a violation of the table
    (``"could not be checked: ..."``), so one table never hides the others.

    Parameters
    ----------
    name : str
        Table name in ``insights.data.contract.TABLES``.
    typed : pandas.DataFrame
        The table after ``coerce_table``; contract columns it lacks are skipped.
    as_of : pandas.Timestamp
        Day of the validation: recorded dates (``Column.recorded``) after it are violations.

    Returns
    -------
    list of Violation
        One violation per broken rule and column; empty if the table keeps every rule.
    """
    out: list[Violation] = []
    for rule in _TABLE_RULES:
        try:
            out += rule(name, typed, as_of)
        except Exception as exc:  # noqa: BLE001 - reported as the table's problem instead of hiding every other
            out.append(
                Violation(name, "—", f"could not be checked ({rule.__name__.strip('_')} rule)", 1, (_reason(exc),))
            )
    return out


def _reason(exc: BaseException) -> str:
    """An exception as one short line: its type and first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:200]


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


def parse_day(value: str | pd.Timestamp, what: str) -> pd.Timestamp:
    """A day given by a user (an ISO 8601 date like ``2026-12-31``), checked.

    Parameters
    ----------
    value : str or pandas.Timestamp
        The date as given.
    what : str
        What the date is (an option or parameter name), for the message.

    Returns
    -------
    pandas.Timestamp
        Midnight of that day (a time zone, if given, converted to UTC).

    Raises
    ------
    ParameterError
        If ``value`` is not an ISO 8601 date, or lies outside the dates the tables can hold.
    """
    try:
        day = pd.to_datetime(value, format="ISO8601", utc=True)
    except (TypeError, ValueError, OverflowError):
        day = None
    if day is None or pd.isna(day):
        raise ParameterError(f"{what}: {value!r} is not a date; write it as YYYY-MM-DD, like 2026-12-31.")
    day = day.tz_localize(None).normalize()
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise ParameterError(f"{what}: {value!r} is outside the dates supported ({_FIRST_DAY:%Y} to {_LAST_DAY:%Y}).")
    return day


def as_of_day(as_of: str | pd.Timestamp | None = None) -> pd.Timestamp:
    """The day a validation is as of: the date given, or today.

    Parameters
    ----------
    as_of : str, pandas.Timestamp or None
        A date (ISO 8601, like ``"2026-12-31"``); None or ``""`` means today (local time).

    Returns
    -------
    pandas.Timestamp
        Midnight of that day.

    Raises
    ------
    ParameterError
        If ``as_of`` is not a date.
    """
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return pd.Timestamp.today().normalize()
    return parse_day(as_of, "as-of date")


def validate_tables(
    raw: dict[str, pd.DataFrame | None],
    as_of: str | pd.Timestamp | None = None,
    unreadable: Collection[str] = (),
) -> tuple[dict[str, pd.DataFrame], list[Violation]]:
    """Type and check a set of raw tables against the contract; never raises on any value.

    Parameters
    ----------
    raw : dict
        Table name to raw DataFrame (``None`` or absent: the file was not found).
    as_of : str, pandas.Timestamp or None
        Recorded dates (``Column.recorded``) after this day are violations; default today.
    unreadable : collection of str
        Tables whose files exist but could not be read (the reader reports why); they are not
        reported again as missing.

    Returns
    -------
    typed : dict of pandas.DataFrame
        Typed tables (meaningful only when there are no violations).
    violations : list of Violation
        Every problem found, in table order.

    Raises
    ------
    ParameterError
        If ``as_of`` is not a date.
    """
    day = as_of_day(as_of)
    violations: list[Violation] = []
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in contract.TABLES.items():
        frame = raw.get(name)
        if frame is None:
            if spec.required and name not in unreadable:
                violations.append(Violation(name, "—", "missing table", 1, (f"expected {name}.csv or {name}.parquet",)))
            continue
        if spec.required and len(frame) == 0:
            violations.append(Violation(name, "—", "no rows", 1))
        try:
            t, v = coerce_table(name, frame)
        except Exception as exc:  # noqa: BLE001 - reported as the table's problem instead of hiding every other
            violations.append(Violation(name, "—", "could not be typed", 1, (_reason(exc),)))
            continue
        violations += v
        violations += check_table(name, t, day)
        typed[name] = t
    try:
        violations += check_foreign_keys(typed)
    except Exception as exc:  # noqa: BLE001 - as above
        violations.append(Violation("accounts", "—", "foreign keys could not be checked", 1, (_reason(exc),)))
    order = {name: i for i, name in enumerate(contract.TABLES)}
    violations.sort(key=lambda v: order[v.table])
    return typed, violations
