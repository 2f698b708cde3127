"""Renewal pipeline (recounted from raw tables), its status and risk columns, and the coverage plan."""

import pandas as pd
import pytest

from insights.analyses.renewals import coverage
from insights.analyses.renewals import pipeline as renewals
from insights.data.loading import load_tables
from insights.errors import ConfigError, ParameterError
from insights.stats.rates import TOTAL


@pytest.fixture(scope="module")
def tables(demo_dir):
    return load_tables(demo_dir)


@pytest.mark.parametrize("quarter", ["2026Q1", "2026Q3", "2026Q4"])
def test_pipeline_matches_a_recount_from_raw_tables(tables, quarter):
    r = renewals.renewals_in_quarter(tables, quarter, grace_days=30)
    summary = renewals.pipeline_summary(r)
    q_start, q_end = {
        "2026Q1": ("2026-01-01", "2026-03-31"),
        "2026Q3": ("2026-07-01", "2026-09-30"),
        "2026Q4": ("2026-10-01", "2026-12-31"),
    }[quarter]
    c = tables.contracts
    ending = c[(c["end_date"] >= q_start) & (c["end_date"] <= q_end)]
    assert summary.loc[TOTAL, "renewing"] == len(ending)
    assert summary.loc[TOTAL, "renewing_arr"] == pytest.approx(ending["arr"].sum())
    act = tables.cs_activities
    in_play = cancel = 0
    play_arr = 0.0
    for _, term in ending.iterrows():
        acts = act[act["account_id"] == term["account_id"]]
        plays = acts[
            (acts["type"] == "save_play")
            & (acts["date"] <= term["end_date"])
            & (acts["date"] > term["end_date"] - pd.Timedelta(days=120))
        ]
        asks = acts[
            (acts["type"] == "cancellation_request")
            & (acts["date"] <= term["end_date"])
            & (acts["date"] > term["end_date"] - pd.Timedelta(days=180))
        ]
        in_play += len(plays) > 0
        play_arr += term["arr"] if len(plays) else 0.0
        cancel += len(asks) > 0
    assert summary.loc[TOTAL, "in_save_play"] == in_play
    assert summary.loc[TOTAL, "save_play_arr"] == pytest.approx(play_arr)
    assert summary.loc[TOTAL, "cancellation_requested"] == cancel
    # every renewal has one status; segments add up to the total
    statuses = summary.loc[TOTAL, ["renewed", "churned", "open", "upcoming"]].sum()
    assert statuses == len(ending)
    assert summary.drop(index=TOTAL)["renewing"].sum() == len(ending)
    if quarter == "2026Q4":
        assert summary.loc[TOTAL, "upcoming"] == len(ending)  # after the data end


MODEL_YAML = """
points:
  segment: {SMB: 0, Mid-Market: 1, Enterprise: 2}
  band: {green: 0, amber: 1, red: 2}
  growth_horizon_months: {6: 1.0, 12: 0.5, 24: 0.0}
tiers: {high-touch: 3, mid-touch: 1.5, tech-touch: 0}
at_risk_bands: [red]
"""


def test_coverage_points_and_80_20_view(tmp_path):
    (tmp_path / "c.yaml").write_text(MODEL_YAML)
    model = coverage.load_coverage(tmp_path / "c.yaml")
    frame = pd.DataFrame(
        {
            "account_id": list("abcd"),
            "arr": [500_000.0, 60_000.0, 8_000.0, 12_000.0],
            "segment": ["Enterprise", "Mid-Market", "SMB", "SMB"],
            "band": ["amber", "red", "red", "green"],
            "growth_horizon_months": [24, 12, 6, 24],
        }
    )
    plan = coverage.coverage_plan(frame, model)
    assert plan["points"].tolist() == [3.0, 3.5, 3.0, 0.0]
    assert plan["coverage"].tolist() == ["high-touch", "high-touch", "high-touch", "tech-touch"]
    summary = coverage.coverage_summary(plan, model)
    assert summary["account_share"].sum() == pytest.approx(1.0) and summary["arr_share"].sum() == pytest.approx(1.0)
    assert summary.loc["high-touch", "at_risk_arr"] == pytest.approx(68_000.0)
    assert summary.loc["high-touch", "at_risk_share"] == pytest.approx(1.0)
    assert summary.loc["mid-touch", "accounts"] == 0


def test_coverage_config_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(MODEL_YAML.replace("tech-touch: 0", "tech-touch: 1"))
    with pytest.raises(ConfigError, match="minimum 0"):
        coverage.load_coverage(p)
    p.write_text(MODEL_YAML.replace("at_risk_bands: [red]", "at_risk_bands: [crimson]"))
    with pytest.raises(ConfigError, match="at_risk_bands"):
        coverage.load_coverage(p)
    p.write_text(MODEL_YAML)
    frame = pd.DataFrame({"arr": [1.0], "segment": ["Whale"], "band": ["red"], "growth_horizon_months": [6]})
    with pytest.raises(ParameterError, match="Whale"):
        coverage.coverage_plan(frame, coverage.load_coverage(p))


def test_repository_coverage_config_is_valid():
    assert coverage.load_coverage().tiers[0][0] == "high-touch"


def test_pipeline_status_says_what_an_upcoming_renewal_is(tables):
    r = renewals.renewals_in_quarter(tables, "2026Q4", grace_days=30)
    status = renewals.pipeline_status(r, tables, 30)
    # recount by hand: the cancellation request first, then the save play, then a successor term
    c = tables.contracts
    for i, term in r.iterrows():
        later = c[
            (c["account_id"] == term["account_id"])
            & (c["contract_id"] != term["contract_id"])
            & (c["start_date"] <= term["renewal_date"] + pd.Timedelta(days=30))
            & (c["end_date"] > term["renewal_date"])
        ]
        if term["cancellation_requested"]:
            expected = "asked to cancel"
        elif term["in_save_play"]:
            expected = "in save play"
        elif len(later):
            expected = "renewed early"
        else:
            expected = "upcoming"
        assert status[i] == expected, term["contract_id"]
    assert len(set(status)) > 1
    past = renewals.renewals_in_quarter(tables, "2026Q1", grace_days=30)
    assert renewals.pipeline_status(past, tables, 30).tolist() == past["status"].tolist()  # decided: unchanged


def test_pipeline_with_risk_takes_the_worklist_columns(tables):
    r = renewals.renewals_in_quarter(tables, "2026Q4", grace_days=30)
    ids = r["account_id"].drop_duplicates().iloc[:3].tolist()
    work = pd.DataFrame({"account_id": ids})
    for col in renewals.RISK_COLUMNS:
        work[col] = [0.1, 0.2, 0.3]
    out = renewals.pipeline_with_risk(r, tables, 30, work)
    expected = r["account_id"].map(dict(zip(ids, [0.1, 0.2, 0.3])))
    pd.testing.assert_series_equal(out["p_churn"], expected, check_names=False)
    assert out["p_churn"].isna().sum() == (~r["account_id"].isin(ids)).sum() > 0
    assert out["status"].tolist() == renewals.pipeline_status(r, tables, 30).tolist()
    with pytest.raises(ParameterError, match="next_action"):
        renewals.pipeline_with_risk(r, tables, 30, work.drop(columns="next_action"))


def test_write_csv_never_silently_overwrites(tmp_path):
    f = pd.DataFrame({"a": [1, 2]})
    path = renewals.write_csv(f, tmp_path / "x.csv")
    with pytest.raises(ParameterError, match="already exists"):
        renewals.write_csv(f.assign(a=[3, 4]), path)
    assert pd.read_csv(path)["a"].tolist() == [1, 2]
    renewals.write_csv(f.assign(a=[3, 4]), path, force=True)
    assert pd.read_csv(path)["a"].tolist() == [3, 4]
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
