"""Churn, the settled rule and the current term, from contract terms: hand-worked cases and the demo's truth."""

import pandas as pd
import pytest

from insights.errors import ParameterError
from insights.metrics import churn
from insights.metrics.terms import current_terms


def _contracts(rows):
    frame = pd.DataFrame(rows, columns=["contract_id", "account_id", "start_date", "end_date", "arr"])
    for col in ("start_date", "end_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


CASES = _contracts(
    [
        ("c1", "back_to_back", "2024-01-01", "2024-12-31", 100.0),
        ("c2", "back_to_back", "2025-01-01", "2026-12-31", 110.0),
        ("c3", "late_inside_grace", "2024-03-01", "2025-02-28", 50.0),
        ("c4", "late_inside_grace", "2025-03-20", "2027-03-19", 50.0),  # 19 days late
        ("c5", "late_beyond_grace", "2024-03-01", "2025-02-28", 70.0),
        ("c6", "late_beyond_grace", "2025-05-01", "2027-04-30", 70.0),  # 61 days late: churn + win-back
        ("c7", "gone", "2024-06-01", "2025-05-31", 30.0),
        ("c8", "recent_end", "2025-06-01", "2026-05-20", 40.0),  # grace not over at as_of
        ("c9", "co_termed", "2024-01-01", "2024-12-31", 80.0),
        ("c10", "co_termed", "2024-07-01", "2025-06-30", 20.0),  # add-on overlapping, ends later
    ]
)
AS_OF = pd.Timestamp("2026-06-01")


def test_hand_worked_outcomes():
    out = churn.contract_outcomes(CASES, grace_days=30, as_of=AS_OF).set_index("contract_id")
    assert out.loc["c1", "outcome"] == "renewed" and out.loc["c1", "successor_id"] == "c2"
    assert out.loc["c1", "renewal_gap_days"] == 0
    assert out.loc["c3", "outcome"] == "renewed" and out.loc["c3", "renewal_gap_days"] == 19
    assert out.loc["c5", "outcome"] == "churned" and out.loc["c5", "churn_date"] == pd.Timestamp("2025-02-28")
    assert out.loc["c7", "outcome"] == "churned"
    assert out.loc["c8", "outcome"] == "open"  # ended 12 days before as_of, grace 30
    assert out.loc["c9", "outcome"] == "renewed" and out.loc["c9", "successor_id"] == "c10"
    # terms still running at as_of are open
    assert set(out.loc[["c2", "c4", "c6"], "outcome"]) <= {"open"}
    assert out.loc["c10", "outcome"] == "churned"


def test_grace_period_is_configurable():
    short = churn.contract_outcomes(CASES, grace_days=10, as_of=AS_OF).set_index("contract_id")
    long = churn.contract_outcomes(CASES, grace_days=90, as_of=AS_OF).set_index("contract_id")
    assert short.loc["c3", "outcome"] == "churned"  # 19 days late is a churn with 10 days of grace
    assert long.loc["c5", "outcome"] == "renewed"  # 61 days late is a renewal with 90 days of grace
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


def test_settled_when_the_grace_period_has_passed():
    ends = pd.Series(pd.to_datetime(["2026-05-01", "2026-05-02", "2026-05-20", "2026-07-01"]))
    assert churn.settled(ends, 30, "2026-05-31").tolist() == [True, False, False, False]  # May 1 + 30 = May 31
    assert churn.settled(ends, 0, "2026-05-20").tolist() == [True, True, True, False]
    out = churn.contract_outcomes(CASES, grace_days=30, as_of=AS_OF).set_index("contract_id")
    # c1 renewed and c5 churned long ago; c8 ended 12 days before as_of; c2 is still running
    assert out.loc[["c1", "c5", "c8", "c2"], "settled"].tolist() == [True, True, False, False]
    assert (out.loc[out["outcome"] == "open", "settled"] == False).all()  # noqa: E712
    assert out.loc[out["outcome"] == "churned", "settled"].all()
    with pytest.raises(ValueError):
        churn.settled(ends, -1, "2026-05-31")


def test_churned_flag():
    flag = churn.churned_flag(pd.Series(["churned", "renewed", "open", "upcoming"], index=[5, 6, 7, 8]))
    assert flag.index.tolist() == [5, 6, 7, 8]
    assert flag.iloc[:2].tolist() == [1.0, 0.0] and flag.iloc[2:].isna().all()


# ----------------------------------------------------------------------------- the current term

TERMS = _contracts(
    [
        ("c1", "early_renewal", "2024-01-01", "2024-12-31", 100.0),
        ("c2", "early_renewal", "2024-11-01", "2025-10-31", 150.0),  # signed before c1 ended: both in force
        ("c3", "gap", "2024-01-01", "2024-06-30", 50.0),
        ("c4", "gap", "2024-08-01", "2025-07-31", 60.0),  # no term in July
        ("c5", "tie", "2024-01-01", "2024-12-31", 10.0),
        ("c6", "tie", "2024-01-01", "2024-12-31", 20.0),  # same start: the larger contract_id wins
    ]
)


def _arr(frame):
    return frame.set_index("account_id")["arr"].to_dict()


def test_overlapping_terms_latest_start_wins():
    assert _arr(current_terms(TERMS, "2024-11-15")) == {"early_renewal": 150.0, "gap": 60.0, "tie": 20.0}
    assert _arr(current_terms(TERMS, "2024-10-31")) == {"early_renewal": 100.0, "gap": 60.0, "tie": 20.0}


def test_both_ends_are_inclusive_and_gaps_have_no_term():
    assert _arr(current_terms(TERMS, "2024-06-30"))["gap"] == 50.0
    assert "gap" not in _arr(current_terms(TERMS, "2024-07-15"))
    assert _arr(current_terms(TERMS, "2024-08-01"))["gap"] == 60.0
    assert _arr(current_terms(TERMS, "2025-10-31")) == {"early_renewal": 150.0}
    assert current_terms(TERMS, "2026-01-01").empty


def test_a_period_takes_any_term_in_force_during_it():
    july = current_terms(TERMS, "2024-07-01", "2024-07-31")
    assert "gap" not in _arr(july)
    june_to_august = current_terms(TERMS, "2024-06-15", "2024-08-15")
    assert _arr(june_to_august)["gap"] == 60.0  # c3 and c4 both touch it; c4 started last
    rows = current_terms(TERMS, "2024-11-15")
    assert list(rows.columns) == list(TERMS.columns) and rows["account_id"].is_monotonic_increasing


def test_bad_input():
    with pytest.raises(ParameterError, match="before it starts"):
        current_terms(TERMS, "2024-02-01", "2024-01-01")
    with pytest.raises(ParameterError, match="end_date"):
        current_terms(TERMS.drop(columns="end_date"), "2024-02-01")


def test_no_term_with_a_successor_is_not_a_crash():
    """grace_days=0 with back-to-back terms leaves every term without a successor (was a TypeError)."""
    terms = pd.DataFrame(
        {
            "contract_id": ["c1", "c2"],
            "account_id": ["a", "a"],
            "start_date": pd.to_datetime(["2024-01-01", "2025-01-01"]),
            "end_date": pd.to_datetime(["2024-12-31", "2025-12-31"]),
            "arr": [1.0, 1.0],
        }
    )
    out = churn.contract_outcomes(terms, grace_days=0, as_of=pd.Timestamp("2026-06-30"))
    assert out["successor_id"].isna().all() and out["renewal_gap_days"].isna().all()
    assert out["outcome"].tolist() == ["churned", "churned"]
    renewed = churn.contract_outcomes(terms, grace_days=1, as_of=pd.Timestamp("2026-06-30"))
    assert renewed["successor_id"].tolist()[0] == "c2" and renewed["renewal_gap_days"].tolist()[0] == 0
