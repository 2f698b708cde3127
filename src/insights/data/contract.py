"""The data contract: every raw table, its key, columns, types and rules, as data.

This module only *describes* the contract; ``insights.data.validation`` checks a set of
tables against it and ``insights.data.loading`` reads files through it.

Dates and timestamps are ISO 8601 (``2026-09-30``, ``2026-09-30T14:05:00``; a time zone,
if given, is converted to UTC, and a value without one is taken as UTC). Months in
``usage_monthly`` may be written ``2026-09`` or as any day of the month. Empty cells are
missing values; a placeholder such as ``NULL``, ``N/A`` or ``nan`` is a violation (leave the
cell empty instead).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field


@contextlib.contextmanager
def quiet_pyspark() -> Iterator[None]:
    """Silence pyspark's pandas-3 warning, raised when pandera imports pyspark.pandas.

    pandera loads its pyspark integration (on import and on first validation) whenever
    the optional Spark extra is installed; nothing of it is used on the pandas path.

    Yields
    ------
    None
        Inside the ``with`` block that warning is ignored; other warnings are untouched.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


with quiet_pyspark():
    import pandera.pandas as pa

# Column kinds understood by the loader.
STR, INT, FLOAT, DATE, DATETIME, MONTH = "str", "int", "float", "date", "datetime", "month"

#: Texts that stand for a missing value in exports (compared case-insensitively, after stripping).
#: Not "NA": it is also a country and region code.
MISSING_PLACEHOLDERS = ("null", "n/a", "#n/a", "nan", "-nan", "none", "nat", "<na>", "#na")


@dataclass(frozen=True)
class Column:
    """One column of a raw table.

    Attributes
    ----------
    name : str
        Column name as in the file.
    kind : str
        One of ``str``, ``int``, ``float``, ``date`` (day precision), ``datetime``,
        ``month`` (normalised to the first day of the month).
    nullable : bool
        Whether empty values are allowed.
    min, max : float, optional
        Inclusive bounds for numbers.
    allowed : tuple of str, optional
        Allowed values for a string column.
    optional : bool
        Whether the column may be absent (checked and typed only when present).
    not_before : str, optional
        A date column of the same table whose value this one must not precede (checked
        where both are present).
    recorded : bool
        The date records something that happened, so it must not lie after the as-of
        date of the validation (default: today).
    """

    name: str
    kind: str
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    optional: bool = False
    not_before: str | None = None
    recorded: bool = False


@dataclass(frozen=True)
class Table:
    """One raw table of the contract.

    Attributes
    ----------
    name : str
        Also the file name (``<name>.csv`` or ``<name>.parquet``).
    key : tuple of str
        Columns that identify a row (empty for event logs).
    columns : tuple of Column
        The columns the table must have.
    foreign_keys : dict
        ``column -> (table, column)`` references that must resolve.
    required : bool
        Whether the table must be present with rows. An optional table that is absent (or only a
        header) is loaded empty; what needs its rows is skipped (``insights.data.needs``).
    continuous_months : str, optional
        A month column in which no month may be without rows between the first and the last.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    required: bool = True
    continuous_months: str | None = None

    @property
    def column_names(self) -> list[str]:
        """Names of the contract's columns, in contract order."""
        return [c.name for c in self.columns]

    @property
    def ordered(self) -> tuple[tuple[str, str], ...]:
        """Column pairs ``(earlier, later)`` whose values must not be reversed (from ``Column.not_before``)."""
        return tuple((c.not_before, c.name) for c in self.columns if c.not_before is not None)

    def column(self, name: str) -> Column:
        """The contract column called ``name``.

        Parameters
        ----------
        name : str
            A column of this table.

        Returns
        -------
        Column
            Its specification.

        Raises
        ------
        KeyError
            If the table has no such column (a programming error, not a user one).
        """
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}; it has {', '.join(self.column_names)}")


_ACCOUNT_FK = {"account_id": ("accounts", "account_id")}
#: The account a row belongs to (every table but ``accounts`` refers to one).
_ACCOUNT = Column("account_id", STR)


def _span(start: str, end: str) -> tuple[Column, Column]:
    """A recorded start date and an optional recorded end date that must not precede it."""
    return Column(start, DATE, recorded=True), Column(end, DATE, nullable=True, not_before=start, recorded=True)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            ("account_id",),
            (
                _ACCOUNT,
                Column("name", STR),
                Column("industry", STR),
                Column("region", STR),
                Column("country", STR),
                Column("line_of_business", STR),
                Column("employees", INT, min=1),
                Column("created_at", DATE, recorded=True),
                Column("csm", STR, nullable=True, optional=True),  # the account's owner (customer success manager)
            ),
        ),
        Table(
            "contracts",
            ("contract_id",),
            (
                Column("contract_id", STR),
                _ACCOUNT,
                Column("start_date", DATE),
                Column("end_date", DATE, not_before="start_date"),
                Column("arr", FLOAT, min=0),
                Column("seats", INT, min=0),
                Column("plan", STR),
            ),
            foreign_keys=_ACCOUNT_FK,
        ),
        Table(
            "users",
            ("user_id",),
            (Column("user_id", STR), _ACCOUNT, Column("role", STR), *_span("invited_at", "activated_at")),
            foreign_keys=_ACCOUNT_FK,
        ),
        Table(
            "usage_events",
            (),
            (_ACCOUNT, Column("user_id", STR), Column("ts", DATETIME, recorded=True), Column("feature", STR)),
            foreign_keys={**_ACCOUNT_FK, "user_id": ("users", "user_id")},
            required=False,
        ),
        Table(
            "usage_monthly",
            ("account_id", "month"),
            (
                _ACCOUNT,
                Column("month", MONTH, recorded=True),
                Column("active_users", INT, min=0),
                Column("activated_seats", INT, min=0),
                Column("events", INT, min=0),
                Column("distinct_features", INT, min=0),
            ),
            foreign_keys=_ACCOUNT_FK,
            required=False,  # without usage: no utilisation, segments, health, risk or drivers (config/report.yaml)
            continuous_months="month",
        ),
        Table(
            "support_tickets",
            ("ticket_id",),
            (
                Column("ticket_id", STR),
                _ACCOUNT,
                Column("created_at", DATE, recorded=True),
                Column("priority", STR, allowed=("low", "normal", "high", "urgent")),
                Column("csat", FLOAT, nullable=True, min=1, max=5),
            ),
            foreign_keys=_ACCOUNT_FK,
        ),
        Table(
            "surveys",
            ("response_id",),
            (
                Column("response_id", STR),
                _ACCOUNT,
                Column("responded_at", DATE, recorded=True),
                Column("nps", INT, min=0, max=10),
                Column("value_score", FLOAT, nullable=True, min=0, max=10),
            ),
            foreign_keys=_ACCOUNT_FK,
            required=False,  # without surveys, satisfaction and perceived value are left out
        ),
        Table(
            "cs_activities",
            ("activity_id",),
            (Column("activity_id", STR), _ACCOUNT, Column("date", DATE, recorded=True), Column("type", STR)),
            foreign_keys=_ACCOUNT_FK,
        ),
        Table(
            "integrations",
            ("account_id", "integration"),
            (_ACCOUNT, Column("integration", STR), *_span("connected_at", "disconnected_at")),
            foreign_keys=_ACCOUNT_FK,
        ),
        Table(
            "pilot_assignments",
            ("pilot_id", "account_id"),
            (
                Column("pilot_id", STR),
                _ACCOUNT,
                Column("arm", STR),
                Column("stratum", STR),
                Column("assigned_at", DATE),
                Column("seed", INT),
            ),
            foreign_keys=_ACCOUNT_FK,
            required=False,
        ),
    )
}

#: Activity types the analysis knows about (other types are kept and reported).
KNOWN_ACTIVITY_TYPES = ("onboarding", "qbr", "save_play", "cancellation_request", "check_in", "training")

#: Tables every dataset must have (usage_events is optional when usage_monthly exists).
REQUIRED_TABLES = tuple(name for name, t in TABLES.items() if t.required)


def pandera_schema(table: str, check_nulls: bool = True) -> pa.DataFrameSchema:
    """Return the pandera schema for the value rules of ``table``.

    It covers nullability, numeric bounds and allowed values of typed columns; keys,
    foreign keys, date order and parsing are checked in ``insights.data.validation``
    because they need the raw text or other tables.

    Parameters
    ----------
    table : str
        Table name in ``TABLES``.
    check_nulls : bool
        If False, every column accepts nulls (the validator reports missing values
        itself, from the raw text, so unparseable values are not reported twice).

    Returns
    -------
    pandera.pandas.DataFrameSchema
        One column per contract column (required unless optional), extra columns allowed, no coercion.
    """
    spec = TABLES[table]
    columns = {}
    for col in spec.columns:
        checks = []
        if col.min is not None:
            checks.append(pa.Check.ge(col.min))
        if col.max is not None:
            checks.append(pa.Check.le(col.max))
        if col.allowed is not None:
            checks.append(pa.Check.isin(list(col.allowed)))
        columns[col.name] = pa.Column(
            nullable=col.nullable or not check_nulls, checks=checks, required=not col.optional
        )
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name=table)
