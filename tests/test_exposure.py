"""The one at-risk measure: expected ARR at risk in a window, against a hand computation."""

import numpy as np
import pandas as pd
import pytest

from insights.analyses.risk import exposure
from insights.errors import ParameterError
from insights.stats.rates import TOTAL


@pytest.fixture
def accounts():
    return pd.DataFrame(
        {
            "segment": ["SMB", "SMB", "Enterprise", "Enterprise", "Mid-Market"],
            "arr": [10_000.0, 20_000.0, 500_000.0, 300_000.0, 80_000.0],
            "p_churn": [0.5, 0.1, 0.2, 0.9, 0.25],
            "days_to_renewal": [0, 90, 91, 30, 200],
        }
    )


def test_expected_arr_at_risk_is_probability_times_arr(accounts):
    got = exposure.expected_arr_at_risk(accounts)
    assert got.tolist() == [5_000.0, 2_000.0, 100_000.0, 270_000.0, 20_000.0]
    with pytest.raises(ParameterError, match="between 0 and 1"):
        exposure.expected_arr_at_risk(accounts.assign(p_churn=[0.5, 1.2, 0, 0, 0]))
    with pytest.raises(ParameterError, match="prob"):
        exposure.expected_arr_at_risk(accounts, p="prob")


def test_the_window_counts_renewals_0_to_n_days_ahead(accounts):
    # by hand: rows 0 (day 0), 1 (day 90) and 3 (day 30) renew within 90 days; 91 and 200 do not
    assert exposure.in_window(accounts, 90).tolist() == [True, True, False, True, False]
    assert exposure.in_window(accounts, None).all()
    table = exposure.exposure(accounts, 90, order=["SMB", "Mid-Market", "Enterprise"])
    assert list(table.index) == ["SMB", "Mid-Market", "Enterprise", TOTAL]
    assert table.loc["SMB", "expected_arr_at_risk"] == 7_000.0 and table.loc["SMB", "accounts"] == 2
    assert table.loc["Mid-Market", "accounts"] == 0 and table.loc["Mid-Market", "arr"] == 0
    assert np.isnan(table.loc["Mid-Market", "share_at_risk"])
    assert table.loc["Enterprise", "expected_arr_at_risk"] == 270_000.0
    assert table.loc[TOTAL, "expected_arr_at_risk"] == 277_000.0
    assert table.loc[TOTAL, "arr"] == 330_000.0
    assert table.loc[TOTAL, "share_at_risk"] == pytest.approx(277_000 / 330_000)
    assert table.loc[TOTAL, "expected_churned_accounts"] == pytest.approx(1.5)
    assert set(table["window"]) == {"renewing in the next 90 days"}
    everyone = exposure.exposure(accounts, None)
    assert everyone.loc[TOTAL, "expected_arr_at_risk"] == 397_000.0
    assert set(everyone["window"]) == {"at next renewal (all accounts)"}


def test_headline_values(accounts):
    values = exposure.headline_values(accounts, 90)
    assert values == {
        "arr_renewing_90d": 330_000.0,
        "expected_loss_90d": 277_000.0,
        "accounts_renewing_90d": 3,
        "expected_loss_next_renewal": 397_000.0,
        "window_days": 90,
    }
    assert exposure.headline_values(accounts, 30)["accounts_renewing_90d"] == 2


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_a_bad_window_is_refused(accounts, bad):
    with pytest.raises(ParameterError, match="window_days"):
        exposure.exposure(accounts, bad)
