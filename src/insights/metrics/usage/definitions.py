"""The usage metrics, defined once: ``usage_events -> usage_monthly``.

The queries of this module (``FEATURES_SQL``, ``feature_codes_sql``, ``groups_sql``,
``monthly_sql``) are the single definition of every monthly usage metric. They are written in
DuckDB's SQL dialect and run unchanged on DuckDB (``insights.metrics.usage.duckdb_engine``); the Spark
engine (``insights.metrics.usage.spark_engine``) runs the *same text* after transpiling it to Spark SQL
with sqlglot (``to_spark``). The demo generator's ``usage_monthly`` follows the same
definitions, and its raw events (``insights.demo.events``) aggregate back to it exactly.

Three steps, so that the (large) event table is scanned once with a single grouping:

1. ``FEATURES_SQL`` reads the view ``usage_events`` (account_id, user_id, feature, ts as a UTC
   timestamp, and ``zone``: ``ZONE_INSIDE`` for events inside the data window, other codes for
   events outside it or with a missing, unreadable or future timestamp), reading only its
   ``feature`` column: the tiny table ``event_features`` of every distinct feature with its event
   count and an integer ``code`` (0, 1, ...; null for ``NON_FEATURE_EVENTS`` and missing values).
   ``feature_codes_sql(words)`` turns the codes into bit masks (``bit_0``, ``bit_1``, ...: feature
   ``code`` is bit ``code % MASK_BITS`` of word ``code // MASK_BITS``); ``mask_words`` says how
   many 63-bit words the features need (one up to 63 features).
2. ``groups_sql(words, keys)`` is the only pass over all the events: it joins each event to its
   feature's bits and groups by account, month, zone and user only, counting events and OR-ing
   the bits (``mask_0``, ...: the set of features the user used that month, exactly). The
   result, ``event_groups`` (about users x months rows), is small; the contract checks of the
   engines read it too. Accounts and users are keyed by their IDs (``keys="text"``) or, on
   DuckDB, by 64-bit hashes of them (``keys="hash"``, see ``KEY_KINDS``), mapped back to the IDs
   through ``user_keys_sql``.
3. ``monthly_sql(words, keys)`` computes the monthly table from ``event_groups`` (zone ``ZONE_INSIDE``
   only), ``users`` (user_id, account_id, activated_at date), ``contracts`` (contract_id,
   account_id, start_date, end_date, seats) and ``months`` (month date, month_key integer: every
   calendar month of the data window); with hash keys also ``account_keys`` (account_key,
   account_id). Distinct features of an account-month are the set bits of
   the OR of its users' masks (``bit_count``), so no distinct count over events is needed.

``GROUPS_SQL`` and ``MONTHLY_SQL`` are the texts for one mask word (up to 63 features), keyed by the IDs.

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
- **feature_share**: ``distinct_features / features_available``, where ``features_available`` is
  the number of distinct features (non-feature events excluded) in the whole event table inside
  the window; null when there is no feature at all. It is not the snapshot metric ``breadth``
  (``insights.metrics.snapshots``: distinct features per month over three months, as a share of
  the configured ``product.features_available``), which is computed from ``distinct_features``.
"""

from __future__ import annotations

#: Event names that are product use but not a feature (counted in events, not in distinct_features).
NON_FEATURE_EVENTS: tuple[str, ...] = ("sign_in",)

#: Columns of the processed ``usage_monthly`` table, in order.
MONTHLY_COLUMNS: tuple[str, ...] = (
    "account_id",
    "month",
    "active_users",
    "activated_seats",
    "events",
    "distinct_features",
    "depth",
    "feature_share",
)

#: Columns of ``usage_events`` the definitions read: the data contract's ``usage_events`` columns
#: (``insights.data.contract.TABLES``; a test keeps them equal), spelled out here so that checking the
#: event files does not need pandera loaded before the scan starts.
EVENT_COLUMNS: tuple[str, ...] = ("account_id", "user_id", "ts", "feature")

#: The columns shared with the ``usage_monthly`` raw table of the data contract.
CONTRACT_COLUMNS: tuple[str, ...] = MONTHLY_COLUMNS[:6]

#: pandas dtypes of the ``MONTHLY_COLUMNS`` other than month (datetime64[ns], see ``monthly_frame``).
MONTHLY_DTYPES: dict[str, str] = {
    "account_id": "str",
    "active_users": "int64",
    "activated_seats": "int64",
    "events": "int64",
    "distinct_features": "int64",
    "depth": "float64",
    "feature_share": "float64",
}


def _non_feature_list() -> str:
    return ", ".join("'" + name.replace("'", "''") + "'" for name in NON_FEATURE_EVENTS)


#: Zone codes of an event (column ``zone`` of the ``usage_events`` view).
ZONE_INSIDE, ZONE_BEFORE, ZONE_AFTER, ZONE_FUTURE, ZONE_MISSING_TS, ZONE_UNREADABLE_TS = 0, -1, 1, 2, 8, 9

#: Bits used per mask word (BIGINT, sign bit left alone so every engine reads the same value).
MASK_BITS = 63

_IS_FEATURE = f"feature IS NOT NULL AND feature NOT IN ({_non_feature_list()})"

#: Step 1a: the distinct features (reads only the ``feature`` column; DuckDB dialect).
FEATURES_SQL = f"""
SELECT feature, events,
       CASE WHEN {_IS_FEATURE}
            THEN row_number() OVER (PARTITION BY CASE WHEN {_IS_FEATURE} THEN 1 ELSE 0 END ORDER BY feature) - 1
       END AS code
FROM (SELECT feature, count(*) AS events FROM usage_events GROUP BY feature) AS f
"""

#: Step 1b: the largest feature code (null without features), for ``mask_words``.
MAX_CODE_SQL = "SELECT max(code) FROM event_features"


def mask_words(max_code: int | None) -> int:
    """Number of ``MASK_BITS``-bit words needed for feature codes up to ``max_code`` (at least one).

    Parameters
    ----------
    max_code : int or None
        The largest feature code (``MAX_CODE_SQL``); None when there are no features.

    Returns
    -------
    int
        ``max_code // MASK_BITS + 1``, or 1 for None.
    """
    return 1 if max_code is None else int(max_code) // MASK_BITS + 1


def _words(words: int) -> range:
    if int(words) < 1:
        raise ValueError("words must be at least 1")
    return range(int(words))


def feature_codes_sql(words: int = 1) -> str:
    """Step 1c: ``feature_codes`` (feature, ``bit_0`` ... ``bit_<words-1>``) from ``event_features``.

    Each feature has exactly one bit set over its words; non-features and missing values have no row.

    Parameters
    ----------
    words : int
        Number of ``MASK_BITS``-bit mask words (``mask_words``); at least 1.

    Returns
    -------
    str
        The query.

    Raises
    ------
    ValueError
        If ``words`` is below 1 (a programming error).
    """
    bits = ",\n       ".join(
        f"CASE WHEN code // {MASK_BITS} = {w} THEN CAST(1 AS BIGINT) << CAST(code % {MASK_BITS} AS INTEGER) "
        f"ELSE CAST(0 AS BIGINT) END AS bit_{w}"
        for w in _words(words)
    )
    return f"""
SELECT feature,
       {bits}
FROM event_features
WHERE code IS NOT NULL
"""


#: How the scan keys accounts and users (``groups_sql``): by the IDs themselves (``"text"``, exact on
#: every engine) or by their 64-bit DuckDB hashes (``"hash"``, DuckDB only: integer keys make the
#: grouping about a quarter faster). Hash keys are mapped back to the IDs through the reference
#: tables (``user_keys_sql``), which the DuckDB checks verify to be collision-free; events whose keys
#: map to no reference user send the DuckDB engine back to a text-keyed scan.
KEY_KINDS: tuple[str, ...] = ("text", "hash")
#: The hash key of an ID column (DuckDB's 64-bit ``hash``).
HASH_KEY = "hash({})"


def key_sql(column: str, keys: str = "text") -> str:
    """The grouping key of an ID column: the column itself (``"text"``) or its hash (``"hash"``).

    Parameters
    ----------
    column : str
        The ID column's SQL name.
    keys : str
        ``"text"`` or ``"hash"`` (``KEY_KINDS``): how accounts and users are keyed.

    Returns
    -------
    str
        A SQL expression.

    Raises
    ------
    ValueError
        If ``keys`` is not in ``KEY_KINDS`` (a programming error).
    """
    if keys not in KEY_KINDS:
        raise ValueError(f"keys must be one of {KEY_KINDS}, got {keys!r}")
    return column if keys == "text" else HASH_KEY.format(column)


def _keyed_ids(keys: str) -> str:
    """The select list ``account_key, user_key``: the account and user IDs keyed as ``keys`` says (``key_sql``)."""
    return f"{key_sql('account_id', keys)} AS account_key, {key_sql('user_id', keys)} AS user_key"


def groups_sql(words: int = 1, keys: str = "text") -> str:
    """Step 2: the only pass over the events: ``event_groups`` by account, month, zone and user.

    Columns: account_key and user_key (the IDs, or their hashes: ``key_sql``), month_key (null
    outside the window), zone, events, and ``mask_0`` ... ``mask_<words-1>`` (OR of the bits of
    the features used; null if none).

    Parameters
    ----------
    words
        As for ``feature_codes_sql``.
    keys : str
        ``"text"`` or ``"hash"`` (``KEY_KINDS``): how accounts and users are keyed.

    Returns
    -------
    str
        The ``event_groups`` query, with the columns listed above.

    Raises
    ------
    ValueError
        If ``words`` is below 1 or ``keys`` is not in ``KEY_KINDS`` (a programming error).
    """
    masks = ", ".join(f"bit_or(c.bit_{w}) AS mask_{w}" for w in _words(words))
    return f"""
SELECT e.account_key, e.month_key, e.zone, e.user_key,
       count(*) AS events,
       {masks}
FROM (
    SELECT {_keyed_ids(keys)}, feature, zone,
           CASE WHEN zone = {ZONE_INSIDE} THEN year(ts) * 12 + month(ts) - 1 END AS month_key
    FROM usage_events
) AS e
LEFT JOIN feature_codes AS c ON c.feature = e.feature
GROUP BY e.account_key, e.month_key, e.zone, e.user_key
"""


def user_keys_sql(keys: str = "text") -> str:
    """``user_keys`` from ``users``: the map from keyed ``event_groups`` back to the reference users.

    Parameters
    ----------
    keys : str
        ``"text"`` or ``"hash"`` (``KEY_KINDS``): how accounts and users are keyed.

    Returns
    -------
    str
        A query with each user's account_key and user_key (``key_sql``), account_id, user_id and
        activated_at.

    Raises
    ------
    ValueError
        If ``keys`` is not in ``KEY_KINDS`` (a programming error).
    """
    return f"""
SELECT {_keyed_ids(keys)},
       account_id, user_id, activated_at
FROM users
"""


def _distinct_features(words: int) -> str:
    """Set bits of the OR of the masks of the rows of a group: its number of distinct features."""
    return " + ".join(f"coalesce(CAST(bit_count(bit_or(mask_{w})) AS BIGINT), 0)" for w in _words(words))


def monthly_sql(words: int = 1, keys: str = "text") -> str:
    """Step 3: every monthly metric from ``event_groups`` (see the module docstring).

    With hash keys (``keys="hash"``) the account IDs come from ``account_keys`` (account_key,
    account_id), made from ``user_keys``.

    Parameters
    ----------
    words, keys
        As for ``groups_sql``.

    Returns
    -------
    str
        The query of the ``usage_monthly`` table.

    Raises
    ------
    ValueError
        If ``words`` is below 1 or ``keys`` is not in ``KEY_KINDS`` (a programming error).
    """
    key_sql("account_id", keys)  # checks ``keys``
    named = (
        ("SELECT account_key AS account_id, month_key, events, active_users, distinct_features FROM keyed_months")
        if keys == "text"
        else (
            "SELECT n.account_id, k.month_key, k.events, k.active_users, k.distinct_features\n"
            "    FROM keyed_months AS k JOIN account_keys AS n ON n.account_key = k.account_key"
        )
    )
    return f"""
WITH keyed_months AS (
    SELECT account_key, month_key,
           sum(events) AS events,
           count(user_key) AS active_users,
           {_distinct_features(words)} AS distinct_features
    FROM event_groups
    WHERE zone = {ZONE_INSIDE}
    GROUP BY account_key, month_key
),
event_months AS (
    {named}
),
catalogue AS (
    SELECT {_distinct_features(words)} AS features_available
    FROM event_groups
    WHERE zone = {ZONE_INSIDE}
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
           / CAST(nullif(k.features_available, 0) AS DOUBLE) AS feature_share
FROM grid AS g
JOIN months AS m ON m.month_key = g.month_key
JOIN activated AS a ON a.account_id = g.account_id AND a.month_key = g.month_key
LEFT JOIN covered AS c ON c.account_id = g.account_id AND c.month_key = g.month_key
LEFT JOIN event_months AS e ON e.account_id = g.account_id AND e.month_key = g.month_key
CROSS JOIN catalogue AS k
ORDER BY g.account_id, m.month
"""


def monthly_frame(frame):
    """The ``usage_monthly`` table as every engine returns it: typed, in column order, sorted.

    Parameters
    ----------
    frame : pandas.DataFrame
        The monthly table an engine computed, with at least the ``MONTHLY_COLUMNS``.

    Returns
    -------
    pandas.DataFrame
        Exactly the ``MONTHLY_COLUMNS`` with the ``MONTHLY_DTYPES`` (month as datetime64[ns]), sorted by
        account_id and month, on a fresh 0..n-1 index.
    """
    import pandas as pd  # here, not at the top: the event checks import this module before pandas is needed

    frame = frame.astype(MONTHLY_DTYPES)
    frame["month"] = pd.to_datetime(frame["month"]).astype("datetime64[ns]")
    return frame[list(MONTHLY_COLUMNS)].sort_values(["account_id", "month"]).reset_index(drop=True)


def outside_contract_sql(table: str = "usage_monthly") -> str:
    """Events of a monthly table that fall in account-months with no contract term in force.

    Parameters
    ----------
    table : str
        The monthly table (``monthly_sql`` output); ``contracts`` as for ``monthly_sql``.

    Returns
    -------
    str
        A query of one row and one column: the number of such events.
    """
    return f"""
SELECT coalesce(sum(r.events), 0) FROM {table} AS r
WHERE NOT EXISTS (SELECT 1 FROM contracts AS c
                  WHERE c.account_id = r.account_id
                    AND year(r.month) * 12 + month(r.month)
                        BETWEEN year(c.start_date) * 12 + month(c.start_date)
                            AND year(c.end_date) * 12 + month(c.end_date))
"""


#: ``groups_sql`` and ``monthly_sql`` for one mask word (up to 63 features).
GROUPS_SQL = groups_sql(1)
MONTHLY_SQL = monthly_sql(1)


def to_spark(sql: str) -> str:
    """Return ``sql`` (any query of this module) transpiled to Spark SQL by sqlglot.

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
