"""Contract checks of ``usage_events``, computed in DuckDB (never in pandas).

The checks read the small ``event_groups`` table of ``insights.usage.definitions.GROUPS_SQL``
(the single scan over the events), so checking costs no second pass over the files; only when
a timestamp cannot be read does a query go back to the files, for two examples. Every problem
is counted at once: missing columns and values, unknown accounts and users, users of another
account, unreadable and future timestamps; events outside the window are counted, not errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from insights.contract import TABLES
from insights.usage.definitions import (
    ZONE_AFTER, ZONE_BEFORE, ZONE_FUTURE, ZONE_INSIDE, ZONE_MISSING_TS, ZONE_UNREADABLE_TS,
)
from insights.validation import Violation

EVENTS = "usage_events"
REQUIRED = tuple(TABLES[EVENTS].column_names)  # account_id, user_id, ts, feature


def missing_columns(columns: list[str]) -> list[Violation]:
    """Violations for contract columns absent from the event files."""
    present = ", ".join(columns)
    return [Violation(EVENTS, c, "missing column", 1, (f"columns present: {present}"[:200],))
            for c in REQUIRED if c not in columns]


def ts_expression(column_type: str) -> str:
    """SQL turning the raw ``ts`` column into a UTC ``TIMESTAMP`` (NULL where it cannot be read).

    Text is read as ISO 8601; an offset or zone, if present, is converted to UTC (the session
    time zone is UTC).
    """
    kind = column_type.upper()
    if kind.startswith("TIMESTAMP WITH TIME ZONE") or kind == "TIMESTAMPTZ":
        return "CAST(ts AS TIMESTAMP)"
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return "TRY_CAST(ts AS TIMESTAMP)"
    return "CAST(TRY_CAST(CAST(ts AS VARCHAR) AS TIMESTAMPTZ) AS TIMESTAMP)"


def _lit(t) -> str:
    return f"TIMESTAMP '{pd.Timestamp(t).isoformat(sep=' ')}'"


def events_view_sql(raw: str, column_type: str, now: pd.Timestamp, start: pd.Timestamp | None,
                    end_exclusive: pd.Timestamp | None) -> str:
    """SQL of the ``usage_events`` view that ``GROUPS_SQL`` reads: typed columns plus the zone code.

    Parameters
    ----------
    raw : str
        Relation of the raw event files.
    column_type : str
        DuckDB type of the raw ``ts`` column.
    now : pandas.Timestamp
        Later timestamps are in the future (an error).
    start, end_exclusive : pandas.Timestamp, optional
        The window, when fixed by the caller (otherwise every readable past event is inside).
    """
    blank = "ts IS NULL" if column_type.upper().startswith(("TIMESTAMP", "DATE")) else \
        "(ts IS NULL OR trim(CAST(ts AS VARCHAR)) = '')"
    before = f"WHEN t < {_lit(start)} THEN {ZONE_BEFORE}" if start is not None else ""
    after = f"WHEN t >= {_lit(end_exclusive)} THEN {ZONE_AFTER}" if end_exclusive is not None else ""
    return f"""
        SELECT CAST(account_id AS VARCHAR) AS account_id, CAST(user_id AS VARCHAR) AS user_id,
               CAST(feature AS VARCHAR) AS feature, t AS ts,
               CASE WHEN {blank} THEN {ZONE_MISSING_TS} WHEN t IS NULL THEN {ZONE_UNREADABLE_TS}
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
    before_window, after_window : int
        Rows dated before / after the window (only when a window was given).
    before_activation : int
        Rows inside the window in months before the user's activation month (or of users never
        activated).
    first_month, last_month : pandas.Timestamp or None
        First day of the earliest and of the latest month with events inside the window.
    """

    violations: list
    rows: int
    before_window: int
    after_window: int
    before_activation: int
    first_month: pd.Timestamp | None
    last_month: pd.Timestamp | None


def _blank(col: str) -> str:
    return f"({col} IS NULL OR trim({col}) = '')"


def check_groups(con: duckdb.DuckDBPyConnection, groups: str = "event_groups", raw: str = "raw_events",
                 ts_sql: str = "ts", now: pd.Timestamp | None = None) -> CheckResult:
    """Count every contract problem of the events from their groups.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Holds ``groups`` (``GROUPS_SQL`` output), ``raw`` (the raw files), ``ref_accounts`` and
        ``ref_users``.
    ts_sql : str
        Expression reading the raw ts (for examples of unreadable values only).
    now : pandas.Timestamp, optional
        Shown in the future-timestamp rule.

    Returns
    -------
    CheckResult
    """
    u = f"(SELECT * FROM {groups} WHERE by_user = 1)"
    names = ["rows", "missing_account_id", "missing_user_id", "missing_feature", "missing_ts", "unparseable",
             "future", "before_window", "after_window", "first_month", "last_month"]
    user_set, feature_set = "by_user = 1", "by_user = 0"
    r = con.execute(f"""
    SELECT
      coalesce(sum(events) FILTER (WHERE {user_set}), 0),
      coalesce(sum(events) FILTER (WHERE {user_set} AND {_blank('account_id')}), 0),
      coalesce(sum(events) FILTER (WHERE {user_set} AND {_blank('user_id')}), 0),
      coalesce(sum(events) FILTER (WHERE {feature_set} AND {_blank('feature')}), 0),
      coalesce(sum(events) FILTER (WHERE {user_set} AND zone = {ZONE_MISSING_TS}), 0),
      coalesce(sum(events) FILTER (WHERE {user_set} AND zone = {ZONE_UNREADABLE_TS}), 0),
      coalesce(sum(events) FILTER (WHERE {user_set} AND zone = {ZONE_FUTURE}), 0),
      coalesce(sum(events) FILTER (WHERE {user_set} AND zone = {ZONE_BEFORE}), 0),
      coalesce(sum(events) FILTER (WHERE {user_set} AND zone = {ZONE_AFTER}), 0),
      min(month_key) FILTER (WHERE {user_set} AND zone = {ZONE_INSIDE}),
      max(month_key) FILTER (WHERE {user_set} AND zone = {ZONE_INSIDE})
    FROM {groups}
    """).fetchone()
    r = dict(zip(names, r))
    # keys: one row per (account, user) pair with its event count
    keys = con.execute(f"""
    WITH pairs AS (
        SELECT account_id, user_id, sum(events) AS n
        FROM {u} WHERE NOT {_blank('account_id')} AND NOT {_blank('user_id')}
        GROUP BY account_id, user_id
    ),
    marked AS (
        SELECT p.*, a.account_id IS NULL AS unknown_account, ru.user_id IS NULL AS unknown_user,
               a.account_id IS NOT NULL AND ru.user_id IS NOT NULL AND ru.account_id <> p.account_id
                   AS other_account
        FROM pairs AS p
        LEFT JOIN ref_accounts AS a ON a.account_id = p.account_id
        LEFT JOIN ref_users AS ru ON ru.user_id = p.user_id
    )
    SELECT
      coalesce(sum(n) FILTER (WHERE unknown_account), 0),
      min(account_id) FILTER (WHERE unknown_account), max(account_id) FILTER (WHERE unknown_account),
      coalesce(sum(n) FILTER (WHERE unknown_user), 0),
      min(user_id) FILTER (WHERE unknown_user), max(user_id) FILTER (WHERE unknown_user),
      coalesce(sum(n) FILTER (WHERE other_account), 0),
      min(user_id || ' in ' || account_id) FILTER (WHERE other_account),
      max(user_id || ' in ' || account_id) FILTER (WHERE other_account)
    FROM marked
    """).fetchone()
    before_activation = con.execute(f"""
        SELECT coalesce(sum(g.events), 0) FROM {u} AS g JOIN ref_users AS ru ON ru.user_id = g.user_id
        WHERE g.zone = {ZONE_INSIDE}
          AND (ru.activated_at IS NULL
               OR g.month_key < year(ru.activated_at) * 12 + month(ru.activated_at) - 1)""").fetchone()[0]
    v: list[Violation] = []

    def add(column, rule, count, *examples):
        if count:
            v.append(Violation(EVENTS, column, rule, int(count),
                               tuple(dict.fromkeys(str(x) for x in examples if x is not None))))

    for col in REQUIRED:
        add(col, "missing value", r[f"missing_{col}"])
    add("account_id", "unknown accounts.account_id", keys[0], keys[1], keys[2])
    add("user_id", "unknown users.user_id", keys[3], keys[4], keys[5])
    add("user_id", "user belongs to another account (users.account_id)", keys[6], keys[7], keys[8])
    if r["unparseable"]:
        examples = [x[0] for x in con.execute(
            f"SELECT DISTINCT CAST(ts AS VARCHAR) FROM {raw} WHERE ts IS NOT NULL AND {ts_sql} IS NULL "
            "LIMIT 3").fetchall()]
        add("ts", "unparseable timestamp (use ISO 8601, e.g. 2026-09-30T14:05:00)", r["unparseable"], *examples)
    when = "" if now is None else f" (after {pd.Timestamp(now).isoformat(sep=' ', timespec='seconds')} UTC)"
    if r["future"]:
        examples = [x[0] for x in con.execute(
            f"SELECT DISTINCT CAST(ts AS VARCHAR) FROM {raw} WHERE {ts_sql} > {_lit(now)} LIMIT 3").fetchall()] \
            if now is not None else []
        add("ts", f"timestamp in the future{when}", r["future"], *examples)
    month = lambda k: None if k is None else pd.Timestamp(year=int(k) // 12, month=int(k) % 12 + 1, day=1)  # noqa: E731
    return CheckResult(v, int(r["rows"]), int(r["before_window"]), int(r["after_window"]), int(before_activation),
                       month(r["first_month"]), month(r["last_month"]))
