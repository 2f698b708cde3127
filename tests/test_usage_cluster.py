"""Spark as a real engine: the CLI switch, events from paths, URIs and catalog tables, the spark-submit job.

The Spark tests share the session's local[2] Spark session (``spark`` in conftest.py) and small data.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from insights.cli.app import app
from insights.errors import ParameterError
from insights.metrics.usage import sources
from test_usage_events import make_events_dir, synthetic_events

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def small_events_dir(demo_dir, tmp_path_factory) -> Path:
    events = synthetic_events(pd.read_csv(demo_dir / "users.csv"), n=4_000, seed=21)
    return make_events_dir(demo_dir, tmp_path_factory.mktemp("cluster") / "raw", events=events)


def _invoke(*args: str):
    return CliRunner().invoke(app, ["usage-monthly", *args])


@pytest.fixture(scope="module")
def duckdb_table(small_events_dir, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("duck") / "um.parquet"
    result = _invoke("--engine", "duckdb", "--data", str(small_events_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out)


def test_events_location_tells_tables_from_paths(tmp_path):
    assert sources.locate_events("analytics.usage_events").table == "analytics.usage_events"
    uri = sources.locate_events("hdfs://nn/events/*.csv")
    assert uri.paths == ("hdfs://nn/events/*.csv",) and uri.format == "csv" and uri.table is None
    with pytest.raises(ParameterError, match="--engine spark"):
        uri.local_files()
    with pytest.raises(ParameterError, match="--engine spark"):
        sources.locate_events("usage_events").local_files()
    (tmp_path / "ev").mkdir()
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "ev" / "part-0.parquet")
    folder = sources.locate_events(f"file://{tmp_path / 'ev'}")
    assert folder.local_files() == [tmp_path / "ev" / "part-0.parquet"] and folder.format == "parquet"


def test_duckdb_reads_a_glob_and_a_file_uri(small_events_dir, duckdb_table, tmp_path):
    for given in (str(small_events_dir / "usage_ev*.parquet"), f"file://{small_events_dir / 'usage_events.parquet'}"):
        out = tmp_path / "um.parquet"
        result = _invoke("--data", str(small_events_dir), "--events", given, "--out", str(out))
        assert result.exit_code == 0, result.output
        pd.testing.assert_frame_equal(pd.read_parquet(out), duckdb_table)


def test_engine_spark_without_pyspark_refuses_in_one_line_naming_the_extra(small_events_dir, monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark -> ImportError, as when not installed
    result = _invoke("--engine", "spark", "--data", str(small_events_dir), "--out", str(tmp_path / "um.parquet"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "spark extra" in lines[0] and "pip install" in lines[0], result.output
    assert not (tmp_path / "um.parquet").exists()
    unknown = _invoke("--engine", "flink", "--data", str(small_events_dir))
    assert unknown.exit_code == 2 and "duckdb, spark" in unknown.output


@pytest.mark.slow
def test_cli_on_spark_gives_the_duckdb_table_from_a_file_uri_and_a_catalog_table(
    spark, small_events_dir, duckdb_table, tmp_path
):
    out = tmp_path / "spark.parquet"
    uri = f"file://{small_events_dir / 'usage_events.parquet'}"
    result = _invoke(
        "--engine", "spark", "--master", "local[2]", "--data", str(small_events_dir), "--events", uri, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "usage_monthly (spark)" in result.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), duckdb_table)
    # a table of the catalog, its files in a local spark-warehouse
    spark.read.parquet(str(small_events_dir / "usage_events.parquet")).write.mode("overwrite").option(
        "path", str(tmp_path / "spark-warehouse" / "events_tbl")
    ).saveAsTable("events_tbl")
    try:
        result = _invoke(
            "--engine", "spark", "--data", str(small_events_dir), "--events", "events_tbl", "--out", str(out)
        )
    finally:
        spark.sql("DROP TABLE IF EXISTS events_tbl")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), duckdb_table)


def readme_spark_submit_line() -> str:
    text = README.read_text()
    block = re.search(r"<!-- spark-submit line[^>]*-->\s*```bash\n(.+?)\n```", text, re.S)
    assert block, "README.md lost its spark-submit line"
    return block.group(1).strip()


@pytest.mark.slow
def test_the_readme_spark_submit_line_runs_against_local_2(small_events_dir, duckdb_table, tmp_path):
    pytest.importorskip("pyspark")
    line = readme_spark_submit_line()
    assert "--master local[2]" in line
    root = tmp_path / "project"  # the project root the line is written for, with this checkout's code
    (root / "data").mkdir(parents=True)
    (root / "data" / "raw").symlink_to(small_events_dir)
    (root / ".venv").symlink_to(Path(sys.executable).parents[1])
    (root / "src").symlink_to(Path(__file__).resolve().parents[1] / "src")
    words = shlex.split(line)
    env = {**os.environ, "INSIGHTS_HOME": str(root)}
    env.update(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
    command = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usage_monthly (spark)" in done.stdout
    got = pd.read_parquet(root / "data" / "processed" / "usage_monthly.parquet")
    pd.testing.assert_frame_equal(got, duckdb_table)
