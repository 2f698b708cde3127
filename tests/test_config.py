"""Paths from the project root (never the working directory), settings and quarters."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from insights.data import paths
from insights.data.settings import load_settings
from insights.errors import ConfigError, ParameterError
from insights.metrics.periods import Quarter, latest_complete_quarter, parse_quarter, quarter_of, quarters_between


def test_defaults_come_from_the_project_root(monkeypatch, project_root):
    for var in (
        "INSIGHTS_HOME",
        "INSIGHTS_DATA_DIR",
        "INSIGHTS_PROCESSED_DIR",
        "INSIGHTS_REPORTS_DIR",
        "INSIGHTS_CONFIG_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    assert (project_root / "pyproject.toml").exists()
    assert paths.raw_dir() == project_root / "data" / "raw"
    assert paths.processed_dir() == project_root / "data" / "processed"
    assert paths.reports_dir() == project_root / "reports"
    assert paths.config_dir() == project_root / "config"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("INSIGHTS_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("INSIGHTS_CONFIG_DIR", str(tmp_path / "c"))
    assert paths.raw_dir() == tmp_path / "d"
    assert paths.reports_dir() == tmp_path / "r"
    assert paths.config_dir() == tmp_path / "c"
    monkeypatch.setenv("INSIGHTS_HOME", str(tmp_path))
    monkeypatch.delenv("INSIGHTS_DATA_DIR")
    assert paths.raw_dir() == tmp_path / "data" / "raw"


def test_same_paths_from_any_working_directory(tmp_path, project_root):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_")}
    code = "from insights.data import paths; print(paths.raw_dir()); print(paths.resolve_data_dir('data/raw'))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(project_root / "data" / "raw")] * 2


def test_relative_data_dir_is_taken_from_the_root(project_root):
    assert paths.resolve_data_dir("some/folder") == project_root / "some" / "folder"
    assert paths.resolve_data_dir(None) == paths.raw_dir()


def test_settings_defaults_and_overrides(tmp_path):
    assert load_settings(tmp_path / "absent.yaml").grace_days == 30
    f = tmp_path / "settings.yaml"
    f.write_text("churn:\n  grace_days: 45\n")
    s = load_settings(f)
    assert s.grace_days == 45 and s.demo_accounts == 2000
    f.write_text("churn:\n  grace_days: -3\n")
    with pytest.raises(ConfigError, match="grace_days"):
        load_settings(f)
    f.write_text("churn: [unclosed\n")
    with pytest.raises(ConfigError, match="YAML"):
        load_settings(f)


def test_repository_settings_file_is_valid():
    assert load_settings(paths.project_root() / "config" / "settings.yaml").grace_days >= 0


@pytest.mark.parametrize(
    "text,expected", [("2026Q3", Quarter(2026, 3)), ("2026q1", Quarter(2026, 1)), (" 2025-Q4 ", Quarter(2025, 4))]
)
def test_parse_quarter(text, expected):
    assert parse_quarter(text) == expected


@pytest.mark.parametrize("bad", [2026.3, "2026.3", "2026Q5", "Q3 2026", "", None])
def test_bad_quarters_are_refused_with_advice(bad):
    with pytest.raises(ParameterError, match="2026Q3"):
        parse_quarter(bad)


def test_quarter_arithmetic():
    q = Quarter(2026, 3)
    assert q.start == pd.Timestamp("2026-07-01") and q.end == pd.Timestamp("2026-09-30")
    assert q.shift(2) == Quarter(2027, 1) and q.shift(-3) == Quarter(2025, 4)
    assert str(q) == "2026Q3"
    assert latest_complete_quarter("2026-09-30") == q
    assert latest_complete_quarter("2026-09-29") == Quarter(2026, 2)
    assert quarter_of("2024-02-29") == Quarter(2024, 1)
    assert [str(x) for x in quarters_between("2025-11-01", "2026-04-01")] == ["2025Q4", "2026Q1", "2026Q2"]
