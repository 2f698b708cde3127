"""Contract checks of ``usage_events``, written once in SQL and run on DuckDB or Spark (never in pandas).

The checks read the small ``event_groups`` table of ``insights.metrics.usage.definitions.groups_sql``
(the single scan over the events, one row per account, month, zone and user) and the tiny
``event_features`` table (``definitions.FEATURES_SQL``), so checking costs no second pass over
the files; only when a timestamp cannot be read or lies in the future does a query go back to
the files, for a few examples. The SQL is DuckDB's dialect; ``check_groups`` runs it through a
``Query`` (``duckdb_query`` here, ``insights.metrics.usage.spark_engine.spark_query`` on Spark, which
transpiles it with sqlglot), so both engines count every problem with the same text. Every problem
is counted at once: missing columns and values, unknown accounts and users, users of another
account, unreadable and future timestamps; events outside the window are counted, not errors.

The DuckDB engine groups by hashes of the IDs (``definitions.KEY_KINDS``): ``register_keys`` maps
them back to the reference users and says whether they identify them exactly, and the checks
then count the events whose keys map to no reference user (``CheckResult.unmapped``). Hashes
cannot say which ID is wrong, so when there are any the engine scans again keyed by the IDs and
the same checks name every problem (a slower path, taken only for events that break the contract).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from insights.errors import ContractError
from insights.metrics.usage.definitions import (
    EVENT_COLUMNS,
    ZONE_AFTER,
    ZONE_BEFORE,
    ZONE_FUTURE,
    ZONE_INSIDE,
    ZONE_MISSING_TS,
    ZONE_UNREADABLE_TS,
    key_sql,
    user_keys_sql,
)
from insights.metrics.usage.window import DateLike, UsageSummary, Window, utc_naive

if TYPE_CHECKING:
    import pandas as pd

    from insights.data.validation import Violation

# ``insights.data.validation`` is imported where a violation is made: it loads pandera (and, with the
# Spark extra, pyspark.pandas), which the reference tables then load in a thread while DuckDB
# scans the events (``insights.metrics.usage.duckdb_engine``); a clean run never needs it here.

log = logging.getLogger(__name__)

EVENTS = "usage_events"
REQUIRED = EVENT_COLUMNS  # account_id, user_id, ts, feature

#: Runs one query written in DuckDB's dialect on an engine and returns its rows as tuples.
Query = Callable[[str], list[tuple[Any, ...]]]


def duckdb_query(con: duckdb.DuckDBPyConnection) -> Query:
    """The ``Query`` of a DuckDB connection (the SQL runs as it is written).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection.

    Returns
    -------
    Query
        A function from a query to its rows.
    """
    return lambda sql: con.execute(sql).fetchall()


def one_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The single row of a query that always returns one (an aggregate without GROUP BY).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection that runs the query.
    sql : str
        The query.

    Returns
    -------
    tuple
        The row's values, in SELECT order.

    Raises
    ------
    RuntimeError
        If the query returns no row (a bug in the query, not in the data).
    """
    row = con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"DuckDB returned no row where one was expected, for:\n{sql.strip()}")
    return row


def violation(column: str, rule: str, count: int, examples: tuple[Any, ...] = ()) -> Violation:
    """One ``insights.data.validation.Violation`` of ``usage_events``.

    Parameters
    ----------
    column, rule : str
        The column and the rule it breaks.
    count : int
        Events that break it.
    examples : tuple, optional
        A few example values, kept as given.

    Returns
    -------
    Violation
        With table ``usage_events``.
    """
    from insights.data.validation import Violation

    return Violation(EVENTS, column, rule, int(count), tuple(examples))


def missing_columns(columns: list[str]) -> list[Violation]:
    """Violations for contract columns absent from the event files.

    Parameters
    ----------
    columns : list of str
        Columns the event files have.

    Returns
    -------
    list of Violation
        One "missing column" violation per absent contract column (listing the present ones); empty if
        none is absent.
    """
    present = ", ".join(columns)
    return [
        violation(c, "missing column", 1, (f"columns present: {present}"[:200],)) for c in REQUIRED if c not in columns
    ]


def ts_expression(column_type: str) -> str:
    """SQL turning the raw ``ts`` column into a UTC ``TIMESTAMP`` (NULL where it cannot be read).

    Text is read as ISO 8601; an offset or zone, if present, is converted to UTC (the session
    time zone is UTC).

    Parameters
    ----------
    column_type : str
        DuckDB type of the raw ``ts`` column (``TIMESTAMPTZ``, ``TIMESTAMP``, ``DATE``, ``VARCHAR``...).

    Returns
    -------
    str
        A SQL expression over ``ts``.
    """
    kind = column_type.upper()
    if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ":
        return "CAST(ts AS TIMESTAMP)"
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return "TRY_CAST(ts AS TIMESTAMP)"
    return "CAST(TRY_CAST(CAST(ts AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)"


def _lit(t: DateLike) -> str:
    """A timestamp literal in UTC (``utc_naive``)."""
    return f"TIMESTAMP '{utc_naive(t).isoformat(sep=' ')}'"


def events_view_sql(
    raw: str,
    column_type: str,
    now: datetime.datetime,
    start: pd.Timestamp | None,
    end_exclusive: pd.Timestamp | None,
) -> str:
    """SQL of the ``usage_events`` view that ``GROUPS_SQL`` reads: typed columns plus the zone code.

    Parameters
    ----------
    raw : str
        Relation of the raw event files.
    column_type : str
        DuckDB type of the raw ``ts`` column.
    now : datetime.datetime
        Later timestamps are in the future (an error); a naive time is taken as UTC.
    start, end_exclusive : pandas.Timestamp, optional
        The window, when fixed by the caller (otherwise every readable past event is inside).

    Returns
    -------
    str
        A SELECT over ``raw`` with columns account_id, user_id, feature (text), ts (UTC) and zone.
    """
    typed = column_type.upper().startswith(("TIMESTAMP", "DATE"))
    # a typed column is never unreadable (missing is its only failure): one test less per event
    missing = (
        f"WHEN ts IS NULL THEN {ZONE_MISSING_TS}"
        if typed
        else f"WHEN ts IS NULL OR trim(CAST(ts AS VARCHAR)) = '' THEN {ZONE_MISSING_TS} "
        f"WHEN t IS NULL THEN {ZONE_UNREADABLE_TS}"
    )
    before = f"WHEN t < {_lit(start)} THEN {ZONE_BEFORE}" if start is not None else ""
    after = f"WHEN t >= {_lit(end_exclusive)} THEN {ZONE_AFTER}" if end_exclusive is not None else ""
    return f"""
        SELECT CAST(account_id AS VARCHAR) AS account_id, CAST(user_id AS VARCHAR) AS user_id,
               CAST(feature AS VARCHAR) AS feature, t AS ts,
               CASE {missing}
                    WHEN t > {_lit(now)} THEN {ZONE_FUTURE} {before} {after} ELSE {ZONE_INSIDE} END AS zone
        FROM (SELECT *, {ts_expression(column_type)} AS t FROM {raw}) AS r"""


@dataclass
class CheckResult:
    """What the checks found.

    Attributes
    ----------
    violations : list of Violation
        Contract violations (empty when the events are clean).
    rows : int
        Event rows read.
    before_window, after_window : int
        Rows dated before / after the window (only when a window was given).
    before_activation : int
        Rows inside the window in months before the user's activation month (or of users never
        activated).
    first_month, last_month : pandas.Timestamp or None
        First day of the earliest and of the latest month with events inside the window.
    unmapped : int
        With hash keys only: rows whose account and user keys match no reference user (the IDs
        are unknown, blank, or of another account). The checks cannot tell which from hashes:
        the engine then checks a text-keyed scan, which counts and shows each problem.
    """

    violations: list[Violation]
    rows: int
    before_window: int
    after_window: int
    before_activation: int
    first_month: pd.Timestamp | None
    last_month: pd.Timestamp | None
    unmapped: int = 0


def _blank(col: str) -> str:
    return f"({col} IS NULL OR trim({col}) = '')"


def register_keys(con: duckdb.DuckDBPyConnection) -> bool:
    """Create ``user_keys`` and ``account_keys`` and say whether hash keys identify users exactly.

    The tables (``definitions.user_keys_sql``, hash keys) are made from the validated ``ref_users`` and
    ``ref_accounts``. Users with a blank ID or an account missing from ``ref_accounts`` are left out (their events
    stay unmapped, so the text-keyed checks report them). The keys are exact when no two reference
    users share a user key and no two reference accounts share an account key. An ID that is not
    in the reference tables is misread only if its 64-bit hash equals a known one's in the same
    event: an unknown user ID one of the account's users' (about users of the account / 2**64), an
    unknown account ID the known user's account's (1 / 2**64); both unknown, both must match. One
    unmapped event sends the whole file to the text-keyed scan, so a wrong result needs every
    unknown ID of the file to collide.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Holds ``ref_users`` and ``ref_accounts``; gets the two temporary tables.

    Returns
    -------
    bool
        True when no two reference users share a user key and no two reference accounts an account key.
    """
    con.execute(f"""CREATE OR REPLACE TEMP TABLE user_keys AS
        SELECT * FROM ({user_keys_sql("hash")}) AS k
        WHERE NOT {_blank("k.account_id")} AND NOT {_blank("k.user_id")}
          AND k.account_id IN (SELECT account_id FROM ref_accounts)""")
    con.execute("CREATE OR REPLACE TEMP TABLE account_keys AS SELECT DISTINCT account_key, account_id FROM user_keys")
    return bool(
        one_row(
            con,
            f"""
        SELECT (SELECT count(*) = count(DISTINCT user_key) FROM user_keys)
           AND (SELECT count(DISTINCT account_id) = count(DISTINCT {key_sql("account_id", "hash")})
                FROM ref_accounts)""",
        )[0]
    )


def _marked_sql(groups: str, keys: str) -> str:
    """Each group of ``groups`` with the flags of the checks (one pass, joined to the reference)."""
    activation_key = "year(ru.activated_at) * 12 + month(ru.activated_at) - 1"
    if keys == "hash":
        return f"""
        SELECT g.month_key, g.zone, g.events, NULL AS account_id, NULL AS user_id,
               FALSE AS blank_account, FALSE AS blank_user, FALSE AS unknown_account, FALSE AS unknown_user,
               FALSE AS other_account, ru.user_key IS NULL AS unmapped,
               ru.user_key IS NOT NULL AND g.zone = {ZONE_INSIDE}
                   AND (ru.activated_at IS NULL OR g.month_key < {activation_key}) AS before_activation
        FROM {groups} AS g
        LEFT JOIN user_keys AS ru ON ru.account_key = g.account_key AND ru.user_key = g.user_key"""
    key_sql("account_id", keys)  # checks ``keys``
    return f"""
        SELECT g.month_key, g.zone, g.events, g.account_key AS account_id, g.user_key AS user_id,
               {_blank("g.account_key")} AS blank_account, {_blank("g.user_key")} AS blank_user,
               a.account_id IS NULL AS unknown_account, ru.user_id IS NULL AS unknown_user,
               a.account_id IS NOT NULL AND ru.user_id IS NOT NULL AND ru.account_id <> g.account_key
                   AS other_account, FALSE AS unmapped,
               ru.user_id IS NOT NULL AND g.zone = {ZONE_INSIDE}
                   AND (ru.activated_at IS NULL OR g.month_key < {activation_key}) AS before_activation
        FROM {groups} AS g
        LEFT JOIN ref_accounts AS a ON a.account_id = g.account_key
        LEFT JOIN ref_users AS ru ON ru.user_id = g.user_key"""


def check_groups(
    query: Query,
    groups: str = "event_groups",
    raw: str = "raw_events",
    ts_sql: str = "ts",
    now: datetime.datetime | None = None,
    features: str = "event_features",
    keys: str = "text",
) -> CheckResult:
    """Count every contract problem of the events from their groups.

    Parameters
    ----------
    query : Query
        Runs SQL on the engine that holds ``groups`` (``groups_sql`` output), ``features``
        (``FEATURES_SQL`` output), ``raw`` (the raw files), ``ref_accounts`` and ``ref_users``; with
        hash keys (DuckDB only) also ``user_keys`` (``register_keys``). ``duckdb_query(con)`` on
        DuckDB, ``spark_engine.spark_query(spark)`` on Spark.
    ts_sql : str
        Expression reading the raw ts (for examples of unreadable values only).
    now : datetime.datetime, optional
        Shown in the future-timestamp rule (a naive time is taken as UTC).
    keys : str
        How ``groups`` is keyed (``definitions.KEY_KINDS``). With hash keys, problems of the IDs
        are only counted together (``CheckResult.unmapped``), not reported.

    Returns
    -------
    CheckResult
        The violations and the counts of rows by window and activation.
    """
    import pandas as pd

    marked = _marked_sql(groups, keys)
    names = [
        "rows",
        "missing_account_id",
        "missing_user_id",
        "missing_ts",
        "unparseable",
        "future",
        "before_window",
        "after_window",
        "first_month",
        "last_month",
        "unknown_account",
        "unknown_user",
        "other_account",
        "before_activation",
        "unmapped",
    ]
    known = "NOT (blank_account OR blank_user)"
    totals = query(
        f"""
    SELECT
      coalesce(sum(events), 0),
      coalesce(sum(events) FILTER (WHERE blank_account), 0),
      coalesce(sum(events) FILTER (WHERE blank_user), 0),
      coalesce(sum(events) FILTER (WHERE zone = {ZONE_MISSING_TS}), 0),
      coalesce(sum(events) FILTER (WHERE zone = {ZONE_UNREADABLE_TS}), 0),
      coalesce(sum(events) FILTER (WHERE zone = {ZONE_FUTURE}), 0),
      coalesce(sum(events) FILTER (WHERE zone = {ZONE_BEFORE}), 0),
      coalesce(sum(events) FILTER (WHERE zone = {ZONE_AFTER}), 0),
      min(month_key) FILTER (WHERE zone = {ZONE_INSIDE}),
      max(month_key) FILTER (WHERE zone = {ZONE_INSIDE}),
      coalesce(sum(events) FILTER (WHERE {known} AND unknown_account), 0),
      coalesce(sum(events) FILTER (WHERE {known} AND unknown_user), 0),
      coalesce(sum(events) FILTER (WHERE {known} AND other_account), 0),
      coalesce(sum(events) FILTER (WHERE before_activation), 0),
      coalesce(sum(events) FILTER (WHERE unmapped), 0)
    FROM ({marked}) AS m
    """
    )[0]
    r: dict[str, Any] = dict(zip(names, totals))
    r["missing_feature"] = query(f"SELECT coalesce(sum(events), 0) FROM {features} WHERE {_blank('feature')}")[0][0]

    def examples(value: str, flag: str) -> tuple[Any, ...]:
        if not r[flag]:
            return ()
        return query(f"SELECT min({value}), max({value}) FROM ({marked}) AS m WHERE {known} AND {flag}")[0]

    v: list[Violation] = []

    def add(column, rule, count, *examples):
        if count:
            v.append(violation(column, rule, count, tuple(dict.fromkeys(str(x) for x in examples if x is not None))))

    for col in REQUIRED:
        add(col, "missing value", r[f"missing_{col}"])
    add("account_id", "unknown accounts.account_id", r["unknown_account"], *examples("account_id", "unknown_account"))
    add("user_id", "unknown users.user_id", r["unknown_user"], *examples("user_id", "unknown_user"))
    add(
        "user_id",
        "user belongs to another account (users.account_id)",
        r["other_account"],
        *examples("user_id || ' in ' || account_id", "other_account"),
    )
    if r["unparseable"]:
        unreadable = [
            x[0]
            for x in query(
                f"SELECT DISTINCT CAST(ts AS VARCHAR) FROM {raw} WHERE ts IS NOT NULL "
                f"AND trim(CAST(ts AS VARCHAR)) <> '' AND {ts_sql} IS NULL ORDER BY 1 LIMIT 3"
            )
        ]
        add("ts", "unparseable timestamp (use ISO 8601, e.g. 2026-09-30T14:05:00)", r["unparseable"], *unreadable)
    when = "" if now is None else f" (after {utc_naive(now).isoformat(sep=' ', timespec='seconds')} UTC)"
    if r["future"]:
        future = (
            [
                x[0]
                for x in query(
                    f"SELECT DISTINCT CAST(ts AS VARCHAR) FROM {raw} WHERE {ts_sql} > {_lit(now)} ORDER BY 1 LIMIT 3"
                )
            ]
            if now is not None
            else []
        )
        add("ts", f"timestamp in the future{when}", r["future"], *future)
    month = lambda k: None if k is None else pd.Timestamp(year=int(k) // 12, month=int(k) % 12 + 1, day=1)  # noqa: E731
    return CheckResult(
        v,
        int(r["rows"]),
        int(r["before_window"]),
        int(r["after_window"]),
        int(r["before_activation"]),
        month(r["first_month"]),
        month(r["last_month"]),
        int(r["unmapped"]),
    )


def reference_now(now: DateLike | None = None) -> datetime.datetime:
    """The time after which a timestamp is in the future: ``now`` in UTC, or the current UTC time.

    Parameters
    ----------
    now : date-like, optional
        A time (a naive one is taken as UTC); default the current time.

    Returns
    -------
    datetime.datetime
        Naive, in UTC.
    """
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None) if now is None else utc_naive(now)


def accepted(result: CheckResult, given: Window | None, engine: str) -> UsageSummary:
    """The summary of a run whose events passed the checks; every problem raised otherwise.

    Both engines end their checks here, so they accept and refuse the same events with the same
    counts.

    Parameters
    ----------
    result : CheckResult
        What ``check_groups`` found.
    given : Window or None
        The window fixed by the caller; None: from the first to the last month with events.
    engine : str
        ``"duckdb"`` or ``"spark"``, for the summary.

    Returns
    -------
    UsageSummary
        The window and the counts of events read, outside the window and before activation.

    Raises
    ------
    ContractError
        With every violation, or "no rows inside the window" when no event is inside it.
    """
    if result.violations:
        raise ContractError(result.violations)
    if result.first_month is None or result.last_month is None:  # both or neither: no event inside
        raise ContractError([violation("—", "no rows inside the window", 1)])
    import pandas as pd

    window = given or Window(result.first_month, (result.last_month + pd.offsets.MonthEnd(0)).normalize())
    summary = UsageSummary(
        engine,
        window,
        events_read=result.rows,
        events_before_window=result.before_window,
        events_after_window=result.after_window,
        events_before_activation=result.before_activation,
    )
    summary.events_aggregated = result.rows - result.before_window - result.after_window
    if result.before_window or result.after_window:
        log.warning(
            "usage_events: %s events before %s and %s after %s are outside the data window and not aggregated.",
            result.before_window,
            window.start.date(),
            result.after_window,
            window.end.date(),
        )
    return summary
