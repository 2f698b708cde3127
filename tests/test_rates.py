"""The one churn / renewal rate: counts, settled rule and Wilson intervals, on tiny hand-made tables."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from insights.errors import ParameterError
from insights.stats.rates import TOTAL, churn_rate, group_order


def _renewals():
    # segment, churned (1/0, NaN = no outcome), settled
    rows = [
        ("a", 1.0, True),
        ("a", 0.0, True),
        ("a", 0.0, True),
        ("a", 0.0, False),  # one unsettled renewal
        ("b", 1.0, True),
        ("b", 1.0, True),
        ("b", 0.0, True),
        ("b", np.nan, False),  # an open term
        ("c", np.nan, True),  # no renewal in the horizon
        (None, 0.0, True),  # no segment: total only
    ]
    return pd.DataFrame(rows, columns=["segment", "churned", "settled"])


def test_counts_rates_and_wilson_against_a_hand_count():
    out = churn_rate(_renewals(), outcome="churned", by="segment", settled="settled")
    assert out.index.tolist() == ["a", "b", "c", TOTAL] and out.index.name == "segment"
    # a: 3 settled renewals (the unsettled renewed one is left out), 1 churned
    # b: 3 settled, 2 churned; c: no outcome; total: a + b + the row without a segment
    assert out["n"].tolist() == [3, 3, 0, 7]
    assert out["events"].tolist() == [1, 2, 0, 3]
    assert out["unsettled"].tolist() == [1, 1, 0, 2]
    assert out.loc["a", "rate"] == pytest.approx(1 / 3) and out.loc["b", "rate"] == pytest.approx(2 / 3)
    assert out.loc[TOTAL, "rate"] == pytest.approx(3 / 7)
    for name, x, n in (("a", 1, 3), ("b", 2, 3), (TOTAL, 3, 7)):
        lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert (out.loc[name, "low"], out.loc[name, "high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert np.isnan(out.loc["c", ["rate", "low", "high"]].astype(float)).all()
    assert (out["method"] == "Wilson score 95% CI").all()


def test_unsettled_renewals_would_bias_the_rate_low():
    frame = _renewals()
    everything = churn_rate(frame.assign(settled=True), outcome="churned", by="segment", settled="settled")
    settled = churn_rate(frame, outcome="churned", by="segment", settled="settled")
    assert everything.loc["a", "rate"] == pytest.approx(1 / 4)
    assert everything.loc["a", "rate"] < settled.loc["a", "rate"]
    assert churn_rate(frame, outcome="churned").loc[TOTAL, "n"] == 8  # without settled= every outcome counts


def test_complete_only_blanks_groups_with_unsettled_rows():
    out = churn_rate(_renewals(), outcome="churned", by="segment", settled="settled", complete_only=True)
    assert np.isnan(out.loc["a", "rate"]) and np.isnan(out.loc["b", "rate"]) and np.isnan(out.loc[TOTAL, "rate"])
    assert out.loc["a", "n"] == 3  # the counts stay
    whole = _renewals()[lambda f: f["settled"]]
    done = churn_rate(whole, outcome="churned", by="segment", settled="settled", complete_only=True)
    assert done.loc["a", "rate"] == pytest.approx(1 / 3)


def test_order_total_level_and_boolean_columns():
    frame = pd.DataFrame({"tier": ["S", "S", "L"], "renewed": [True, False, True], "ok": [1, 1, 1]})
    out = churn_rate(frame, outcome="renewed", by="tier", settled="ok", order=["S", "M", "L"], total=None, level=0.9)
    assert out.index.tolist() == ["S", "M", "L"]
    assert out["n"].tolist() == [2, 0, 1] and out["events"].tolist() == [1, 0, 1]
    lo, hi = proportion_confint(1, 2, alpha=0.10, method="wilson")
    assert (out.loc["S", "low"], out.loc["S", "high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert out.loc["S", "method"] == "Wilson score 90% CI"
    alone = churn_rate(frame, outcome="renewed", total="everyone")
    assert alone.index.tolist() == ["everyone"] and alone.loc["everyone", "rate"] == pytest.approx(2 / 3)


def test_group_order_follows_categories_else_sorts():
    cat = pd.Series(pd.Categorical(["x", "z", None], categories=["z", "y", "x"]))
    assert group_order(cat) == ["z", "x"]
    assert group_order(pd.Series([3, 1, None, 2])) == [1.0, 2.0, 3.0]
    assert group_order(cat, order=["y"]) == ["y"]


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"outcome": "churn"}, "'churn'"),
        ({"by": "tier"}, "'tier'"),
        ({"settled": "done"}, "'done'"),
        ({"outcome": "label"}, "recode it"),
        ({"outcome": "twos"}, "only 0 and 1"),
        ({"settled": "gappy"}, "missing value"),
        ({"total": None}, "total="),
        ({"complete_only": True}, "complete_only needs settled"),
        ({"level": 1.5}, "level"),
    ],
)
def test_bad_input_says_what_to_fix(kwargs, fragment):
    frame = pd.DataFrame({"churned": [1, 0], "label": ["Yes", "No"], "twos": [2, 0], "gappy": [True, None]})
    with pytest.raises(ParameterError, match=fragment):
        churn_rate(frame, **{"outcome": "churned", **kwargs})
