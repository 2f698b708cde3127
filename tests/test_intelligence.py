"""Segment intelligence: hand-computed GRR/NRR, Wilson vs statsmodels, profiles, segment-relative benchmarks."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from insights.analyses.segments import behaviour as bh
from insights.analyses.segments import profiles as ii
from insights.data.loading import load_tables
from insights.errors import ParameterError
from insights.metrics import snapshots

T = pd.Timestamp("2026-09-30")
T0 = pd.Timestamp("2025-09-30")


@pytest.fixture(scope="module")
def tables(demo_dir):
    return load_tables(demo_dir)


@pytest.fixture(scope="module")
def labelled(tables):
    snap = snapshots.build(tables, [T0, T])
    model = bh.fit(snap[snap["obs_date"] == T], seed=7)
    return ii.add_segments(snap, model), model


def test_grr_nrr_hand_computed():
    # A expands 100 -> 120, B contracts 200 -> 150, C churns (50), D flat (150); E is new business (excluded)
    start = pd.DataFrame({"account_id": list("ABCD"), "arr": [100.0, 200.0, 50.0, 150.0], "seg": list("xxyy")})
    end = pd.DataFrame({"account_id": list("ABDE"), "arr": [120.0, 150.0, 150.0, 80.0]})
    r = ii.retention(start, end, "seg")
    total = r.loc[ii.TOTAL]
    assert total["starting_arr"] == 500 and total["churned_arr"] == 50
    assert total["contraction"] == 50 and total["expansion"] == 20
    assert total["grr"] == pytest.approx((500 - 50 - 50) / 500)  # 0.80
    assert total["nrr"] == pytest.approx((500 - 50 - 50 + 20) / 500)  # 0.84
    assert total["ending_arr"] == 420 and total["churned_accounts"] == 1 and total["cohort_accounts"] == 4
    assert r.loc["x", "grr"] == pytest.approx(250 / 300) and r.loc["x", "nrr"] == pytest.approx(270 / 300)
    assert r.loc["y", "grr"] == pytest.approx(0.75) and r.loc["y", "nrr"] == pytest.approx(0.75)
    with pytest.raises(ParameterError):
        ii.retention(pd.concat([start, start]), end, "seg")


def test_retention_on_demo_matches_contract_terms(tables, labelled):
    """Independent recount from the contracts table: ARR of the term running the day before each date."""
    snap, _ = labelled
    r = ii.retention(snap[snap["obs_date"] == T0], snap[snap["obs_date"] == T], ii.TIER)
    c = tables.contracts

    def running(t):
        day = t - pd.Timedelta(days=1)
        on = c[(c["start_date"] < t) & (c["end_date"] >= day)].sort_values("start_date")
        return on.groupby("account_id")["arr"].last()

    a0, a1 = running(T0), running(T)
    end = a1.reindex(a0.index).fillna(0)
    s = a0.sum()
    churned = a0[end == 0].sum()
    kept = end > 0
    contraction = (a0[kept] - end[kept]).clip(lower=0).sum()
    expansion = (end[kept] - a0[kept]).clip(lower=0).sum()
    assert r.loc[ii.TOTAL, "starting_arr"] == pytest.approx(s)
    assert r.loc[ii.TOTAL, "grr"] == pytest.approx((s - churned - contraction) / s)
    assert r.loc[ii.TOTAL, "nrr"] == pytest.approx((s - churned - contraction + expansion) / s)
    assert 0 < r.loc[ii.TOTAL, "grr"] <= 1


def test_churn_rates_wilson_matches_statsmodels(tables, labelled):
    snap, _ = labelled
    then = snap[snap["obs_date"] == T0]
    cr = ii.churn_rates(then, ii.BEHAVIOUR)
    # settled renewals only: the grace period (30 days) has passed at the data end
    lab = then[then["churned"].notna() & (then["renewal_date"] + pd.Timedelta(days=30) <= tables.as_of)]
    # the small demo has unsettled renewals in the horizon, and they carry no label
    assert (then["renewal_in_horizon"] & ~then["settled"]).any()
    assert len(lab) == then["churned"].notna().sum()
    for seg, row in cr.drop(index=ii.TOTAL).iterrows():
        part = lab[lab[ii.BEHAVIOUR] == seg]
        assert row["renewals"] == len(part) and row["churned"] == part["churned"].sum()
        if len(part):
            lo, hi = proportion_confint(int(part["churned"].sum()), len(part), alpha=0.05, method="wilson")
            assert row["churn_ci_low"] == pytest.approx(lo) and row["churn_ci_high"] == pytest.approx(hi)
    assert cr.loc[ii.TOTAL, "renewals"] == len(lab)
    assert (cr["churn_ci_method"] == "Wilson score 95% CI").all()


def test_profile_is_consistent(tables, labelled):
    snap, model = labelled
    for seg in (ii.TIER, ii.BEHAVIOUR):
        p = ii.segment_profile(snap, T, seg, tables.accounts)
        parts = p.drop(index=ii.TOTAL)
        now = snap[snap["obs_date"] == T]
        assert parts["accounts"].sum() == p.loc[ii.TOTAL, "accounts"] == len(now)
        assert parts["arr_share"].sum() == pytest.approx(1.0)
        assert parts["renewals"].sum() == p.loc[ii.TOTAL, "renewals"]
        assert (parts["grr"].dropna() <= 1).all()
        assert (p["churn_ci_low"].dropna() <= p["churn_rate"].dropna()).all()
        first = parts.index[0]
        assert p.loc[first, "median_utilisation"] == pytest.approx(now.loc[now[seg] == first, "utilisation"].median())
        assert p.loc[ii.TOTAL, "top_industries"].count("%") == 3
    p = ii.segment_profile(snap, T, ii.BEHAVIOUR, tables.accounts)
    assert list(p.index[: model.k]) == list(model.names)  # label order
    with pytest.raises(ParameterError, match="observation date"):
        ii.segment_profile(snap, "2026-08-31", ii.TIER, tables.accounts)


def test_profile_without_a_year_of_history(tables, labelled):
    snap, _ = labelled
    only_now = snap[snap["obs_date"] == T]
    p = ii.segment_profile(only_now, T, ii.TIER, tables.accounts)
    assert p["grr"].isna().all() and p["churn_rate"].isna().all() and p["accounts"].gt(0).all()


def test_benchmarks_within_behaviour_segment_inside_tier(labelled):
    snap, _ = labelled
    now = snap[snap["obs_date"] == T].reset_index(drop=True)
    long = ii.benchmarks(now, metrics=["utilisation", "support_burden"], min_size=15)
    assert len(long) == 2 * len(now)
    util = long[long["metric"] == "utilisation"].set_index("account_id")
    for group, members in now.groupby(ii.GROUP):
        ref = members["utilisation"].dropna()
        got = util.loc[members["account_id"]]
        if len(ref) >= 15:
            expected = [stats.percentileofscore(ref, v, kind="mean") for v in ref]
            assert np.allclose(got.loc[members.loc[ref.index, "account_id"], "percentile"], expected)
            assert (got["benchmark"] == group).all()
        else:  # small groups borrow their tier's distribution
            assert (got["benchmark"] == f"{members[ii.TIER].iloc[0]} (parent)").all()
    burden = long[long["metric"] == "support_burden"]
    assert np.allclose(burden["standing"], 100 - burden["percentile"], equal_nan=True)
    assert (burden.loc[burden["standing"] <= 20, "flag"] == "concern").all()


def test_flag_summary_counts_flags(labelled):
    snap, _ = labelled
    now = snap[snap["obs_date"] == T]
    long = ii.benchmarks(now, min_size=20)
    actions = ii.flag_summary(long)
    flags = long[long["flag"].isin(["concern", "opportunity"])]
    n = flags.groupby(["account_id", "flag"]).size().unstack(fill_value=0)
    got = actions.set_index("account_id")
    assert set(got.index) == set(n.index)
    assert (got["n_concerns"] == n["concern"].reindex(got.index)).all()
    assert (got["n_opportunities"] == n["opportunity"].reindex(got.index)).all()
    assert got["n_concerns"].is_monotonic_decreasing


def test_bad_parameters(labelled):
    snap, _ = labelled
    with pytest.raises(ParameterError, match="min_size"):
        ii.benchmarks(snap[snap["obs_date"] == T], min_size=0)
    with pytest.raises(ParameterError, match="one observation date"):
        ii.benchmarks(snap)
    with pytest.raises(ParameterError, match="columns"):
        ii.churn_rates(snap.drop(columns="churned"), ii.TIER)
