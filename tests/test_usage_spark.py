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
