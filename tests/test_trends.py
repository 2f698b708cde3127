"""Quarterly retention trend and the headlines handed to the report's front page."""

import json

import numpy as np
import pandas as pd
import pytest

from insights.analyses.renewals.pipeline import renewals_in_quarter
from insights.analyses.segments import profiles as intelligence
from insights.analyses.segments import rules as segments
from insights.analyses.segments import trends
from insights.data.loading import load_tables
from insights.metrics import snapshots
from insights.metrics.periods import parse_quarter
from insights.report import headlines, pages


@pytest.fixture(scope="module")
def data(demo_dir):
    tables = load_tables(demo_dir)
    snap = snapshots.build(tables)
    return tables, pd.concat([snap, segments.rule_segments(snap, tables.accounts)], axis=1)


def test_trend_recounts(data):
    tables, snap = data
    q = parse_quarter("2026Q2")
    trend = trends.retention_trend(tables, snap, [q.shift(-1), q, q.shift(1)], 30)
    r = renewals_in_quarter(tables, q, 30)
    row = trend.loc["2026Q2"]
    assert row["renewals"] == len(r) and row["churned"] == (r["status"] == "churned").sum()
    if row["open"] == 0:
        assert row["logo_churn"] == pytest.approx(row["churned"] / (row["churned"] + row["renewed"]))
    assert np.isnan(trend.loc["2026Q3", "logo_churn"]) == (trend.loc["2026Q3", "open"] > 0)
    start, end = snap[snap["obs_date"] == "2025-06-30"], snap[snap["obs_date"] == "2026-06-30"]
    ret = intelligence.retention(start, end, "segment").iloc[-1]
    assert row["grr"] == pytest.approx(ret["grr"]) and row["nrr"] == pytest.approx(ret["nrr"])
    assert 0 < row["grr"] <= 1 and row["nrr"] >= row["grr"]


def test_headlines_round_trip(tmp_path):
    table = pd.DataFrame({"quarter": ["2026Q2", "2026Q3"], "grr": [0.9, np.nan]}).set_index("quarter")
    headlines.save(tmp_path, "03_x", "Renewals", {"due": "3 accounts"}, table=table, note="n")
    headlines.save(tmp_path, "01_x", "Quality", {"violations": "0"})
    docs = headlines.load_all(tmp_path)
    assert [d["section"] for d in docs] == ["01_x", "03_x"]
    assert docs[1]["table"]["rows"] == [["2026Q2", 0.9], ["2026Q3", None]]
    page = pages.render("headlines.html.j2", headlines=docs)
    assert "Renewals" in page and "3 accounts" in page and "90.0%" in page  # rates as percentages
    json.dumps(docs)


def test_trend_and_quality_tables_give_one_logo_churn(data):
    """The retention trend and the data-quality profile count the same settled renewals per quarter."""
    from insights.analyses.quality import checks as quality

    tables, snap = data
    quarters = [parse_quarter(q) for q in ("2025Q4", "2026Q1", "2026Q2", "2026Q3")]
    trend = trends.retention_trend(tables, snap, quarters, 30)
    profile = quality.renewal_outcomes_by_quarter(tables, 30).reindex(trend.index)
    pd.testing.assert_series_equal(trend["logo_churn"], profile["logo_churn_rate"], check_names=False)
    assert trend["logo_churn"].notna().sum() >= 2 and trend["logo_churn"].isna().any()  # settled and unsettled
