"""``insights validate`` checks usage_events out of core (DuckDB, the usage-monthly checks), never in pandas."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from insights.cli.app import app
from test_usage_events import make_events_dir, synthetic_events

PEAK = """
import resource, sys
from insights.cli.app import app
try:
    app(sys.argv[1:], prog_name="insights")
except SystemExit as exc:
    code = exc.code
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, code, file=sys.stderr)
"""


def test_validate_reports_event_problems_with_the_usage_checks(demo_dir, tmp_path):
    events = synthetic_events(pd.read_csv(demo_dir / "users.csv"), n=2_000, seed=8)
    events.loc[:3, "user_id"] = "U_NOPE"
    events.loc[10:11, "ts"] = pd.Timestamp("2026-12-01")
    data = make_events_dir(demo_dir, tmp_path / "raw", events=events)
    result = CliRunner().invoke(app, ["validate", str(data), "--as-of", "2026-11-01"])
    assert result.exit_code == 2, result.output
    assert "unknown users.user_id" in result.output and "U_NOPE" in result.output
    assert "timestamp in the future (after 2026-11-01 23:59:59 UTC)" in result.output
    ok = make_events_dir(demo_dir, tmp_path / "ok", events=events.iloc[20:])
    clean = CliRunner().invoke(app, ["validate", str(ok), "--as-of", "2026-11-01"])
    assert "usage_events" not in clean.output and "accounts" not in clean.output, clean.output  # only absent tables


def _peak_rss(folder, tmp_path) -> tuple[int, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", PEAK, "validate", str(folder), "--as-of", "2026-11-01", "--memory-limit", "100MB"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "INSIGHTS_PROCESSED_DIR": str(tmp_path / "processed")},
    )
    peak, code = done.stderr.strip().splitlines()[-1].split()
    return int(peak), int(code), done.stdout + done.stderr


@pytest.mark.slow
def test_validate_keeps_5m_events_out_of_memory_under_a_100mb_duckdb_limit(tiny_demo_dir, tmp_path):
    """Peak RSS with the events grows by well under what the events alone take in pandas."""
    users = pd.read_csv(tiny_demo_dir / "users.csv")
    n = 5_000_000
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(users), n)
    events = pd.DataFrame(
        {
            "account_id": users["account_id"].to_numpy()[pick].astype(str),
            "user_id": users["user_id"].to_numpy()[pick].astype(str),
            "ts": (pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s")).astype(
                "datetime64[us]"
            ),
            "feature": np.array(["search", "export", "report", "sign_in"])[rng.integers(0, 4, n)],
        }
    )
    events.loc[:4, "user_id"] = "U_NOPE"
    in_pandas = int(events.memory_usage(deep=True).sum())  # what holding them in pandas takes, at the least
    without = tmp_path / "without"
    without.mkdir()
    for f in tiny_demo_dir.iterdir():
        (without / f.name).symlink_to(f)
    with_events = tmp_path / "with"
    with_events.mkdir()
    for f in tiny_demo_dir.iterdir():
        (with_events / f.name).symlink_to(f)
    events.to_parquet(with_events / "usage_events.parquet", index=False)
    del events
    base, code, _ = _peak_rss(without, tmp_path)
    assert code == 0
    peak, code, output = _peak_rss(with_events, tmp_path)
    assert code == 2 and "unknown users.user_id" in output and " 5 " in output, output
    assert peak - base < 0.6 * in_pandas, (peak - base, in_pandas)
