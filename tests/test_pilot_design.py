"""Pilot design: power and sample size against R's published results, the renewal calendar."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from insights.analyses.pilots import design
from insights.analyses.segments.rules import value_segments
from insights.data.loading import load_tables
from insights.errors import ParameterError
from insights.metrics import churn
from insights.stats.rates import TOTAL


# R 4.x, ?power.prop.test examples:
#   power.prop.test(n = 50, p1 = .50, p2 = .75)      -> power = 0.7401659
#   power.prop.test(p1 = .50, p2 = .75, power = .90) -> n = 76.7
# ?power.t.test examples:
#   power.t.test(n = 20, delta = 1)                  -> power = 0.8689528
#   power.t.test(power = .90, delta = 1)             -> n = 22.02110
def test_power_of_proportions_matches_r():
    assert design.power_proportions(50, 0.5, 0.75) == pytest.approx(0.7401659, abs=1e-6)


def test_sample_size_of_proportions_matches_r():
    # R prints the uniroot solution to one decimal in its documentation; the closed form here is exact
    n = design.sample_size_proportions(0.5, 0.75, power=0.9)
    assert round(n, 1) == 76.7
    assert design.power_proportions(n, 0.5, 0.75) == pytest.approx(0.9, abs=1e-12)
    n = design.sample_size_proportions(0.15, 0.10)
    assert design.power_proportions(n, 0.15, 0.10) == pytest.approx(0.8, abs=1e-9)


def test_proportions_agree_with_statsmodels_arcsine_within_approximation():
    n = design.sample_size_proportions(0.85, 0.90)
    sm_n = NormalIndPower().solve_power(proportion_effectsize(0.90, 0.85), alpha=0.05, power=0.8)
    assert n == pytest.approx(sm_n, rel=0.03)


def test_mde_inverts_power():
    d = design.mde_proportions(300, 0.85)
    assert design.power_proportions(300, 0.85, 0.85 + d) == pytest.approx(0.8, abs=1e-8)
    assert np.isnan(design.mde_proportions(20, 0.95))  # nothing within (0, 1) is detectable
    assert design.mde_proportions(300, 0.5, direction=-1) == pytest.approx(design.mde_proportions(300, 0.5))


def test_means_match_r():
    assert design.sample_size_means(1.0, 1.0, power=0.9) == pytest.approx(22.02110, abs=1e-4)
    power = TTestIndPower().power(effect_size=1.0, nobs1=20, alpha=0.05)
    assert power == pytest.approx(0.8689528, abs=1e-6)
    assert design.mde_means(20, 1.0, power=0.8689528) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("kwargs", [{"p1": 0, "p2": 0.5}, {"p1": 0.5, "p2": 0.5}, {"p1": 0.4, "p2": 0.5, "power": 1.2}])
def test_bad_design_parameters(kwargs):
    with pytest.raises(ParameterError):
        design.sample_size_proportions(**kwargs)


@pytest.fixture(scope="module")
def tables(demo_dir):
    return load_tables(demo_dir)


def test_baselines_recount(tables):
    base = design.renewal_baselines(tables, tables.as_of, 30)
    out = churn.contract_outcomes(tables.contracts, 30, tables.as_of)
    settled = out["end_date"] + pd.Timedelta(days=30) <= tables.as_of
    # the four complete quarters: 2026Q3 is still inside its grace period at 2026-09-30
    window = out["end_date"].between("2025-07-01", "2026-06-30")
    done = out[window & settled & (out["outcome"] != "open")]
    assert base.attrs["window"] == "2025Q3 to 2026Q2"
    assert base.loc[TOTAL, "renewals"] == len(done)
    assert base.loc[TOTAL, "renewed"] == (done["outcome"] == "renewed").sum()
    assert base.loc[TOTAL, "low"] < base.loc[TOTAL, "rate"] < base.loc[TOTAL, "high"]
    assert "Wilson" in base.loc[TOTAL, "method"]
    assert base.drop(index=TOTAL)["renewals"].sum() == base.loc[TOTAL, "renewals"]


def test_calendar_counts_accounts_renewing_in_each_window(tables):
    start = pd.Timestamp("2025-10-01")
    cal = design.renewal_calendar(tables, start, quarters=3)
    running = value_segments(tables.contracts, start)
    for k, end in enumerate(["2025-12-31", "2026-03-31", "2026-06-30"], 1):
        expected = ((running["end_date"] >= start) & (running["end_date"] <= end)).sum()
        got = cal[(cal["segment"] == TOTAL) & (cal["quarters"] == k)]["accounts"].item()
        assert got == expected
    allrows = cal[cal["segment"] == TOTAL]["accounts"]
    assert allrows.is_monotonic_increasing


def test_design_table_and_duration(tables):
    table = design.design_table(tables, "2025-10-01", 0.08, 30, quarters=3)
    assert "power.prop.test" in table.attrs["method"]
    row = table[(table["segment"] == TOTAL) & (table["quarters"] == 3)].iloc[0]
    assert row["per_arm"] == pytest.approx(row["eligible"] / 2)
    assert design.power_proportions(
        row["per_arm"], row["baseline_rate"], row["baseline_rate"] + row["achievable_mde"]
    ) == pytest.approx(0.8, abs=1e-6)
    dur = design.implied_duration(table)
    enough = table[table["enough"]]
    for seg, r in dur.iterrows():
        seg_ok = enough[enough["segment"] == seg]
        assert pd.isna(r["quarters_needed"]) if seg_ok.empty else r["quarters_needed"] == seg_ok["quarters"].min()
    with pytest.raises(ParameterError):
        design.design_table(tables, "2025-10-01", 1.5, 30)


def test_design_with_two_treatments_splits_alpha_and_accounts(tables):
    """Three arms: each comparison has a third of the accounts per arm and alpha / 2 (Bonferroni)."""
    table = design.design_table(tables, "2025-10-01", 0.05, 30, quarters=3, treatments=2)
    assert "split over 2 comparisons" in table.attrs["method"]
    np.testing.assert_allclose(table["per_arm"], table["eligible"] / 3, rtol=1e-12)
    row = table[(table["segment"] == TOTAL) & (table["quarters"] == 3)].iloc[0]
    p0 = row["baseline_rate"]
    # alpha 0.05 split over two comparisons: the sample size and MDE of R's power.prop.test at 0.025
    assert row["needed_per_arm"] == pytest.approx(design.sample_size_proportions(p0, p0 + 0.05, 0.025, 0.8))
    assert row["needed_per_arm"] > design.sample_size_proportions(p0, p0 + 0.05, 0.05, 0.8)
    expected = design.mde_proportions(row["per_arm"], p0, 0.025, 0.8)
    assert np.isclose(row["achievable_mde"], expected, equal_nan=True)
    with pytest.raises(ParameterError, match="leaving a share for the control"):
        design.design_table(tables, "2025-10-01", 0.08, 30, treatments=2, treatment_share=0.5)


def test_conclusion_sentence():
    duration = pd.DataFrame(
        {
            "quarters_needed": pd.array([pd.NA, pd.NA, 4], dtype="Int64"),
            "window_end": [pd.NaT, pd.NaT, pd.Timestamp("2027-09-30")],
            "best_achievable_mde": [0.07, 0.061, 0.047],
        },
        index=["SMB", "Mid-Market", TOTAL],
    )
    assert design.conclusion(duration, 0.05, 4) == (
        "No single segment can detect +5 points within 4 quarters (the closest, Mid-Market, reaches +6.1); "
        "all accounts pooled can, with a 4-quarter window (renewals to 2027-09-30)."
    )
    duration.loc["SMB", "quarters_needed"] = 3
    assert design.conclusion(duration, 0.05, 4).startswith("Segments that can detect +5 points within 4 quarters: SMB")


def test_followup_size_matches_the_sample_size_formula(tables):
    base = design.renewal_baselines(tables, tables.as_of, 30)
    p = float(base.loc[TOTAL, "rate"])
    size = design.followup_size(tables, "2026-10-01", 0.05, 30, quarters=8)
    assert size["accounts"] == 2 * int(np.ceil(design.sample_size_proportions(p, p + 0.05)))
    table = design.design_table(tables, "2026-10-01", 0.05, 30, quarters=8)
    total = table[table["segment"] == TOTAL].set_index("quarters")
    long_enough = [q for q, r in total.iterrows() if r["per_arm"] >= size["accounts"] / 2]
    assert size["quarters"] == (min(long_enough) if long_enough else None)
    assert size["weeks"] == (13 * size["quarters"] if long_enough else None)


def test_conclusion_without_any_estimable_segment():
    duration = pd.DataFrame(
        {
            "quarters_needed": pd.array([pd.NA, pd.NA], dtype="Int64"),
            "window_end": [pd.NaT, pd.NaT],
            "best_achievable_mde": [np.nan, np.nan],
        },
        index=["SMB", TOTAL],
    )
    assert design.conclusion(duration, 0.05, 4) == (
        "No single segment can detect +5 points within 4 quarters; not even all accounts pooled."
    )
