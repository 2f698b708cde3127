"""The current term: which contract term is in force on a date, on hand-made terms."""

import pandas as pd
import pytest

from insights.errors import ParameterError
from insights.metrics.terms import current_terms


def _terms(rows):
    frame = pd.DataFrame(rows, columns=["contract_id", "account_id", "start_date", "end_date", "arr"])
    for col in ("start_date", "end_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


TERMS = _terms([
    ("c1", "early_renewal", "2024-01-01", "2024-12-31", 100.0),
    ("c2", "early_renewal", "2024-11-01", "2025-10-31", 150.0),  # signed before c1 ended: both in force
    ("c3", "gap", "2024-01-01", "2024-06-30", 50.0),
    ("c4", "gap", "2024-08-01", "2025-07-31", 60.0),             # no term in July
    ("c5", "tie", "2024-01-01", "2024-12-31", 10.0),
    ("c6", "tie", "2024-01-01", "2024-12-31", 20.0),             # same start: the larger contract_id wins
])


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
