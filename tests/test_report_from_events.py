"""A dataset with only usage_events (no usage_monthly) gives a full report: usage_monthly is built first."""

import json

import pandas as pd
import pytest

from insights.demo import DemoSpec, write_demo
from insights.metrics.usage import CONTRACT_COLUMNS
from insights.report.runner import run_report


@pytest.mark.slow
def test_a_dataset_with_only_events_produces_a_full_report(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("INSIGHTS_PROCESSED_DIR", str(tmp_path / "processed"))
    raw = tmp_path / "raw"
    write_demo(raw, DemoSpec(n_accounts=300, seed=11), events=True)
    given = pd.read_csv(raw / "usage_monthly.csv", dtype={"account_id": str}, parse_dates=["month"])
    (raw / "usage_monthly.csv").unlink()
    before = {p.name for p in raw.iterdir()}
    outcome = run_report(data_dir=raw)
    assert outcome.ok and [r.status for r in outcome.results] == ["ok"] * len(outcome.results)
    assert {p.name for p in raw.iterdir()} == before, "the raw folder is never written"
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    built = manifest["usage_monthly"]
    assert built["engine"] == "duckdb" and built["built_from"] == "usage_events"
    assert built["events_read"] == built["events_aggregated"] > 0
    assert list(built["events_sha256"]) == ["usage_events.parquet"]
    assert manifest["row_counts"]["usage_monthly"] == built["rows"] == len(given)
    # the table built from the demo's events is the demo's own usage_monthly
    folder = manifest["parameters"]["data_dir"]
    got = pd.read_parquet(f"{folder}/usage_monthly.parquet")[list(CONTRACT_COLUMNS)]
    got["month"] = pd.to_datetime(got["month"])
    want = given[list(CONTRACT_COLUMNS)]
    pd.testing.assert_frame_equal(
        got.sort_values(["account_id", "month"]).reset_index(drop=True).astype(want.dtypes.to_dict()),
        want.sort_values(["account_id", "month"]).reset_index(drop=True),
    )
