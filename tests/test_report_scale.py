"""The quarterly report at company scale (issue 19): 20,000 demo accounts, every notebook green."""

import json

import pytest

from insights.demo import DemoSpec, write_demo
from insights.report.runner import load_report_spec, run_report


@pytest.mark.slow
def test_report_at_20000_accounts_runs_green(tmp_path, monkeypatch):
    """20,000 demo accounts end to end: every section ok (page 02 checks that its segments recover the personas)."""
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("INSIGHTS_PROCESSED_DIR", str(tmp_path / "processed"))
    raw = tmp_path / "raw"
    write_demo(raw, DemoSpec(n_accounts=20_000, seed=7))
    outcome = run_report(data_dir=raw, force=True)
    failed = [(r.file, r.status, r.failed_cell, (r.error or "")[:300]) for r in outcome.results if r.status != "ok"]
    assert outcome.ok and not failed, failed
    assert [r.file for r in outcome.results] == [spec.file for spec in load_report_spec()]
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["row_counts"]["accounts"] == 20_000
