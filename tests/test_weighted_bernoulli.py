"""Sum of weighted Bernoulli outcomes: moments and the simulated interval against exact computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from insights.errors import ParameterError
from insights.stats import weighted_bernoulli as wb


def _exact_distribution(p, w):
    """Every outcome of a few Bernoulli draws: values of the sum and their probabilities."""
    values, probs = [], []
    for outcome in itertools.product([0, 1], repeat=len(p)):
        b = np.array(outcome)
        values.append(float(b @ w))
        probs.append(float(np.prod(np.where(b == 1, p, 1 - p))))
    order = np.argsort(values)
    return np.array(values)[order], np.array(probs)[order]


def test_moments_and_interval_match_the_exact_distribution():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.02, 0.9, 10)
    w = 1000.0 * 2.0 ** np.arange(10) * rng.uniform(0.9, 1.1, 10)  # one large weight dominates
    values, probs = _exact_distribution(p, w)
    mean, var = wb.moments(p, w)
    assert mean == pytest.approx(np.sum(values * probs))
    assert var == pytest.approx(np.sum((values - mean) ** 2 * probs))
    sims = wb.simulate(p, w, 50_000, seed=1)
    assert sims.mean() == pytest.approx(mean, rel=0.02) and sims.var() == pytest.approx(var, rel=0.03)
    out = wb.prediction_interval(p, w, level=0.9, seed=1)
    cdf, eps = np.cumsum(probs), 1e-9 * w.sum()

    def prob_at_most(x):  # exact P(S <= x)
        return cdf[values <= x + eps].max(initial=0.0)

    assert np.isclose(values, out.low).any() and np.isclose(values, out.high).any()  # values S can take
    # inverted-cdf quantiles: P(S < low) <= 5% <= P(S <= low), likewise at 95%, up to simulation error
    assert prob_at_most(out.low - 2 * eps) <= 0.05 + 0.006 and prob_at_most(out.low) >= 0.05 - 0.006
    assert prob_at_most(out.high - 2 * eps) <= 0.95 + 0.006 and prob_at_most(out.high) >= 0.95 - 0.006
    assert out.estimate == pytest.approx(mean) and out.level == 0.9
    assert "90% prediction interval" in out.method and "Monte Carlo, 20,000 draws, seed 1" in out.method


def test_equal_weights_give_the_binomial_quantiles():
    n, prob, w = 500, 0.1, 50.0
    out = wb.prediction_interval(np.full(n, prob), np.full(n, w), level=0.9, seed=0, weight="ARR")
    low, high = stats.binom.ppf([0.05, 0.95], n, prob) * w
    assert abs(out.low - low) <= w and abs(out.high - high) <= w
    assert "sum(ARR x Bernoulli(p))" in out.method


def test_certain_outcomes_give_a_point_and_the_same_seed_the_same_interval():
    out = wb.prediction_interval([0.0, 1.0, 1.0], [5.0, 7.0, 11.0], n_sim=500)
    assert (out.low, out.high, out.estimate) == (18.0, 18.0, 18.0)
    p, w = np.linspace(0.05, 0.5, 30), np.linspace(1, 30, 30)
    assert wb.prediction_interval(p, w, seed=4) == wb.prediction_interval(p, w, seed=4)


@pytest.mark.parametrize(
    ("p", "w", "kwargs", "match"),
    [
        ([0.1, 0.2], [1.0], {}, "one value per outcome"),
        ([0.1, 1.2], [1.0, 2.0], {}, "between 0 and 1"),
        ([0.1, np.nan], [1.0, 2.0], {}, "between 0 and 1"),
        ([0.1, 0.2], [1.0, -2.0], {}, "weights must be"),
        ([0.1, 0.2], [1.0, 2.0], {"n_sim": 10}, "n_sim"),
        ([0.1, 0.2], [1.0, 2.0], {"level": 1.5}, "level"),
    ],
)
def test_bad_input_is_refused(p, w, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        wb.prediction_interval(p, w, **kwargs)
