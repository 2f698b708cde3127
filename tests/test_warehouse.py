"""A warehouse source on a real PostgreSQL server: the same report as from files, and no secret anywhere."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from insights.data.loading import load_tables
from insights.data.sources import warehouse
from insights.errors import MappingError, ParameterError

postgres_server = pytest.importorskip("postgres_server")

SECRET = "s3cret-Pa55-for-tests"  # the superuser's password: must never show up in an output


@pytest.fixture(scope="module")
def server():
    if postgres_server.server_binaries() is None:
        if os.environ.get("INSIGHTS_REQUIRE_POSTGRES"):  # set by .ci/run, which installs the server
            pytest.fail("INSIGHTS_REQUIRE_POSTGRES is set but no PostgreSQL server binaries were found")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl, postgres); `apt-get install postgresql`")
    srv = postgres_server.start(SECRET)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def loaded(server, demo_dir):
    """The session's demo tables, typed (dates as timestamps, numbers as numbers), loaded into the server."""
    from sqlalchemy import create_engine

    tables = load_tables(demo_dir, use_cache=False)
    eng = create_engine(server.url(with_password=True).replace("postgresql://", "postgresql+psycopg://"))
    for name, frame in tables.frames.items():
        frame.to_sql(name, eng, index=False, chunksize=5000)
    eng.dispose()
    return tables


def _env(**extra):
    return {**os.environ, **extra}


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "insights", *map(str, args)], capture_output=True, text=True, env=env)


def test_url_helpers_mask_and_scrub():
    url = "postgresql://cs:hunter2@db.example:5432/cs"
    assert warehouse.has_password(url) and not warehouse.has_password("postgresql://cs@db/cs")
    assert "hunter2" not in warehouse.masked(url) and "***" in warehouse.masked(url)
    assert warehouse.scrub("login failed for hunter2", url) == "login failed for ***"
    assert warehouse.is_url(url) and not warehouse.is_url("data/raw") and not warehouse.is_url("file:///x")
    with pytest.raises(ParameterError, match="not a SQLAlchemy URL"):
        warehouse.masked("postgresql://cs:x@host:port/db")


def test_a_query_is_read_in_chunks_from_the_server(server, loaded, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    eng = warehouse.engine(server.url())
    sizes = [len(c) for c in warehouse.query_chunks(eng, 'SELECT * FROM "contracts" ORDER BY contract_id', 100)]
    empty = list(warehouse.query_chunks(eng, "SELECT account_id FROM accounts WHERE false", 100))
    eng.dispose()
    n = len(loaded["contracts"])
    assert sum(sizes) == n and max(sizes) == 100 and len(sizes) == -(-n // 100)
    assert len(empty) == 1 and list(empty[0].columns) == ["account_id"] and empty[0].empty


def test_the_database_gives_the_same_tables_as_the_files(server, loaded, monkeypatch):
    from insights.context import load

    monkeypatch.setenv("PGPASSWORD", SECRET)
    tables = load(server.url())
    for name, frame in loaded.frames.items():
        pd.testing.assert_frame_equal(tables[name], frame, check_like=True, obj=name)


def test_a_wrong_password_is_a_clear_error_without_the_password(server, loaded, monkeypatch):
    from insights.data.sources.locate import locate, prepare

    wrong = server.url(with_password=True).replace(SECRET, "not-the-Pa55")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with pytest.raises(MappingError, match="cannot connect to the database") as info:
        prepare(locate(url=wrong))
    assert "not-the-Pa55" not in str(info.value) and "password authentication failed" in str(info.value)


def test_a_mapping_with_queries_on_the_server(server, loaded, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "source: $TEST_WAREHOUSE\n"
        "tables:\n"
        "  accounts:\n"
        "    query: SELECT account_id AS id, name, industry, region, country, line_of_business, employees,"
        " created_at FROM accounts\n"
        "    columns: {account_id: id}\n"
        "  contracts:\n"
        "    query: SELECT * FROM contracts\n"
        "    arr: {currency: USD, multiplier: 0.001}\n"
    )
    res = _cli("validate", "--sources", path, env=_env(TEST_WAREHOUSE=server.url(), PGPASSWORD=SECRET))
    assert res.returncode == 0, res.stderr
    assert "all tables meet the data contract" in res.stdout and SECRET not in res.stdout + res.stderr


@pytest.mark.slow
def test_the_report_from_postgres_matches_the_file_report_byte_for_byte(
    server, loaded, demo_dir, demo_report, tmp_path
):
    """The report's CSVs from the database equal those from the files; the password is in no output."""
    # the password inside the command-line URL; and again in the environment, where libpq would read it.
    # The pilot's plan stays where `insights pilot assign` wrote it, beside the record, in the raw folder.
    db_env = _env(
        INSIGHTS_REPORTS_DIR=str(tmp_path / "db"),
        INSIGHTS_PROCESSED_DIR=str(tmp_path / "p2"),
        INSIGHTS_DATA_DIR=str(demo_dir),
        PGPASSWORD=SECRET,
    )
    res_db = _cli("report", "--source", server.url(with_password=True), "--jobs", "2", env=db_env)
    assert res_db.returncode == 0, res_db.stderr
    file_report = demo_report
    db_report = next((tmp_path / "db").iterdir())
    csvs = sorted(p.name for p in file_report.glob("*.csv"))
    assert csvs and csvs == sorted(p.name for p in db_report.glob("*.csv"))
    for name in csvs:
        assert (db_report / name).read_bytes() == (file_report / name).read_bytes(), name
    assert SECRET not in res_db.stdout + res_db.stderr
    leaks = [p for p in _all_files(tmp_path / "db", tmp_path / "p2") if SECRET.encode() in p.read_bytes()]
    assert leaks == []
    manifest = (db_report / "manifest.json").read_text()
    assert "database postgresql://insights_test:***@/cs" in manifest


def _all_files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]
