"""The usage metrics, defined once: ``usage_events -> usage_monthly``.

``GROUPS_SQL`` and ``MONTHLY_SQL`` are the single definition of every monthly usage metric. They
are written in DuckDB's SQL dialect and run unchanged on DuckDB (``insights.usage.duckdb_engine``);
the Spark engine (``insights.usage.spark_engine``) runs the *same text* after transpiling it to
Spark SQL with sqlglot (``to_spark``). The demo generator's ``usage_monthly`` follows the same
definitions, and its raw events (``insights.demo.events``) aggregate back to it exactly.

Two steps, so that the (large) event table is scanned once:

1. ``GROUPS_SQL`` reads the view ``usage_events`` (account_id, user_id, feature, ts as a UTC
   timestamp, and ``zone``: ``ZONE_INSIDE`` for events inside the data window, other codes for
   events outside it or with a missing, unreadable or future timestamp) and groups it by account,
   month, zone and user, and by account, month, zone and feature (one scan, two grouping sets).
   The result, ``event_groups``, is small; the contract checks of the engines read it too.
2. ``MONTHLY_SQL`` computes the monthly table from ``event_groups`` (zone ``ZONE_INSIDE`` only),
   ``users`` (user_id, account_id, activated_at date), ``contracts`` (contract_id, account_id,
   start_date, end_date, seats) and ``months`` (month date, month_key integer: every calendar month
   of the data window).

Definitions, per account and calendar month (UTC); ``month_key`` is ``year * 12 + month - 1``:

- **rows**: every month inside the data window in which a contract term of the account is in
  force for at least one day (``start_date`` to ``end_date`` inclusive), whether or not there were
  events (then the counts are zero), plus every month with events outside any term.
- **events**: number of events.
- **active_users**: distinct users with at least one event.
- **distinct_features**: distinct values of ``feature``, not counting the non-feature events in
  ``NON_FEATURE_EVENTS`` (sign-ins: product use without using a feature; counted in ``events``).
- **activated_seats**: users of the account activated on or before the month (``activated_at``
  in that month or earlier), capped at the seats of the contract term covering the month. When
  two terms overlap a month (a renewal starting mid-month), the term that starts last counts
  (ties: the larger ``contract_id``). Months with events but no term are not capped.
- **depth** (input of utilisation depth): ``events / active_users``; null when no user was active.
- **breadth** (input of utilisation breadth): ``distinct_features / features_available``, where
  ``features_available`` is the number of distinct features (non-feature events excluded) in the
  whole event table inside the window; null when there is no feature at all.
"""

from __future__ import annotations

#: Event names that are product use but not a feature (counted in events, not in distinct_features).
NON_FEATURE_EVENTS: tuple[str, ...] = ("sign_in",)

#: Columns of the processed ``usage_monthly`` table, in order.
MONTHLY_COLUMNS: tuple[str, ...] = ("account_id", "month", "active_users", "activated_seats", "events",
                                    "distinct_features", "depth", "breadth")

#: The columns shared with the ``usage_monthly`` raw table of the data contract.
CONTRACT_COLUMNS: tuple[str, ...] = MONTHLY_COLUMNS[:6]


def _non_feature_list() -> str:
    return ", ".join("'" + name.replace("'", "''") + "'" for name in NON_FEATURE_EVENTS)


#: Zone codes of an event (column ``zone`` of the ``usage_events`` view).
ZONE_INSIDE, ZONE_BEFORE, ZONE_AFTER, ZONE_FUTURE, ZONE_MISSING_TS, ZONE_UNREADABLE_TS = 0, -1, 1, 2, 8, 9

#: Step 1: the only pass over the events (DuckDB dialect; see the module docstring).
GROUPS_SQL = """
SELECT account_id, month_key, zone, user_id, feature,
       grouping(feature) AS by_user,
       count(*) AS events
FROM (
    SELECT account_id, user_id, feature, ts, zone,
           CASE WHEN zone = 0 THEN year(ts) * 12 + month(ts) - 1 END AS month_key
    FROM usage_events
) AS e
GROUP BY GROUPING SETS ((account_id, month_key, zone, user_id), (account_id, month_key, zone, feature))
"""

#: Step 2: every monthly metric from ``event_groups`` (DuckDB dialect; see the module docstring).
MONTHLY_SQL = f"""
WITH event_months AS (
    SELECT account_id, month_key,
           sum(CASE WHEN by_user = 1 THEN events END) AS events,
           count(CASE WHEN by_user = 1 THEN user_id END) AS active_users,
           count(CASE WHEN by_user = 0 AND feature NOT IN ({_non_feature_list()}) THEN feature END)
               AS distinct_features
    FROM event_groups
    WHERE zone = 0
    GROUP BY account_id, month_key
),
catalogue AS (
    SELECT count(DISTINCT feature) AS features_available
    FROM event_groups
    WHERE zone = 0 AND by_user = 0 AND feature NOT IN ({_non_feature_list()})
),
term_months AS (
    SELECT c.account_id, m.month_key, c.seats,
           row_number() OVER (PARTITION BY c.account_id, m.month_key
                              ORDER BY c.start_date DESC, c.contract_id DESC) AS term_rank
    FROM contracts AS c
    JOIN months AS m
      ON m.month_key >= year(c.start_date) * 12 + month(c.start_date) - 1
     AND m.month_key <= year(c.end_date) * 12 + month(c.end_date) - 1
),
covered AS (
    SELECT account_id, month_key, seats FROM term_months WHERE term_rank = 1
),
grid AS (
    SELECT account_id, month_key FROM covered
    UNION
    SELECT account_id, month_key FROM event_months
),
activations AS (
    SELECT account_id, year(activated_at) * 12 + month(activated_at) - 1 AS month_key, count(*) AS n
    FROM users
    WHERE activated_at IS NOT NULL
    GROUP BY account_id, year(activated_at) * 12 + month(activated_at) - 1
),
activated AS (
    SELECT g.account_id, g.month_key, coalesce(sum(u.n), 0) AS activated_users
    FROM grid AS g
    LEFT JOIN activations AS u
      ON u.account_id = g.account_id AND u.month_key <= g.month_key
    GROUP BY g.account_id, g.month_key
)
SELECT g.account_id,
       m.month,
       CAST(coalesce(e.active_users, 0) AS BIGINT) AS active_users,
       CAST(CASE WHEN c.seats IS NULL THEN a.activated_users
                 ELSE least(a.activated_users, c.seats) END AS BIGINT) AS activated_seats,
       CAST(coalesce(e.events, 0) AS BIGINT) AS events,
       CAST(coalesce(e.distinct_features, 0) AS BIGINT) AS distinct_features,
       CAST(e.events AS DOUBLE) / CAST(nullif(e.active_users, 0) AS DOUBLE) AS depth,
       CAST(coalesce(e.distinct_features, 0) AS DOUBLE)
           / CAST(nullif(k.features_available, 0) AS DOUBLE) AS breadth
FROM grid AS g
JOIN months AS m ON m.month_key = g.month_key
JOIN activated AS a ON a.account_id = g.account_id AND a.month_key = g.month_key
LEFT JOIN covered AS c ON c.account_id = g.account_id AND c.month_key = g.month_key
LEFT JOIN event_months AS e ON e.account_id = g.account_id AND e.month_key = g.month_key
CROSS JOIN catalogue AS k
ORDER BY g.account_id, m.month
"""


def to_spark(sql: str) -> str:
    """Return ``sql`` (``GROUPS_SQL`` or ``MONTHLY_SQL``) transpiled to Spark SQL by sqlglot.

    Parameters
    ----------
    sql : str
        A query in DuckDB's dialect.

    Returns
    -------
    str

    Raises
    ------
    insights.errors.ParameterError
        If sqlglot is not installed.
    """
    try:
        import sqlglot
    except ImportError:  # pragma: no cover - depends on the environment
        from insights.errors import ParameterError

        raise ParameterError("the Spark engine needs sqlglot and pyspark: pip install -e '.[spark]'") from None
    return sqlglot.transpile(sql, read="duckdb", write="spark", pretty=True)[0]
