"""The same usage definitions on Spark (pyspark local mode) give exactly the DuckDB table.

Needs the ``spark`` extra and Java 17+. If ``java`` is missing, setup tries
``apt-get install -y openjdk-17-jre-headless`` (as root); where Java or pyspark cannot be had,
the tests are skipped with the reason.
"""

import numpy as np
import pandas as pd
import pytest

from insights.metrics.usage import usage_monthly_frame
from insights.metrics.usage.definitions import GROUPS_SQL, feature_codes_sql, groups_sql, monthly_sql, to_spark
from test_usage_events import NOW, make_events_dir, synthetic_events


def test_definitions_transpile_to_spark_sql():
    pytest.importorskip("sqlglot", reason="sqlglot is in the spark extra: pip install -e '.[spark]'")
    groups, monthly = to_spark(groups_sql(2)), to_spark(monthly_sql(2))  # two 63-bit feature mask words
    assert "GROUPING SETS" not in groups and "BIT_OR(c.bit_1) AS mask_1" in groups
    assert "FROM event_groups" in monthly and "BIT_COUNT(BIT_OR(mask_1))" in monthly
    # Spark shifts a 32-bit INT unless told otherwise: the feature bits must be 64-bit
    assert "SHIFTLEFT(CAST(1 AS BIGINT)" in to_spark(feature_codes_sql(2))
    assert "year(" in GROUPS_SQL.lower() and "YEAR(" in groups


@pytest.mark.slow
@pytest.mark.parametrize("window", [None, ("2024-01-01", "2025-12-31")], ids=["default-window", "fixed-window"])
def test_spark_gives_exactly_the_duckdb_table(spark, demo_dir, tmp_path, window):
    from insights.metrics.usage.spark_engine import usage_monthly_spark

    events = synthetic_events(pd.read_csv(demo_dir / "users.csv"), n=8_000, seed=9)
    data = make_events_dir(demo_dir, tmp_path / "raw", events=events)
    start, end = window or (None, None)
    expected, _ = usage_monthly_frame(data, start=start, end=end, now=NOW)
    got, summary = usage_monthly_spark(data, start=start, end=end, spark=spark, now=NOW)
    assert summary.engine == "spark" and len(got) > 100
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.slow
@pytest.mark.parametrize("window", [None, ("2024-01-01", "2025-12-31")], ids=["default-window", "fixed-window"])
def test_spark_is_utc_whatever_the_local_time_zone(spark, demo_dir, tmp_path, monkeypatch, window):
    import time

    from insights.metrics.usage.spark_engine import usage_monthly_spark

    events = synthetic_events(pd.read_csv(demo_dir / "users.csv"), n=3_000, seed=4)
    # events two hours either side of month ends and of the window's edges
    edges = pd.to_datetime(["2024-01-01", "2024-07-01", "2025-03-01", "2026-01-01", "2026-10-01"])
    near = np.concatenate([edges - pd.Timedelta(hours=2), edges + pd.Timedelta(hours=2)])
    events.loc[: len(near) * 20 - 1, "ts"] = np.repeat(near, 20).astype("datetime64[us]")
    data = make_events_dir(demo_dir, tmp_path / "raw", events=events)
    start, end = window or (None, None)
    expected, _ = usage_monthly_frame(data, start=start, end=end, now=NOW)
    monkeypatch.setenv("TZ", "America/New_York")  # the driver's local zone must not shift anything
    time.tzset()
    try:
        got, _ = usage_monthly_spark(data, start=start, end=end, spark=spark, now=NOW)
    finally:
        monkeypatch.undo()
        time.tzset()
    pd.testing.assert_frame_equal(got, expected)


def corrupted_events(users: pd.DataFrame, n: int = 600) -> pd.DataFrame:
    """Events as text with every problem the checks count, each on its own rows (counts known)."""
    events = synthetic_events(users, n=n, seed=3)
    events["ts"] = events["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object)
    events.loc[0:6, "account_id"] = "A_UNKNOWN"  # 7 unknown accounts
    events.loc[10:14, "user_id"] = "U_UNKNOWN"  # 5 unknown users
    events.loc[20:23, "ts"] = "yesterday"  # 4 unparseable
    events.loc[30:32, "ts"] = "2031-01-01T10:00:00"  # 3 in the future
    events.loc[40:45, "ts"] = "2022-06-01T10:00:00"  # 6 before the window
    events.loc[50:51, "ts"] = "2026-10-15T10:00:00"  # 2 after it
    events.loc[60:62, "feature"] = "   "  # 3 whitespace-only features
    events.loc[70:71, "ts"] = "2026-01-05T23:30:00-05:00"  # an offset: 2026-01-06 04:30 UTC, inside
    return events


def _both_engines(spark, data, window):
    from insights.metrics.usage import duckdb_engine, sources, spark_engine

    ref = sources.reference_tables(data)
    location = sources.locate_events(None, data)
    now = NOW.to_pydatetime()
    with duckdb_engine.connect("1GB") as con:
        duck = duckdb_engine.scan_and_check(con, location.local_files(), ref, window, now)[0]
    sparked = spark_engine.scan_and_check(spark, spark_engine.read_events(spark, location), ref, window, now)[0]
    return duck, sparked


def _counts(result):
    return sorted((v.column, v.rule, v.count) for v in result.violations), (
        result.rows,
        result.before_window,
        result.after_window,
        result.before_activation,
        result.first_month,
        result.last_month,
    )


@pytest.mark.slow
def test_both_engines_count_every_problem_of_corrupted_events_identically(spark, demo_dir, tmp_path):
    from insights.metrics.usage.window import Window

    events = corrupted_events(pd.read_csv(demo_dir / "users.csv"))
    data = make_events_dir(demo_dir, tmp_path / "raw", events=events)
    window = Window.parse("2023-01-01", "2026-09-30")
    duck, sparked = _both_engines(spark, data, window)
    assert _counts(duck) == _counts(sparked)
    found = {(v.column, v.rule.split(" (")[0]): v.count for v in duck.violations}
    assert found == {
        ("account_id", "unknown accounts.account_id"): 7,
        ("user_id", "unknown users.user_id"): 5,
        ("ts", "unparseable timestamp"): 4,
        ("ts", "timestamp in the future"): 3,
        ("feature", "missing value"): 3,
    }
    assert (duck.before_window, duck.after_window) == (6, 2) and duck.rows == len(events)
    # independent count of the events before their user's activation month (inside the window, of known users)
    users = pd.read_csv(demo_dir / "users.csv").set_index("user_id")
    ts = pd.to_datetime(events["ts"], errors="coerce", utc=True, format="ISO8601").dt.tz_localize(None)
    known = events["user_id"].isin(users.index)
    inside = ts.between(window.start, window.end_exclusive, inclusive="left")
    activated = pd.to_datetime(events["user_id"].map(users["activated_at"]))
    early = activated.isna() | (ts.dt.to_period("M") < activated.dt.to_period("M"))
    assert duck.before_activation == int((known & inside & early).sum()) > 0
