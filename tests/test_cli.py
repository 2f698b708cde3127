"""The `insights` command as a user runs it: clear messages, no tracebacks, exit codes."""

import os
import subprocess
import sys

import pandas as pd
import pytest
import typer

from test_usage_events import make_events_dir

EXE = [sys.executable, "-m", "insights"]


def run(*args, cwd=None, env=None):
    return subprocess.run(
        [*EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=600
    )


def test_demo_data_then_validate(tmp_path):
    out = tmp_path / "raw"
    res = run("demo-data", "--accounts", 80, "--seed", 5, "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "80 accounts" in res.stdout and (out / "ground_truth.json").exists()
    res = run("validate", out)
    assert res.returncode == 0 and "meet the data contract" in res.stdout


def test_demo_data_refuses_a_folder_with_data(demo_dir):
    res = run("demo-data", "--accounts", 60, "--out", demo_dir)
    assert res.returncode == 2
    assert "never overwritten" in res.stderr and "Traceback" not in res.stderr


def test_validate_prints_every_violation_and_exits_2(demo_copy):
    contracts = pd.read_csv(demo_copy / "contracts.csv", dtype=str)
    contracts.loc[0, "arr"] = "-5"
    contracts.loc[1, "account_id"] = "A-NOPE"
    contracts.to_csv(demo_copy / "contracts.csv", index=False)
    (demo_copy / "support_tickets.csv").unlink()  # a required table (surveys are optional)
    res = run("validate", demo_copy)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    for text in ("below minimum 0", "unknown accounts.account_id", "missing table", "3 contract violation"):
        assert text in res.stderr


def test_validate_missing_folder(tmp_path):
    res = run("validate", tmp_path / "nope")
    assert res.returncode == 2 and "does not exist" in res.stderr and "Traceback" not in res.stderr


def test_report_refuses_a_float_quarter_before_running_anything(demo_dir):
    res = run("report", "--quarter", "2026.3", "--data", demo_dir)
    assert res.returncode == 2 and "2026Q3" in res.stderr and "Traceback" not in res.stderr
    res = run("report", "--quarter", "2031Q1", "--data", demo_dir)
    assert res.returncode == 2 and "not covered by the data" in res.stderr


def test_report_refuses_an_empty_explicit_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    res = run("report", "--data", tmp_path / "empty")
    assert res.returncode == 2 and "holds no raw tables" in res.stderr


def test_help_lists_the_commands():
    res = run("--help")
    assert res.returncode == 0
    for cmd in ("demo-data", "validate", "report"):
        assert cmd in res.stdout


def test_report_refuses_an_unknown_pilot_before_running_anything(demo_dir):
    res = run("report", "--data", demo_dir, "--pilot", "no_such_pilot")
    assert res.returncode == 2 and "unknown pilot" in res.stderr and "value_review" in res.stderr


# --- issue 13: clear one-line errors instead of tracebacks, and no silent demo data -------------------


def invoke(*args, env=None):
    """Run the command in-process (fast); return exit code and everything printed."""
    from typer.testing import CliRunner

    from insights.cli.app import app

    res = CliRunner().invoke(app, [str(a) for a in args], env={k: str(v) for k, v in (env or {}).items()})
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.lower().startswith("error")]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_bad_date_options_are_one_line_each(tiny_demo_dir):
    for option, args in (
        ("--start", ("pilot", "design", "--start", "2027-13-01", "--data", tiny_demo_dir)),
        ("--window-end", ("pilot", "assign", "p1", "--window-end", "2027-13-01", "--data", tiny_demo_dir)),
        (
            "--start",
            ("pilot", "assign", "p1", "--window-end", "2027-06-30", "--start", "soon", "--data", tiny_demo_dir),
        ),
        ("--start", ("usage-monthly", "--data", tiny_demo_dir, "--start", "2027-13-01")),
        ("--end", ("usage-monthly", "--data", tiny_demo_dir, "--end", "9999-12-31")),
        ("--as-of", ("validate", tiny_demo_dir, "--as-of", "2026-02-30")),
        ("--end", ("demo-data", "--end", "2026-13-31", "--out", tiny_demo_dir / "never")),
    ):
        code, out = invoke(*args)
        assert code == 2 and one_error_line(out).startswith(f"error: {option}: "), (args, out)
    assert not (tiny_demo_dir / "pilots" / "p1.csv").exists() and not (tiny_demo_dir / "never").exists()


def test_reports_or_processed_path_that_is_a_file_is_refused_before_any_work(tiny_demo_dir, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for variable in ("INSIGHTS_REPORTS_DIR", "INSIGHTS_PROCESSED_DIR"):
        for target in (a_file, a_file / "below"):
            code, out = invoke("report", "--data", tiny_demo_dir, env={variable: target})
            assert code == 2 and variable in one_error_line(out) and "a file" in out


def test_a_read_only_folder_is_refused_with_its_name(tmp_path, monkeypatch):
    from insights.data import paths
    from insights.errors import ParameterError

    monkeypatch.setattr(paths.os, "access", lambda path, mode: False)  # root may write anywhere: pretend not
    with pytest.raises(ParameterError, match=f"{tmp_path} is read-only"):
        paths.writable_folder(tmp_path / "reports" / "2026Q3", "reports folder")


def test_file_system_errors_become_one_line(monkeypatch):
    from insights.cli import common

    @common.user_errors
    def command():
        raise PermissionError(13, "Permission denied", "/srv/reports/2026Q3")

    with pytest.raises(typer.Exit) as exit_:
        command()
    assert exit_.value.exit_code == 2


@pytest.fixture
def events_dir(demo_dir, tmp_path):
    return make_events_dir(demo_dir, tmp_path / "raw")


def test_usage_monthly_quotes_its_output_path_and_never_writes_into_raw(events_dir, tmp_path):
    out = tmp_path / "it's here" / "usage_monthly.parquet"
    code, output = invoke("usage-monthly", "--data", events_dir, "--out", out, "--memory-limit", "512MB")
    assert code == 0 and out.is_file(), output
    for target in (events_dir / "usage_monthly.parquet", events_dir / "sub" / "x.parquet", tmp_path):
        code, output = invoke("usage-monthly", "--data", events_dir, "--out", target)
        assert code == 2 and not (events_dir / "usage_monthly.parquet").exists(), output
        one_error_line(output)


def test_a_misspelt_data_folder_is_an_error_never_demo_data(tmp_path):
    missing = tmp_path / "no-such-folder"
    code, out = invoke("pilot", "design", env={"INSIGHTS_DATA_DIR": missing})
    assert code == 2 and "does not exist" in one_error_line(out) and "INSIGHTS_DATA_DIR" in out
    assert not missing.exists()
    (tmp_path / "empty").mkdir()
    code, out = invoke("pilot", "design", env={"INSIGHTS_DATA_DIR": tmp_path / "empty"})
    assert code == 2 and "holds no raw tables" in one_error_line(out)
    assert list((tmp_path / "empty").iterdir()) == []


def test_demo_data_only_in_the_default_folder_and_always_announced(tmp_path, monkeypatch, capsys):
    from insights import context
    from insights.data import paths

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.yaml").write_text("demo:\n  accounts: 50\n  seed: 3\n")
    monkeypatch.setenv("INSIGHTS_HOME", str(tmp_path))
    monkeypatch.delenv("INSIGHTS_DATA_DIR")
    monkeypatch.setenv("INSIGHTS_CONFIG_DIR", str(tmp_path / "config"))
    assert context.ensure_data() == tmp_path / "data" / "raw" == paths.default_raw_dir()
    assert "DEMO DATA" in capsys.readouterr().err and context.is_demo()
    monkeypatch.setenv("INSIGHTS_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(context.ParameterError, match="does not exist"):
        context.load()


def test_pilot_commands_say_when_they_run_on_demo_data(tiny_demo_dir):
    code, out = invoke("pilot", "design", "--data", tiny_demo_dir)
    assert code == 0 and "DEMO DATA" in out


@pytest.mark.parametrize("command", [["report"], ["pilot", "design"], ["pilot", "readout", "any_pilot"]])
def test_a_database_url_as_data_reaches_the_warehouse_source(command):
    """``--data`` takes a database URL as ``validate`` does (a path type would have folded its ``//``)."""
    res = run(*command, "--data", "postgresql://nobody@127.0.0.1:1/nodb")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "cannot connect to the database" in res.stderr and "does not exist" not in res.stderr
