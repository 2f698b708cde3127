"""``usage_events -> usage_monthly`` on Spark, with the very same metric definitions.

The SQL in ``insights.metrics.usage.definitions`` (``FEATURES_SQL``, ``feature_codes_sql``,
``groups_sql``, ``monthly_sql``) is written once (DuckDB dialect) and transpiled to Spark SQL by
sqlglot (``definitions.to_spark``); this module only provides its inputs as Spark temporary views
under the names the SQL expects and runs it. Needs the ``spark`` extra (pyspark, sqlglot) and
Java 17+.

The contract checks of the events run in DuckDB (``insights.metrics.usage.checks``) before data is
handed to a cluster; this engine assumes checked events: it applies the data window (events
outside it, and future or unreadable timestamps, are left out) but does not report problems.
"""

from __future__ import annotations

import os

import pandas as pd

from insights.data import paths
from insights.errors import ParameterError
from insights.metrics.usage import definitions, sources
from insights.metrics.usage.window import UsageSummary, Window, utc_naive


def spark_session(master: str = "local[2]", app_name: str = "insights-usage"):
    """A Spark session in UTC (local mode by default).

    Parameters
    ----------
    master : str
        Spark master URL (``local[2]``: two local cores).
    app_name : str
        Application name shown by Spark.

    Returns
    -------
    pyspark.sql.SparkSession
        The active session with these settings, or a new one (UTC, 8 shuffle partitions, no UI).

    Raises
    ------
    ParameterError
        If pyspark is not installed.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ParameterError("the Spark engine needs pyspark: pip install -e '.[spark]' (and Java 17+).") from None
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


def _spark_frame(spark, frame: pd.DataFrame, schema: str):
    """A small pandas table as a Spark DataFrame (via plain Python rows: no pandas/pyarrow version coupling)."""
    rows = [
        tuple(None if pd.isna(v) else (v.date() if isinstance(v, pd.Timestamp) else v) for v in rec)
        for rec in frame.itertuples(index=False, name=None)
    ]
    return spark.createDataFrame(rows, schema=schema)


def register_inputs(
    spark, events, ref: dict[str, pd.DataFrame], window: Window | None = None, now: pd.Timestamp | None = None
) -> Window:
    """Create the temporary views the definitions read.

    They are ``usage_events``, ``event_features``, ``feature_codes``, ``event_groups``, ``users``,
    ``contracts`` and ``months``.

    ``event_features``, ``feature_codes`` and ``event_groups`` are ``definitions.FEATURES_SQL``,
    ``feature_codes_sql`` and ``groups_sql`` transpiled to Spark SQL (cached).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session that gets the views.
    events : pyspark.sql.DataFrame
        Raw events with account_id, user_id, ts (timestamp or ISO text), feature.
    ref : dict of pandas.DataFrame
        Validated ``users`` and ``contracts`` (``insights.metrics.usage.sources.reference_tables``).
    window : Window, optional
        Default: the months of the earliest and latest event.
    now : pandas.Timestamp, optional
        Later timestamps are outside every window (default: now, UTC).

    Returns
    -------
    Window
        The data window used (the given one, or the months of the events).

    Raises
    ------
    ParameterError
        If no window is given and no event has a readable timestamp.

    Notes
    -----
    Sets ``spark.sql.session.timeZone`` to UTC on ``spark`` (month boundaries and the window are UTC,
    as on DuckDB).
    """
    from pyspark.sql import functions as F

    # Timestamps are UTC throughout. Python datetimes would go through the driver's local time zone
    # on their way into and out of Spark, so literals travel as text, read in the session's UTC.
    spark.conf.set("spark.sql.session.timeZone", "UTC")

    def at(t) -> F.Column:
        return F.lit(utc_naive(t).strftime("%Y-%m-%d %H:%M:%S.%f")).cast("timestamp")

    now = pd.Timestamp.now(tz="UTC").tz_localize(None) if now is None else pd.Timestamp(utc_naive(now))
    ts = F.col("ts").cast("timestamp")
    if window is None:
        text = "yyyy-MM-dd HH:mm:ss.SSSSSS"
        lo, hi = events.where(ts <= at(now)).agg(F.date_format(F.min(ts), text), F.date_format(F.max(ts), text)).first()
        if lo is None:
            raise ParameterError("usage_events has no rows with a readable timestamp.")
        window = Window(
            pd.Timestamp(lo).to_period("M").to_timestamp(),
            (pd.Timestamp(hi).to_period("M").to_timestamp() + pd.offsets.MonthEnd(0)).normalize(),
        )
    zone = (
        F.when(F.col("ts").isNull(), definitions.ZONE_MISSING_TS)
        .when(ts.isNull(), definitions.ZONE_UNREADABLE_TS)
        .when(ts > at(now), definitions.ZONE_FUTURE)
        .when(ts < at(window.start), definitions.ZONE_BEFORE)
        .when(ts >= at(window.end_exclusive), definitions.ZONE_AFTER)
        .otherwise(definitions.ZONE_INSIDE)
    )
    events.select(
        F.col("account_id").cast("string").alias("account_id"),
        F.col("user_id").cast("string").alias("user_id"),
        F.col("feature").cast("string").alias("feature"),
        ts.alias("ts"),
        zone.alias("zone"),
    ).createOrReplaceTempView("usage_events")
    spark.sql(definitions.to_spark(definitions.FEATURES_SQL)).cache().createOrReplaceTempView("event_features")
    words = _words(spark)
    spark.sql(definitions.to_spark(definitions.feature_codes_sql(words))).cache().createOrReplaceTempView(
        "feature_codes"
    )
    spark.sql(definitions.to_spark(definitions.groups_sql(words))).cache().createOrReplaceTempView("event_groups")
    users = ref["users"][["user_id", "account_id", "activated_at"]]
    _spark_frame(spark, users, "user_id string, account_id string, activated_at date").createOrReplaceTempView("users")
    contracts = ref["contracts"][["contract_id", "account_id", "start_date", "end_date", "seats"]].astype(
        {"seats": "int64"}
    )
    _spark_frame(
        spark, contracts, "contract_id string, account_id string, start_date date, end_date date, seats bigint"
    ).createOrReplaceTempView("contracts")
    months = window.months()
    month_table = pd.DataFrame({"month": months, "month_key": [int(m.year * 12 + m.month - 1) for m in months]})
    _spark_frame(spark, month_table, "month date, month_key int").createOrReplaceTempView("months")
    return window


def _words(spark) -> int:
    """Mask words of the registered ``event_features`` (``definitions.mask_words``)."""
    return definitions.mask_words(spark.sql(definitions.to_spark(definitions.MAX_CODE_SQL)).first()[0])


def monthly(spark):
    """Run the transpiled ``definitions.monthly_sql`` on the registered views.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A session prepared by ``register_inputs``.

    Returns
    -------
    pyspark.sql.DataFrame
        The monthly table (lazy: nothing runs until it is collected).
    """
    return spark.sql(definitions.to_spark(definitions.monthly_sql(_words(spark))))


def usage_monthly_spark(
    data_dir: str | os.PathLike | None = None, *, start=None, end=None, spark=None, now: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, UsageSummary]:
    """Aggregate ``usage_events`` of ``data_dir`` into ``usage_monthly`` on Spark.

    Parameters
    ----------
    data_dir, start, end
        As for the DuckDB engine's ``insights.metrics.usage.duckdb_engine.usage_monthly_frame``: the raw
        data folder, and the data window (default: the months of the first and last event).
    spark : pyspark.sql.SparkSession, optional
        Default ``spark_session()`` (local mode).
    now : pandas.Timestamp, optional
        Later timestamps are not aggregated (default: now, UTC).

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``insights.metrics.usage.definitions.MONTHLY_COLUMNS``, sorted by account_id, month.
    summary : UsageSummary

    Raises
    ------
    ParameterError
        If pyspark/sqlglot are missing or there are no event files.
    ContractError
        If the reference tables break the contract.
    """
    folder = paths.resolve_data_dir(data_dir)
    files = [str(f) for f in sources.event_files(folder)]
    ref = sources.reference_tables(folder)
    spark = spark or spark_session()
    reader = spark.read.option("header", "true").csv if files[0].endswith(".csv") else spark.read.parquet
    events = reader(*files)
    window = Window.parse(start, end) if start is not None and end is not None else None
    window = register_inputs(spark, events, ref, window, now)
    rows = monthly(spark).collect()
    frame = pd.DataFrame([r.asDict() for r in rows], columns=list(definitions.MONTHLY_COLUMNS))
    frame = definitions.monthly_frame(frame)
    aggregated = int(frame["events"].sum())
    summary = UsageSummary("spark", window, events_read=aggregated, events_aggregated=aggregated, rows=len(frame))
    return frame, summary
