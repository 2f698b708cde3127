"""The report's one churn rate, recounted independently from the contract terms."""

from __future__ import annotations

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from insights.analyses.renewals.churn_rate import KEY, WINDOW_KEY, trailing_churn
from insights.data.loading import Tables
from insights.stats.rates import TOTAL


def _tables(contracts: pd.DataFrame) -> Tables:
    class Fake:  # only what trailing_churn reads
        pass

    fake = Fake()
    fake.contracts = contracts
    return fake  # type: ignore[return-value]


def _term(cid, account, start, end, arr=10_000.0):
    return {
        "contract_id": cid,
        "account_id": account,
        "start_date": pd.Timestamp(start),
        "end_date": pd.Timestamp(end),
        "arr": arr,
    }


@pytest.fixture
def contracts():
    rows = [
        _term("a1", "a", "2024-08-01", "2025-07-31"),  # renewed by a2 (2025Q3)
        _term("a2", "a", "2025-08-01", "2026-07-31"),  # 2026Q3: inside the grace period, not in the window
        _term("b1", "b", "2024-12-01", "2025-11-30"),  # churned (2025Q4)
        _term("c1", "c", "2025-01-01", "2025-12-31", arr=500_000.0),  # churned (2025Q4), Enterprise
        _term("d1", "d", "2025-05-01", "2026-04-30"),  # renewed late, within 30 days (2026Q2)
        _term("d2", "d", "2026-05-20", "2027-05-19"),
        _term("e1", "e", "2024-04-01", "2025-06-30"),  # 2025Q2: before the window
    ]
    return pd.DataFrame(rows)


def test_window_is_the_last_four_settled_quarters(contracts):
    c = trailing_churn(_tables(contracts), "2026-09-30", 30)
    assert c.window == "2025Q3 to 2026Q2"
    total = c.table.loc[TOTAL]
    assert (total["renewals"], total["churned"]) == (4, 2)  # a1, b1, c1, d1
    low, high = proportion_confint(2, 4, method="wilson")
    assert total["churn_rate"] == pytest.approx(0.5)
    assert (total["low"], total["high"]) == pytest.approx((low, high))
    assert c.values() == {KEY: 0.5, WINDOW_KEY: "2025Q3 to 2026Q2"}
    assert c.text() == (
        f"50.0% of 4 renewals due 2025Q3 to 2026Q2 churned (Wilson score 95% CI {100 * low:.1f}% to {100 * high:.1f}%)"
    )


def test_a_settled_quarter_end_moves_the_window(contracts):
    # 31 October: September's renewals have passed a 30-day grace period, so 2026Q3 is complete
    c = trailing_churn(_tables(contracts), "2026-10-30", 30)
    assert c.window == "2025Q4 to 2026Q3"
    assert c.table.loc[TOTAL, "renewals"] == 4  # b1, c1, d1, a2 (a2 now churned)


def test_shown_table_has_no_index_and_percent_text(contracts):
    shown = trailing_churn(_tables(contracts), "2026-09-30", 30).shown()
    assert list(shown["segment"])[-1] == TOTAL
    assert shown.index.tolist() == list(range(len(shown)))
    assert shown["logo churn"].iloc[-1] == "50.0%"
