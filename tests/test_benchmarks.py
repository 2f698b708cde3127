"""Segment-relative benchmarks against scipy's percentile of score, and parent borrowing."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from insights.analyses.segments.benchmarks import percentile_against, segment_benchmarks
from insights.errors import ParameterError


def test_percentile_matches_scipy_mean_kind():
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 10, 200).astype(float)
    vals = np.array([-1, 0, 3, 3.5, 9, 12, np.nan])
    got = percentile_against(vals, np.append(ref, np.nan))
    for v, g in zip(vals, got):
        if np.isnan(v):
            assert np.isnan(g)
        else:
            assert g == pytest.approx(stats.percentileofscore(ref, v, kind="mean"))


def _frame():
    rng = np.random.default_rng(2)
    big = pd.DataFrame(
        {
            "segment": "big",
            "parent": "P",
            "utilisation": rng.uniform(0.5, 1.0, 100),
            "support_burden": rng.uniform(0, 1, 100),
        }
    )
    small = pd.DataFrame(
        {"segment": "small", "parent": "P", "utilisation": [0.1, 0.2, 0.95], "support_burden": [0.1, 0.5, 0.9]}
    )
    return pd.concat([big, small], ignore_index=True)


def test_within_segment_and_borrowing():
    f = _frame()
    b = segment_benchmarks(f, ["utilisation", "support_burden"], "segment", parent="parent", by=None, min_size=10)
    big = f["segment"] == "big"
    expected = [stats.percentileofscore(f.loc[big, "utilisation"], v, kind="mean") for v in f.loc[big, "utilisation"]]
    assert np.allclose(b.loc[big, "utilisation_pct"], expected)
    # the small segment (3 accounts) is benchmarked against its parent (all 103)
    small = ~big
    parent_ref = f["utilisation"].to_numpy()
    expected = [stats.percentileofscore(parent_ref, v, kind="mean") for v in f.loc[small, "utilisation"]]
    assert np.allclose(b.loc[small, "utilisation_pct"], expected)
    assert (b.loc[small, "utilisation_benchmark"] == "P (parent)").all()
    # low utilisation for the segment is a concern; high support burden is a concern too
    assert b.loc[small.idxmax(), "utilisation_flag"] == "concern"
    worst = f.loc[big, "support_burden"].idxmax()
    assert b.loc[worst, "support_burden_flag"] == "concern"
    best = f.loc[big, "utilisation"].idxmax()
    assert b.loc[best, "utilisation_flag"] == "opportunity"


def test_same_value_is_judged_against_its_own_segment():
    f = pd.DataFrame(
        {"segment": ["a"] * 50 + ["b"] * 50, "utilisation": np.r_[np.linspace(0.1, 0.5, 50), np.linspace(0.5, 0.9, 50)]}
    )
    b = segment_benchmarks(f, ["utilisation"], "segment", by=None, min_size=10)
    # 0.5 is the top of segment a and the bottom of segment b
    assert b.loc[49, "utilisation_flag"] == "opportunity" and b.loc[50, "utilisation_flag"] == "concern"


def test_bad_arguments():
    with pytest.raises(ParameterError, match="has no column"):
        segment_benchmarks(_frame(), ["nope"], "segment", by=None)
    with pytest.raises(ParameterError, match="thresholds"):
        segment_benchmarks(_frame(), ["utilisation"], "segment", by=None, low=90, high=10)


def test_concerns_are_prioritised_by_arr_and_gap():
    from insights.analyses.segments.benchmarks import CONCERN, OPPORTUNITY, TYPICAL, prioritise_concerns

    long = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "c", "c", "d"],
            "arr": [100_000.0, 100_000.0, 1_000_000.0, 10_000.0, 10_000.0, 500_000.0],
            "metric": ["depth", "breadth", "depth", "depth", "breadth", "depth"],
            "standing": [5.0, 15.0, 18.0, 1.0, 2.0, 95.0],
            "flag": [CONCERN, CONCERN, CONCERN, CONCERN, CONCERN, OPPORTUNITY],
        }
    )
    top, rest = prioritise_concerns(long, top=2)
    # by hand: a gap 45 -> 90,000; b gap 32 -> 640,000; c gap 49 -> 9,800; d has no concern
    assert top["account_id"].tolist() == ["b", "a"] and rest == 1
    assert top["priority"].tolist() == pytest.approx([640_000.0, 90_000.0])
    assert top.loc[1, "worst_metric"] == "depth" and top.loc[1, "concerns"] == "depth, breadth"
    assert top.loc[1, "n_concerns"] == 2 and top.loc[1, "gap_points"] == 45.0
    everyone, none_left = prioritise_concerns(long, top=10)
    assert len(everyone) == 3 and none_left == 0
    empty, zero = prioritise_concerns(long.assign(flag=TYPICAL))
    assert empty.empty and zero == 0
    with pytest.raises(ParameterError, match="top"):
        prioritise_concerns(long, top=0)
