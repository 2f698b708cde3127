"""Churn derived from contract terms, against hand-worked cases and the demo's ground truth."""

import pandas as pd
import pytest

from insights.metrics import churn


def _contracts(rows):
    frame = pd.DataFrame(rows, columns=["contract_id", "account_id", "start_date", "end_date", "arr"])
    for col in ("start_date", "end_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


CASES = _contracts([
    ("c1", "back_to_back", "2024-01-01", "2024-12-31", 100.0),
    ("c2", "back_to_back", "2025-01-01", "2026-12-31", 110.0),
    ("c3", "late_inside_grace", "2024-03-01", "2025-02-28", 50.0),
    ("c4", "late_inside_grace", "2025-03-20", "2027-03-19", 50.0),   # 19 days late
    ("c5", "late_beyond_grace", "2024-03-01", "2025-02-28", 70.0),
    ("c6", "late_beyond_grace", "2025-05-01", "2027-04-30", 70.0),   # 61 days late: churn + win-back
    ("c7", "gone", "2024-06-01", "2025-05-31", 30.0),
    ("c8", "recent_end", "2025-06-01", "2026-05-20", 40.0),           # grace not over at as_of
    ("c9", "co_termed", "2024-01-01", "2024-12-31", 80.0),
    ("c10", "co_termed", "2024-07-01", "2025-06-30", 20.0),           # add-on overlapping, ends later
])
AS_OF = pd.Timestamp("2026-06-01")


def test_hand_worked_outcomes():
    out = churn.contract_outcomes(CASES, grace_days=30, as_of=AS_OF).set_index("contract_id")
    assert out.loc["c1", "outcome"] == "renewed" and out.loc["c1", "successor_id"] == "c2"
    assert out.loc["c1", "renewal_gap_days"] == 0
    assert out.loc["c3", "outcome"] == "renewed" and out.loc["c3", "renewal_gap_days"] == 19
    assert out.loc["c5", "outcome"] == "churned" and out.loc["c5", "churn_date"] == pd.Timestamp("2025-02-28")
    assert out.loc["c7", "outcome"] == "churned"
    assert out.loc["c8", "outcome"] == "open"          # ended 12 days before as_of, grace 30
    assert out.loc["c9", "outcome"] == "renewed" and out.loc["c9", "successor_id"] == "c10"
    # terms still running at as_of are open
    assert set(out.loc[["c2", "c4", "c6"], "outcome"]) <= {"open"}
    assert out.loc["c10", "outcome"] == "churned"


def test_grace_period_is_configurable():
    short = churn.contract_outcomes(CASES, grace_days=10, as_of=AS_OF).set_index("contract_id")
    long = churn.contract_outcomes(CASES, grace_days=90, as_of=AS_OF).set_index("contract_id")
    assert short.loc["c3", "outcome"] == "churned"      # 19 days late is a churn with 10 days of grace
    assert long.loc["c5", "outcome"] == "renewed"       # 61 days late is a renewal with 90 days of grace
    assert long.loc["c8", "outcome"] == "open"


def test_negative_grace_is_refused():
    with pytest.raises(ValueError):
        churn.contract_outcomes(CASES, grace_days=-1, as_of=AS_OF)


def test_churn_events_hold_lost_arr():
    events = churn.churn_events(CASES, grace_days=30, as_of=AS_OF)
    assert set(events["contract_id"]) == {"c5", "c7", "c10"}
    assert events["arr"].sum() == pytest.approx(120.0)


def test_demo_churn_matches_ground_truth(small_demo):
    tables, truth = small_demo
    renewals = pd.DataFrame(truth["renewals"]["data"], columns=truth["renewals"]["columns"])
    contracts = tables["contracts"].copy()
    for col in ("start_date", "end_date"):
        contracts[col] = pd.to_datetime(contracts[col])
    as_of = pd.Timestamp(truth["generator"]["history_end"])
    out = churn.contract_outcomes(contracts, grace_days=30, as_of=as_of)
    merged = renewals.merge(out[["contract_id", "outcome"]], on="contract_id")
    closed = merged[merged["outcome"] != "open"]
    assert len(closed) > 500 and closed["churned"].sum() > 30  # on the 300-account demo: 526 and 63
    assert ((closed["outcome"] == "churned") == (closed["churned"] == 1)).all()
    # only terms inside the last grace period are still open
    still_open = merged[merged["outcome"] == "open"]
    assert (pd.to_datetime(still_open["end_date"]) > as_of - pd.Timedelta(days=30)).all()
