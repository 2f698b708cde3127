"""insights.stats.bayes against hand-derived values and independent numerical integration."""

import numpy as np
import pytest
from scipy import integrate, stats

from insights.errors import ParameterError
from insights.stats.bayes import beta_binomial


def _reference(a1, b1, a0, b0):
    """P(p1 > p0), E[max(p0 - p1, 0)], E[max(p1 - p0, 0)] by direct quadrature of the posteriors."""
    f1, f0 = stats.beta(a1, b1), stats.beta(a0, b0)
    prob, _ = integrate.quad(
        lambda p: f1.pdf(p) * f0.cdf(p), 0, 1, limit=500, epsabs=1e-12, epsrel=1e-12, points=[f1.mean(), f0.mean()]
    )

    # E[max(p0 - p1, 0)] = integral over p1 of f1(p1) * E[(p0 - p1)+], with the textbook identity
    # E[(X - t)+] = E[X 1{X > t}] - t P(X > t) = a/(a+b) * P(Beta(a+1, b) > t) - t * P(Beta(a, b) > t).
    def tail_excess(dist, t):
        a, b = dist.args
        return a / (a + b) * stats.beta.sf(t, a + 1, b) - t * dist.sf(t)

    loss_t, _ = integrate.quad(
        lambda p: f1.pdf(p) * tail_excess(f0, p), 0, 1, limit=500, epsabs=1e-12, points=[f1.mean(), f0.mean()]
    )
    loss_c, _ = integrate.quad(
        lambda p: f0.pdf(p) * tail_excess(f1, p), 0, 1, limit=500, epsabs=1e-12, points=[f1.mean(), f0.mean()]
    )
    return prob, loss_t, loss_c


def test_hand_derived_small_case():
    # Uniform prior, 1/1 vs 0/1: p1 ~ Beta(2, 1) (density 2p), p0 ~ Beta(1, 2) (density 2(1 - q)).
    # P(p1 > p0) = int 2p (1 - (1 - p)^2) dp = 5/6.
    # E[max(p0 - p1, 0)] = int 2p * 2 (1 - p)^3 / 6 dp = (2/3) B(2, 4) = 1/30;
    # E[max(p1 - p0, 0)] = E[p1 - p0] + 1/30 = 1/3 + 1/30 = 11/30.
    res = beta_binomial(1, 1, 0, 1)
    assert res.prob_treatment_better == pytest.approx(5 / 6, abs=1e-12)
    assert res.expected_loss_treatment == pytest.approx(1 / 30, abs=1e-12)
    assert res.expected_loss_control == pytest.approx(11 / 30, abs=1e-12)
    assert res.posterior_treatment == (2.0, 1.0) and res.posterior_control == (1.0, 2.0)
    assert "no simulation" in res.method


@pytest.mark.parametrize(
    "x1,n1,x0,n0,prior",
    [
        (50, 100, 40, 100, (1.0, 1.0)),
        (170, 200, 160, 200, (1.0, 1.0)),
        (17, 20, 18, 20, (1.0, 1.0)),
        (30, 35, 25, 35, (2.0, 3.0)),
        (50, 100, 40, 100, (0.5, 0.5)),  # non-integer posteriors: quadrature branch
        (9, 40, 3, 12, (0.5, 1.5)),
    ],
)
def test_matches_independent_quadrature(x1, n1, x0, n0, prior):
    res = beta_binomial(x1, n1, x0, n0, prior)
    a, b = prior
    prob, loss_t, loss_c = _reference(a + x1, b + n1 - x1, a + x0, b + n0 - x0)
    assert res.prob_treatment_better == pytest.approx(prob, abs=1e-6)
    assert res.expected_loss_treatment == pytest.approx(loss_t, abs=1e-6)
    assert res.expected_loss_control == pytest.approx(loss_c, abs=1e-6)


def test_symmetry_and_loss_identity():
    res = beta_binomial(30, 40, 30, 40)
    assert res.prob_treatment_better == pytest.approx(0.5, abs=1e-12)
    assert res.expected_loss_treatment == pytest.approx(res.expected_loss_control, abs=1e-12)
    res = beta_binomial(33, 40, 28, 45, prior=(2.0, 2.0))
    mean1 = (2 + 33) / (4 + 40)
    mean0 = (2 + 28) / (4 + 45)
    # max(d, 0) - max(-d, 0) = d
    assert res.expected_loss_control - res.expected_loss_treatment == pytest.approx(mean1 - mean0, abs=1e-12)


def test_deterministic():
    assert beta_binomial(120, 150, 110, 150) == beta_binomial(120, 150, 110, 150)


def test_agrees_with_large_monte_carlo():
    # Loose sanity check against simulation (not the reference: 5 Monte Carlo standard errors).
    rng = np.random.default_rng(0)
    p1, p0 = rng.beta(71, 31, 400_000), rng.beta(61, 41, 400_000)
    res = beta_binomial(70, 100, 60, 100)
    assert abs(res.prob_treatment_better - (p1 > p0).mean()) < 5 * np.sqrt(0.25 / 400_000)


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        ((-1, 10, 3, 10), {}, "non-negative"),
        ((11, 10, 3, 10), {}, "cannot exceed"),
        ((1, 10, 0, 0), {}, "empty"),
        ((1, 10, 3, 10), {"prior": (0.0, 1.0)}, "positive"),
        ((1, 10, 3, 10), {"prior": "flat"}, "pair"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        beta_binomial(*args, **kwargs)
