"""Each snapshot metric family on hand-made tables: inside / just outside its window, the day ``t`` excluded.

The expected values are counted by hand from the rows below (or with scipy for the z-scores),
not with the code under test.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from insights.data.loading import Tables
from insights.errors import ParameterError
from insights.metrics import snapshots
from insights.metrics.features import (
    Windows,
    activity_metrics,
    contract_metrics,
    support_metrics,
    survey_metrics,
    switching_metrics,
    usage_metrics,
)

T = pd.Timestamp("2025-12-31")
D = pd.Timedelta(days=1)


def _frame(rows, columns, dates=()):
    out = pd.DataFrame(rows, columns=columns)
    for c in dates:
        out[c] = pd.to_datetime(out[c])
    return out


def _accounts():
    return _frame(
        [("A", "2023-06-01"), ("B", "2025-06-01"), ("C", "2020-01-01"), ("D", "2020-01-01"), ("E", "2020-01-01")],
        ["account_id", "created_at"],
        ["created_at"],
    )


def _contracts():
    return _frame(
        [
            ("a1", "A", "2024-01-01", "2024-12-31", 100.0, 10),
            ("a2", "A", "2025-01-01", "2025-12-31", 120.0, 12),
            ("b1", "B", "2025-06-01", "2026-05-31", 50.0, 5),
            ("c1", "C", "2025-12-31", "2026-12-30", 70.0, 7),  # starts on t: not yet in force the day before
            ("d1", "D", "2025-01-01", "2025-12-29", 80.0, 8),  # ended two days before t
            ("e1", "E", "2025-01-01", "2025-12-30", 90.0, 9),  # ends the day before t: in force
        ],
        ["contract_id", "account_id", "start_date", "end_date", "arr", "seats"],
        ["start_date", "end_date"],
    )


def _terms():
    return contract_metrics(_contracts(), _accounts(), T)


def _usage():
    cols = ["account_id", "month", "active_users", "activated_seats", "events", "distinct_features"]
    return _frame(
        [
            ("A", "2024-11-01", 1, 1, 1000, 1),  # 13 months back: outside the data-volume window
            ("A", "2024-12-01", 1, 1, 2000, 1),  # 12 months back: inside it
            ("A", "2025-08-01", 100, 100, 100000, 24),  # 4 months back: outside the usage window
            ("A", "2025-09-01", 4, 8, 40, 6),
            ("A", "2025-10-01", 6, 10, 90, 9),
            ("A", "2025-11-01", 8, 10, 160, 12),
            ("A", "2025-12-01", 100, 100, 100000, 24),  # t's own month is not complete before t
            ("B", "2025-12-01", 5, 5, 500, 5),
        ],
        cols,
        ["month"],
    )


def test_contract_metrics_take_the_term_in_force_the_day_before_t():
    m = _terms()
    assert list(m.index) == ["A", "B", "E"]
    assert m.loc["A", "contract_id"] == "a2" and m.loc["A", "arr"] == 120.0 and m.loc["A", "seats"] == 12.0
    assert m.loc["A", "revenue_growth"] == pytest.approx(120 / 100 - 1)
    assert np.isnan(m.loc["B", "revenue_growth"])  # no term a year earlier
    assert m.loc["A", "days_to_renewal"] == 0.0 and m.loc["E", "days_to_renewal"] == -1.0
    assert m.loc["B", "days_to_renewal"] == (pd.Timestamp("2026-05-31") - T).days
    assert m.loc["A", "tenure_years"] == pytest.approx((T - pd.Timestamp("2023-06-01")).days / 365.25)
    assert list(contract_metrics(_contracts(), _accounts(), T, accounts=["B", "C"]).index) == ["B"]


def test_revenue_growth_window_moves_the_comparison_term():
    six = contract_metrics(_contracts(), _accounts(), T, windows=Windows(revenue_growth_months=6))
    assert six.loc["A", "revenue_growth"] == 0.0  # mid-2025 the same term a2 was in force
    assert six.loc["B", "revenue_growth"] == 0.0  # b1 started 2025-06-01, in force on 2025-06-29


def test_usage_metrics_read_the_last_three_complete_months():
    m = usage_metrics(_usage(), _terms(), T, features_available=24)
    a = m.loc["A"]
    assert a["depth"] == pytest.approx((40 + 90 + 160) / (4 + 6 + 8))
    assert a["breadth"] == pytest.approx((6 + 9 + 12) / 3 / 24)
    assert a["utilisation"] == pytest.approx(10 / 12)
    assert a["active_share"] == pytest.approx((4 + 6 + 8) / (8 + 10 + 10))
    assert a["price_per_active_user"] == pytest.approx(120 / ((4 + 6 + 8) / 3))
    assert m.loc["B"].isna().all()  # B's only month is t's own month
    four = usage_metrics(_usage(), _terms(), T, 24, Windows(usage_months=4)).loc["A"]
    assert four["depth"] == pytest.approx((100000 + 40 + 90 + 160) / (100 + 4 + 6 + 8))


def test_survey_metrics_use_180_days_before_t():
    s = _frame(
        [
            ("A", T - 180 * D, 10, 8.0),  # just inside
            ("A", T - 181 * D, 0, 0.0),  # just outside
            ("A", T - D, 6, None),  # value score missing
            ("A", T, 0, 0.0),  # on t: excluded
            ("B", T, 9, 9.0),
        ],
        ["account_id", "responded_at", "nps", "value_score"],
    )
    m = survey_metrics(s, ["A", "B", "E"], T)
    assert m.loc["A", "satisfaction"] == 8.0 and m.loc["A", "perceived_value"] == 8.0
    assert m.loc[["B", "E"]].isna().all().all()
    wider = survey_metrics(s, ["A"], T, Windows(survey_days=181))
    assert wider.loc["A", "satisfaction"] == pytest.approx(16 / 3)


def test_support_metrics_use_90_days_of_tickets_and_180_of_csat():
    tk = _frame(
        [
            ("A", T - 90 * D, "urgent", 5.0),  # inside both windows
            ("A", T - D, "low", None),
            ("A", T - 91 * D, "high", 1.0),  # outside the tickets window, inside the csat one
            ("A", T - 180 * D, "low", 3.0),  # csat window: just inside
            ("A", T - 181 * D, "low", 100.0),  # csat window: just outside
            ("A", T, "urgent", 100.0),  # on t: excluded
            ("E", T, "urgent", 1.0),
        ],
        ["account_id", "created_at", "priority", "csat"],
    )
    m = support_metrics(tk, _terms(), T)
    assert m.loc["A", "support_burden"] == pytest.approx(2 / (12 / 10))
    assert m.loc["A", "urgent_share"] == 0.5
    assert m.loc["A", "csat_180d"] == pytest.approx((5 + 1 + 3) / 3)
    assert m.loc["E", "support_burden"] == 0.0 and np.isnan(m.loc["E", "urgent_share"])
    wider = support_metrics(tk, _terms(), T, Windows(tickets_days=91, csat_days=181)).loc["A"]
    assert wider["support_burden"] == pytest.approx(3 / 1.2) and wider["urgent_share"] == pytest.approx(2 / 3)
    assert wider["csat_180d"] == pytest.approx((5 + 1 + 3 + 100) / 4)


def _integrations():
    return _frame(
        [
            ("A", "crm", T - 10 * D, None),
            ("A", "bi", T - 400 * D, T),  # disconnected on t: still live before t
            ("A", "sso", T, None),  # connected on t: excluded
            ("B", "crm", T - 400 * D, T - D),  # disconnected before t
            ("E", "crm", T - 5 * D, None),
        ],
        ["account_id", "integration", "connected_at", "disconnected_at"],
    )


def _users():
    return _frame(
        [
            ("u1", "A", "admin", T - D),
            ("u2", "A", "admin", T),
            ("u3", "A", "member", T - D),
            ("u4", "E", "admin", T - 9 * D),
            ("u5", "E", "admin", T - 8 * D),
        ],
        ["user_id", "account_id", "role", "invited_at"],
    )


def test_switching_metrics_count_before_t_and_standardise_across_accounts():
    terms = _terms()
    m = switching_metrics(_integrations(), _users(), _usage(), terms, T)
    assert list(m["integrations"]) == [2.0, 0.0, 1.0] and list(m["admins"]) == [1.0, 0.0, 2.0]
    assert m.loc["A", "data_volume"] == pytest.approx(np.log1p(2000 + 100000 + 40 + 90 + 160))
    assert m.loc["B", "data_volume"] == 0.0 and m.loc["E", "data_volume"] == 0.0
    comps = pd.concat([m[["integrations", "admins"]], terms["tenure_years"], m["data_volume"]], axis=1)
    expected = np.mean([sps.zscore(comps[c].to_numpy()) for c in comps], axis=0)
    np.testing.assert_allclose(m["switching_cost"], expected, rtol=1e-12)
    longer = switching_metrics(_integrations(), _users(), _usage(), terms, T, Windows(data_volume_months=13))
    assert longer.loc["A", "data_volume"] == pytest.approx(np.log1p(1000 + 2000 + 100000 + 40 + 90 + 160))


def test_a_constant_switching_component_adds_nothing():
    terms = _terms().assign(tenure_years=2.0)
    m = switching_metrics(_integrations(), _users(), _usage(), terms, T)
    comps = m[["integrations", "admins", "data_volume"]]
    expected = np.sum([sps.zscore(comps[c].to_numpy()) for c in comps], axis=0) / 4
    np.testing.assert_allclose(m["switching_cost"], expected, rtol=1e-12)


def _activities():
    created = pd.Timestamp("2025-06-01")  # account B
    return _frame(
        [
            ("x1", "B", created + 90 * D, "onboarding"),  # last day of the onboarding window
            ("x2", "B", created + 91 * D, "onboarding"),  # just outside
            ("x3", "B", T - 120 * D, "save_play"),  # just inside the activity window
            ("x4", "B", T - 121 * D, "cancellation_request"),  # just outside
            ("x5", "A", T, "save_play"),  # on t: excluded
            ("x6", "A", T - D, "qbr"),
        ],
        ["activity_id", "account_id", "date", "type"],
    )


def test_activity_metrics_count_onboarding_and_recent_flags():
    m = activity_metrics(_activities(), _accounts(), ["A", "B", "E"], T)
    assert list(m["onboarding_engagement"]) == [0.0, 1.0, 0.0]
    assert list(m["save_play_active"]) == [0.0, 1.0, 0.0]
    assert list(m["cancellation_requested"]) == [0.0, 0.0, 0.0]
    wider = activity_metrics(_activities(), _accounts(), ["B"], T, Windows(activity_days=121, onboarding_days=91))
    assert wider.loc["B"].tolist() == [2.0, 1.0, 1.0]


def _tables():
    frames = {
        "accounts": _accounts(),
        "contracts": _contracts(),
        "usage_monthly": _usage(),
        "surveys": _frame(
            [("r1", "A", T - 100 * D, 7, 6.0)], ["response_id", "account_id", "responded_at", "nps", "value_score"]
        ),
        "support_tickets": _frame(
            [("t1", "A", T - 100 * D, "low", 4.0)], ["ticket_id", "account_id", "created_at", "priority", "csat"]
        ),
        "integrations": _integrations(),
        "users": _users(),
        "cs_activities": _activities(),
    }
    return Tables(Path("."), frames, T)


def test_features_at_composes_the_families_and_passes_the_windows():
    feats = snapshots.features_at(_tables(), T, 24)
    assert list(feats.index) == ["A", "B", "E"]
    assert list(feats.columns) == ["contract_id", "renewal_date", *snapshots.FEATURES]
    assert feats.loc["A", "satisfaction"] == 7.0 and feats.loc["A", "csat_180d"] == 4.0
    assert feats.loc["A", "support_burden"] == 0.0  # its one ticket is 100 days old: outside tickets_days
    short = snapshots.features_at(_tables(), T, 24, windows=Windows(survey_days=99, csat_days=99))
    assert np.isnan(short.loc["A", "satisfaction"]) and np.isnan(short.loc["A", "csat_180d"])
    built = snapshots.build(_tables(), dates=[T], windows=Windows(survey_days=99))
    assert np.isnan(built.loc[built["account_id"] == "A", "satisfaction"]).all()


def test_windows_must_be_positive_whole_numbers():
    assert Windows() == Windows(
        usage_months=3,
        data_volume_months=12,
        revenue_growth_months=12,
        survey_days=180,
        tickets_days=90,
        csat_days=180,
        activity_days=120,
        onboarding_days=90,
    )
    for bad in ({"survey_days": 0}, {"usage_months": 2.5}, {"tickets_days": True}):
        with pytest.raises(ParameterError, match="positive whole numbers"):
            Windows(**bad)


def test_a_missing_column_names_the_table_and_column():
    s = pd.DataFrame({"account_id": ["A"], "responded_at": [T - D], "nps": [5]})
    with pytest.raises(ParameterError, match=r"the surveys table has no column\(s\) \['value_score'\]"):
        survey_metrics(s, ["A"], T)
