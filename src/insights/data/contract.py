"""The data contract: every raw table, its key, columns, types and rules, as data.

This module only *describes* the contract; ``insights.data.validation`` checks a set of
tables against it and ``insights.data.loading`` reads files through it.

Dates and timestamps are ISO 8601 (``2026-09-30``, ``2026-09-30T14:05:00``; a time zone,
if given, is converted to UTC). Months in ``usage_monthly`` may be written ``2026-09`` or as
any day of the month. Empty cells are missing values.
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
    """

    name: str
    kind: str
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    optional: bool = False


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
    ordered : tuple of (str, str)
        Column pairs ``(earlier, later)`` whose values must not be reversed
        (checked where both are present).
    required : bool
        Whether the table must be present with rows. An optional table that is absent (or only a
        header) is loaded empty; what needs its rows is skipped (``insights.data.needs``).
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    ordered: tuple[tuple[str, str], ...] = ()
    required: bool = True

    @property
    def column_names(self) -> list[str]:
        """Names of the contract's columns, in contract order."""
        return [c.name for c in self.columns]

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

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            ("account_id",),
            (
                Column("account_id", STR),
                Column("name", STR),
                Column("industry", STR),
                Column("region", STR),
                Column("country", STR),
                Column("line_of_business", STR),
                Column("employees", INT, min=1),
                Column("created_at", DATE),
                Column("csm", STR, nullable=True, optional=True),  # the account's owner (customer success manager)
            ),
        ),
        Table(
            "contracts",
            ("contract_id",),
            (
                Column("contract_id", STR),
                Column("account_id", STR),
                Column("start_date", DATE),
                Column("end_date", DATE),
                Column("arr", FLOAT, min=0),
                Column("seats", INT, min=0),
                Column("plan", STR),
            ),
            foreign_keys=_ACCOUNT_FK,
            ordered=(("start_date", "end_date"),),
        ),
        Table(
            "users",
            ("user_id",),
            (
                Column("user_id", STR),
                Column("account_id", STR),
                Column("role", STR),
                Column("invited_at", DATE),
                Column("activated_at", DATE, nullable=True),
            ),
            foreign_keys=_ACCOUNT_FK,
            ordered=(("invited_at", "activated_at"),),
        ),
        Table(
            "usage_events",
            (),
            (
                Column("account_id", STR),
                Column("user_id", STR),
                Column("ts", DATETIME),
                Column("feature", STR),
            ),
            foreign_keys={**_ACCOUNT_FK, "user_id": ("users", "user_id")},
            required=False,
        ),
        Table(
            "usage_monthly",
            ("account_id", "month"),
            (
                Column("account_id", STR),
                Column("month", MONTH),
                Column("active_users", INT, min=0),
                Column("activated_seats", INT, min=0),
                Column("events", INT, min=0),
                Column("distinct_features", INT, min=0),
            ),
            foreign_keys=_ACCOUNT_FK,
            required=False,  # without usage: no utilisation, segments, health, risk or drivers (config/report.yaml)
        ),
        Table(
            "support_tickets",
            ("ticket_id",),
            (
                Column("ticket_id", STR),
                Column("account_id", STR),
                Column("created_at", DATE),
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
                Column("account_id", STR),
                Column("responded_at", DATE),
                Column("nps", INT, min=0, max=10),
                Column("value_score", FLOAT, nullable=True, min=0, max=10),
            ),
            foreign_keys=_ACCOUNT_FK,
            required=False,  # without surveys, satisfaction and perceived value are left out
        ),
        Table(
            "cs_activities",
            ("activity_id",),
            (
                Column("activity_id", STR),
                Column("account_id", STR),
                Column("date", DATE),
                Column("type", STR),
            ),
            foreign_keys=_ACCOUNT_FK,
        ),
        Table(
            "integrations",
            ("account_id", "integration"),
            (
                Column("account_id", STR),
                Column("integration", STR),
                Column("connected_at", DATE),
                Column("disconnected_at", DATE, nullable=True),
            ),
            foreign_keys=_ACCOUNT_FK,
            ordered=(("connected_at", "disconnected_at"),),
        ),
        Table(
            "pilot_assignments",
            ("pilot_id", "account_id"),
            (
                Column("pilot_id", STR),
                Column("account_id", STR),
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
