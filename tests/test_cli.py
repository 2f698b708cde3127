"""The `insights` command as a user runs it: clear messages, no tracebacks, exit codes."""

import os
import subprocess
import sys

import pandas as pd

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
