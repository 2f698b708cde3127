"""``usage_events -> usage_monthly`` on Spark, with the very same definitions and checks.

The SQL in ``insights.metrics.usage.definitions`` (``FEATURES_SQL``, ``feature_codes_sql``,
``groups_sql``, ``monthly_sql``) and in ``insights.metrics.usage.checks`` (``events_view_sql``,
``check_groups``) is written once (DuckDB dialect) and transpiled to Spark SQL by sqlglot
(``definitions.to_spark``); this module only provides the inputs as Spark temporary views under
the names the SQL expects and runs it. The events are checked on the cluster, as DuckDB checks
them on one machine, with the same counts per problem; only the small reference tables
(``accounts``, ``contracts``, ``users``) and the small results travel through the driver.

Events come from a path, glob or URI Spark reads itself (local, ``file://``, ``hdfs://``,
``s3a://``...) or from a table of the Spark catalog (``insights.metrics.usage.sources.locate_events``).
No Python runs on the executors (plain Spark SQL), so they need no ``insights`` installed.
Needs the ``spark`` extra (pyspark, sqlglot) and Java 17+.
"""

from __future__ import annotations

import datetime
import os
import time

import pandas as pd

from insights.errors import ContractError, ParameterError
from insights.metrics.usage import checks, definitions, sources
from insights.metrics.usage.window import UsageSummary, Window

#: What to install for the Spark engine (the one line ``--engine spark`` prints without it).
MISSING_EXTRA = "the Spark engine needs the spark extra: pip install 'insights[spark]' (pyspark, sqlglot) and Java 17+."


def require_spark() -> None:
    """Refuse at once, in one line naming the extra, when pyspark or sqlglot cannot be imported.

    Raises
    ------
    ParameterError
        With ``MISSING_EXTRA``.
    """
    try:
        import pyspark.sql  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise ParameterError(MISSING_EXTRA) from None


def spark_session(master: str | None = "local[2]", app_name: str = "insights-usage"):
    """A Spark session in UTC (local mode by default).

    Parameters
    ----------
    master : str or None
        Spark master URL (``local[2]``: two local cores; ``yarn``; ``spark://host:7077``). None keeps
        the master already configured (by ``spark-submit --master``), else ``local[2]``. On a local
        master the SQL shuffle uses 8 partitions unless ``spark.sql.shuffle.partitions`` is set.
    app_name : str
        Application name shown by Spark.

    Returns
    -------
    pyspark.sql.SparkSession
        The active session with these settings, or a new one (UTC, no UI).

    Raises
    ------
    ParameterError
        If pyspark or sqlglot is not installed.
    """
    require_spark()
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    given = SparkConf()  # what spark-submit (or spark-defaults.conf) set
    if master is not None or not given.contains("spark.master"):
        builder = builder.master(master or "local[2]")
    effective = master or given.get("spark.master", "local[2]")
    # one machine: few shuffle partitions, unless set explicitly (a cluster keeps its own); Spark's
    # 200 made `spark-submit --master local[2]` on 4,000 events run 3,242 tasks in 60 s
    if effective.startswith("local") and not given.contains("spark.sql.shuffle.partitions"):
        builder = builder.config("spark.sql.shuffle.partitions", "8")
    return (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


def spark_query(spark) -> checks.Query:
    """The ``checks.Query`` of a Spark session: DuckDB-dialect SQL transpiled (``definitions.to_spark``), then run.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session.

    Returns
    -------
    checks.Query
        A function from a query to its rows as tuples.
    """
    return lambda sql: [tuple(row) for row in spark.sql(definitions.to_spark(sql)).collect()]


def read_events(spark, location: sources.EventsLocation):
    """The raw events as a Spark DataFrame: the catalog table, or the paths read by Spark itself.

    CSV is read as text with a header (the checks parse it, as on DuckDB); Parquet keeps its types.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session.
    location : sources.EventsLocation
        From ``sources.locate_events``.

    Returns
    -------
    pyspark.sql.DataFrame

    Raises
    ------
    ContractError
        If the table does not exist or the paths cannot be read.
    """
    from pyspark.errors import PySparkException

    try:
        if location.table is not None:
            return spark.table(location.table)
        if location.format == "csv":
            return spark.read.option("header", "true").csv(list(location.paths))
        return spark.read.parquet(*location.paths)
    except PySparkException as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ContractError(
            [checks.violation("—", "unreadable events", 1, (location.describe()[:200], first))]
        ) from None


def _duckdb_type(spark_type) -> str:
    """The DuckDB name of a Spark column type, for ``checks.ts_expression`` (read the same way)."""
    name = spark_type.typeName()
    return {"timestamp": "TIMESTAMPTZ", "timestamp_ntz": "TIMESTAMP", "date": "DATE"}.get(name, "VARCHAR")


def _spark_frame(spark, frame: pd.DataFrame, schema: str):
    """A small pandas table as a Spark DataFrame (via plain Python rows: no pandas/pyarrow version coupling)."""
    rows = [
        tuple(None if pd.isna(v) else (v.date() if isinstance(v, pd.Timestamp) else v) for v in rec)
        for rec in frame.itertuples(index=False, name=None)
    ]
    return spark.createDataFrame(rows, schema=schema)


def register_reference(spark, ref: dict[str, pd.DataFrame]) -> None:
    """Create the views ``ref_accounts``, ``ref_users``, ``users`` and, if given, ``contracts``.

    The same tables as ``insights.metrics.usage.duckdb_engine.register_reference`` makes in DuckDB.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session that gets the views.
    ref : dict of pandas.DataFrame
        Typed ``accounts`` and ``users`` and, for the monthly table, ``contracts``.
    """
    accounts = ref["accounts"][["account_id"]].drop_duplicates().astype({"account_id": "str"})
    _spark_frame(spark, accounts, "account_id string").createOrReplaceTempView("ref_accounts")
    users = ref["users"][["user_id", "account_id", "activated_at"]].astype({"user_id": "str", "account_id": "str"})
    _spark_frame(spark, users, "user_id string, account_id string, activated_at date").createOrReplaceTempView(
        "ref_users"
    )
    spark.table("ref_users").createOrReplaceTempView("users")
    if "contracts" in ref:
        contracts = ref["contracts"][["contract_id", "account_id", "start_date", "end_date", "seats"]].astype(
            {"contract_id": "str", "account_id": "str", "seats": "int64"}
        )
        _spark_frame(
            spark, contracts, "contract_id string, account_id string, start_date date, end_date date, seats bigint"
        ).createOrReplaceTempView("contracts")


def _words(spark) -> int:
    """Mask words of the registered ``event_features`` (``definitions.mask_words``)."""
    return definitions.mask_words(spark.sql(definitions.to_spark(definitions.MAX_CODE_SQL)).first()[0])


def scan_and_check(
    spark, events, ref: dict[str, pd.DataFrame], given: Window | None, now: datetime.datetime
) -> tuple[checks.CheckResult, int, dict[str, float]]:
    """Group the events once on Spark and count every contract problem (the DuckDB engine's checks).

    Creates the views ``raw_events``, ``usage_events`` (``checks.events_view_sql``) and the cached
    ``event_features``, ``feature_codes`` and ``event_groups`` (text keys), registers the reference
    tables and runs ``checks.check_groups`` through ``spark_query``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session.
    events : pyspark.sql.DataFrame
        Raw events (``read_events``).
    ref : dict of pandas.DataFrame
        Typed ``accounts`` and ``users`` (and ``contracts`` for the monthly table).
    given : Window or None
        The data window fixed by the caller, or None.
    now : datetime.datetime
        Naive UTC time after which a timestamp is in the future.

    Returns
    -------
    result : checks.CheckResult
        Every problem and the counts (not raised).
    words : int
        Mask words of ``event_groups``.
    seconds : dict
        Wall time of the grouping (``scan``) and of the checks.

    Raises
    ------
    ContractError
        If a contract column is missing.

    Notes
    -----
    Sets ``spark.sql.session.timeZone`` to UTC on ``spark`` (month boundaries and the window are UTC,
    as on DuckDB).
    """
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    missing = checks.missing_columns(list(events.columns))
    if missing:
        raise ContractError(missing)
    t0 = time.perf_counter()
    events.createOrReplaceTempView("raw_events")
    ts_type = _duckdb_type(events.schema["ts"].dataType)
    view = checks.events_view_sql(
        "raw_events", ts_type, now, given.start if given else None, given.end_exclusive if given else None
    )
    spark.sql(definitions.to_spark(view)).createOrReplaceTempView("usage_events")
    spark.sql(definitions.to_spark(definitions.FEATURES_SQL)).cache().createOrReplaceTempView("event_features")
    words = _words(spark)
    spark.sql(definitions.to_spark(definitions.feature_codes_sql(words))).cache().createOrReplaceTempView(
        "feature_codes"
    )
    groups = spark.sql(definitions.to_spark(definitions.groups_sql(words))).cache()
    groups.createOrReplaceTempView("event_groups")
    groups.count()  # the one pass over the events happens here
    seconds = {"scan": time.perf_counter() - t0}
    register_reference(spark, ref)
    t1 = time.perf_counter()
    result = checks.check_groups(
        spark_query(spark),
        "event_groups",
        "raw_events",
        checks.ts_expression(ts_type),
        now,
        features="event_features",
        keys="text",
    )
    seconds["check"] = time.perf_counter() - t1
    return result, words, seconds


def _months_view(spark, window: Window) -> None:
    months = window.months()
    month_table = pd.DataFrame({"month": months, "month_key": [int(m.year * 12 + m.month - 1) for m in months]})
    _spark_frame(spark, month_table, "month date, month_key int").createOrReplaceTempView("months")


def monthly(spark, words: int | None = None):
    """Run the transpiled ``definitions.monthly_sql`` on the registered views.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A session prepared by ``scan_and_check`` (and the ``months`` view).
    words : int, optional
        Mask words (default: from the registered ``event_features``).

    Returns
    -------
    pyspark.sql.DataFrame
        The monthly table (lazy: nothing runs until it is collected).
    """
    return spark.sql(definitions.to_spark(definitions.monthly_sql(words or _words(spark))))


def usage_monthly_spark(
    data_dir: str | os.PathLike | None = None,
    *,
    start=None,
    end=None,
    spark=None,
    now: pd.Timestamp | None = None,
    events: str | None = None,
) -> tuple[pd.DataFrame, UsageSummary]:
    """Check the events and aggregate them into ``usage_monthly`` on Spark.

    Parameters
    ----------
    data_dir : path or str, optional
        The folder of the reference tables (``accounts``, ``contracts``, ``users``) and, unless
        ``events`` is given, of the ``usage_events`` files (default ``insights.data.paths.raw_dir()``).
    start, end : date-like, optional
        The data window (default: the months of the first and last event), both or neither.
    spark : pyspark.sql.SparkSession, optional
        Default ``spark_session()`` (local mode).
    now : pandas.Timestamp, optional
        Later timestamps are an error (default: now, UTC).
    events : str, optional
        A path, glob or URI Spark reads, or a table of the Spark catalog (``sources.locate_events``).

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``insights.metrics.usage.definitions.MONTHLY_COLUMNS``, sorted by account_id, month.
    summary : UsageSummary
        Counts of the events read, outside the window and before activation; timings.

    Raises
    ------
    ParameterError
        If pyspark/sqlglot are missing, the folder or the events cannot be found, or the window is invalid.
    ContractError
        With every problem of the events and of the reference tables (those first).
    """
    from insights.metrics.usage.duckdb_engine import existing_folder

    require_spark()
    given = Window.given(start, end)
    folder = existing_folder(data_dir)
    location = sources.locate_events(events, folder)
    ref = sources.reference_tables(folder)
    spark = spark or spark_session()
    result, words, seconds = scan_and_check(spark, read_events(spark, location), ref, given, checks.reference_now(now))
    summary = checks.accepted(result, given, "spark")
    summary.seconds.update(seconds)
    _months_view(spark, summary.window)
    t0 = time.perf_counter()
    table = monthly(spark, words).cache()
    table.createOrReplaceTempView("usage_monthly")
    rows = table.collect()
    summary.seconds["aggregate"] = time.perf_counter() - t0
    summary.events_outside_contract = int(spark_query(spark)(definitions.outside_contract_sql())[0][0])
    frame = pd.DataFrame([r.asDict() for r in rows], columns=list(definitions.MONTHLY_COLUMNS))
    frame = definitions.monthly_frame(frame)
    summary.rows = len(frame)
    table.unpersist()
    return frame, summary


def event_problems_spark(
    spark, location: sources.EventsLocation, ref: dict[str, pd.DataFrame], now: datetime.datetime
) -> tuple[list, int]:
    """Every contract problem of the events, counted on Spark (as ``duckdb_engine.event_problems``).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session.
    location : sources.EventsLocation
        The events.
    ref : dict of pandas.DataFrame
        Typed ``accounts`` and ``users``.
    now : datetime.datetime
        Naive UTC time after which a timestamp is in the future.

    Returns
    -------
    violations : list of Violation
        Empty when the events meet the contract.
    rows : int
        Event rows read (0 when they could not be read).
    """
    try:
        result = scan_and_check(spark, read_events(spark, location), ref, None, now)[0]
    except ContractError as exc:
        return list(exc.violations), 0
    return result.violations, result.rows
