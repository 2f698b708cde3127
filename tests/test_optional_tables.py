"""Optional tables: absent or header-only tables load empty; what needs them is skipped or narrowed, and said so."""

import re
import shutil

import pandas as pd
import pytest

from insights.data.loading import load_tables
from insights.errors import ConfigError
from insights.metrics.snapshots import DRIVERS, available_drivers
from insights.report.execution import NotebookSpec
from insights.report.runner import coverage, load_report_spec


def test_surveys_absent_or_header_only_load_empty(tiny_demo_copy):
    header = pd.read_csv(tiny_demo_copy / "surveys.csv", dtype=str).iloc[:0]
    header.to_csv(tiny_demo_copy / "surveys.csv", index=False)
    tables = load_tables(tiny_demo_copy, use_cache=False)
    assert tables.surveys.empty and list(tables.surveys.columns) == list(header.columns)
    assert "surveys" in tables.without_rows
    assert available_drivers(tables) == ("switching_cost", "depth", "breadth")
    (tiny_demo_copy / "surveys.csv").unlink()
    shutil.rmtree(tiny_demo_copy / "pilots")
    tables = load_tables(tiny_demo_copy, use_cache=False)
    assert {"surveys", "pilot_assignments"} <= set(tables.without_rows)


def test_required_tables_stay_required(tiny_demo_copy):
    from insights.errors import ContractError

    (tiny_demo_copy / "contracts.csv").unlink()
    with pytest.raises(ContractError, match="missing table"):
        load_tables(tiny_demo_copy, use_cache=False)


def test_every_driver_with_all_tables(tiny_demo_dir):
    assert available_drivers(load_tables(tiny_demo_dir, use_cache=False)) == DRIVERS


def test_coverage_says_what_runs_what_is_narrowed_and_what_is_skipped():
    specs = [
        NotebookSpec("a.ipynb", "A"),
        NotebookSpec("b.ipynb", "B", without={"surveys": "no satisfaction"}),
        NotebookSpec("c.ipynb", "C", requires=("pilot_assignments",)),
    ]
    plan = coverage(specs, ["surveys", "pilot_assignments"])
    assert [(c["status"], c["why"]) for c in plan] == [
        ("runs", ""),
        ("runs without", "no surveys: no satisfaction"),
        ("skipped", "no pilot_assignments in the data"),
    ]
    assert [c["status"] for c in coverage(specs, [])] == ["runs"] * 3


def test_the_report_declaration_names_contract_tables(tmp_path, monkeypatch):
    specs = {s.file: s for s in load_report_spec()}
    assert specs["07_pilot_readout.ipynb"].requires == ("pilot_assignments",)
    assert "surveys" in specs["05_retention_drivers.ipynb"].without
    bad = tmp_path / "report.yaml"
    bad.write_text("notebooks:\n  - {file: 01_data_quality.ipynb, title: Q, requires: [survey]}\n")
    with pytest.raises(ConfigError, match="unknown: survey"):
        load_report_spec(bad)


@pytest.mark.slow
def test_a_report_without_surveys_and_pilots_says_what_was_skipped(demo_copy, tmp_path, monkeypatch):
    from insights.report.runner import run_report

    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    (demo_copy / "surveys.csv").unlink()
    shutil.rmtree(demo_copy / "pilots")
    outcome = run_report(data_dir=demo_copy, jobs=2)
    assert outcome.ok, outcome.summary()
    status = {r.file: r.status for r in outcome.results}
    assert status["07_pilot_readout.ipynb"] == "skipped" and status["05_retention_drivers.ipynb"] == "ok"
    page = (outcome.folder / "index.html").read_text()
    matrix = page.split('<table id="coverage">', 1)[1].split("</table>", 1)[0]
    rows = dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", matrix))
    assert rows["Pilot readout"] == "skipped" and rows["Data quality"] == "ran in full"
    assert rows["Retention drivers"] == "ran, parts left out"
    assert "no surveys: drivers ranked without satisfaction and perceived value" in matrix
    assert "no pilot_assignments in the data" in matrix
    drivers_page = (outcome.folder / "05_retention_drivers.html").read_text()
    assert "No surveys in the data:" in drivers_page and "satisfaction and perceived_value are left out" in drivers_page


def test_without_usage_monthly_the_data_end_comes_from_the_dated_tables(tiny_demo_copy):
    from insights.analyses.quality import checks, figures
    from insights.data.loading import data_start

    with_usage = load_tables(tiny_demo_copy, use_cache=False)
    (tiny_demo_copy / "usage_monthly.csv").unlink()
    tables = load_tables(tiny_demo_copy, use_cache=False)
    assert "usage_monthly" in tables.without_rows
    latest = max(  # dates the contract bounds by the as-of date; not contract starts, which may be booked ahead
        tables.users["invited_at"].max(),
        tables.support_tickets["created_at"].max(),
        tables.surveys["responded_at"].max(),
        tables.cs_activities["date"].max(),
    )
    assert tables.as_of == latest + pd.offsets.MonthEnd(0) == with_usage.as_of
    assert data_start(tables.frames) == tables.contracts["start_date"].min().to_period("M").start_time
    assert data_start(with_usage.frames) == with_usage.usage_monthly["month"].min()
    # the data-quality notebook's parts still work, and say there is no usage
    assert (
        checks.consistency_warnings(tables, 30)
        .set_index("check")
        .loc["accounts under contract with no usage rows", "count"]
        == 0
    )
    assert not checks.monthly_coverage(tables).empty
    fig = figures.distributions(tables)
    assert "no usage_monthly in the data" in [t.get_text() for ax in fig.axes for t in ax.texts]
    skipped = {c["file"] for c in coverage(load_report_spec(), tables.without_rows) if c["status"] == "skipped"}
    assert skipped == {
        "02_segmentation.ipynb",
        "03_health_and_renewals.ipynb",
        "04_churn_risk.ipynb",
        "05_retention_drivers.ipynb",
    }


def test_without_usage_monthly_a_contract_booked_ahead_does_not_move_the_data_end(tiny_demo_copy):
    (tiny_demo_copy / "usage_monthly.csv").unlink()
    before = load_tables(tiny_demo_copy, use_cache=False).as_of
    contracts = pd.read_csv(tiny_demo_copy / "contracts.csv")
    ahead = contracts.iloc[[0]].copy()
    ahead["contract_id"] = "booked-ahead"
    ahead["start_date"] = (before + pd.DateOffset(months=6)).strftime("%Y-%m-%d")
    ahead["end_date"] = (before + pd.DateOffset(months=18)).strftime("%Y-%m-%d")
    pd.concat([contracts, ahead]).to_csv(tiny_demo_copy / "contracts.csv", index=False)
    assert load_tables(tiny_demo_copy, use_cache=False, as_of=before).as_of == before
