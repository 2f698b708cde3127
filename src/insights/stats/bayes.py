"""Bayesian readout of a binary pilot: Beta-Binomial posteriors, P(treatment better), expected loss.

Everything is exact and deterministic (no Monte Carlo): P(p1 > p0) uses Evan Miller's
closed-form sum when one posterior has an integer first parameter (always the case with
integer priors such as the default uniform Beta(1, 1)) and adaptive quadrature otherwise;
the expected losses reduce to the same probability with shifted parameters:

    E[max(p0 - p1, 0)] = E[p0] P(q0 > p1) - E[p1] P(p0 > q1),

where q0 ~ Beta(a0 + 1, b0) and q1 ~ Beta(a1 + 1, b1) (size-biased posteriors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

from insights.errors import ParameterError
from insights.stats.intervals import _check_count


@dataclass(frozen=True)
class BayesResult:
    """Posterior comparison of two success rates.

    Attributes
    ----------
    prob_treatment_better : float
        P(p1 > p0 | data).
    expected_loss_treatment : float
        E[max(p0 - p1, 0)]: the success rate given up, on average, by choosing treatment.
    expected_loss_control : float
        E[max(p1 - p0, 0)]: the same for choosing control.
    posterior_treatment, posterior_control : tuple of float
        Beta posterior parameters (alpha, beta) of p1 and p0.
    method : str
        How the numbers were computed.
    """

    prob_treatment_better: float
    expected_loss_treatment: float
    expected_loss_control: float
    posterior_treatment: tuple[float, float]
    posterior_control: tuple[float, float]
    method: str


def _is_whole(v: float) -> bool:
    return float(v).is_integer()


def _prob_greater_sum(a1: float, b1: float, a0: float, b0: float) -> float:
    """P(X1 > X0), X1 ~ Beta(a1, b1) with integer a1, X0 ~ Beta(a0, b0) (Evan Miller's sum)."""
    i = np.arange(int(a1), dtype=float)
    log_terms = special.betaln(a0 + i, b0 + b1) - np.log(b1 + i) - special.betaln(1 + i, b1) - special.betaln(a0, b0)
    return float(np.exp(log_terms).sum())


def _prob_greater_quad(a1: float, b1: float, a0: float, b0: float) -> float:
    """P(X1 > X0) = integral of f1(p) F0(p) dp, by adaptive quadrature around the posterior mass."""
    lo = min(stats.beta.ppf(1e-12, a1, b1), stats.beta.ppf(1e-12, a0, b0))
    hi = max(stats.beta.isf(1e-12, a1, b1), stats.beta.isf(1e-12, a0, b0))
    points = sorted(
        {float(stats.beta.ppf(q, d_a, d_b)) for q in (0.01, 0.5, 0.99) for d_a, d_b in ((a1, b1), (a0, b0))}
    )
    value, _ = integrate.quad(
        lambda p: stats.beta.pdf(p, a1, b1) * stats.beta.cdf(p, a0, b0),
        lo,
        hi,
        points=[p for p in points if lo < p < hi],
        limit=200,
        epsabs=1e-13,
        epsrel=1e-11,
    )
    return float(value)


def _prob_greater(a1: float, b1: float, a0: float, b0: float) -> tuple[float, str]:
    """P(X1 > X0) and which computation was used."""
    if _is_whole(a1):
        return _prob_greater_sum(a1, b1, a0, b0), "closed-form sum"
    if _is_whole(a0):
        return 1.0 - _prob_greater_sum(a0, b0, a1, b1), "closed-form sum"
    return _prob_greater_quad(a1, b1, a0, b0), "adaptive quadrature"


def beta_binomial(x1: int, n1: int, x0: int, n0: int, prior: tuple[float, float] = (1.0, 1.0)) -> BayesResult:
    """Beta-Binomial comparison of treatment and control success rates.

    Each arm's rate gets a Beta(prior) prior and a Beta(prior_a + x, prior_b + n - x)
    posterior; the arms are independent.

    Parameters
    ----------
    x1, n1 : int
        Successes and accounts in the treatment arm.
    x0, n0 : int
        Successes and accounts in the control arm.
    prior : tuple of float, default (1.0, 1.0)
        Beta prior (alpha, beta), the same for both arms; both positive. (1, 1) is uniform.

    Returns
    -------
    BayesResult
        P(p1 > p0), the expected loss of choosing each arm, the posteriors and the method.

    Raises
    ------
    ParameterError
        If a count is invalid (negative, successes > n, empty arm) or the prior is not
        two positive numbers.
    """
    x1, n1 = _check_count(x1, n1, "treatment")
    x0, n0 = _check_count(x0, n0, "control")
    try:
        pa, pb = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise ParameterError(f"prior must be a pair (alpha, beta) of positive numbers, got {prior!r}") from None
    if not (pa > 0 and pb > 0) or math.isinf(pa) or math.isinf(pb):
        raise ParameterError(f"prior parameters must be positive and finite, got {prior!r}")
    a1, b1 = pa + x1, pb + n1 - x1
    a0, b0 = pa + x0, pb + n0 - x0
    p_better, how = _prob_greater(a1, b1, a0, b0)
    mean1, mean0 = a1 / (a1 + b1), a0 / (a0 + b0)
    # E[p0 1{p0 > p1}] = E[p0] P(q0 > p1), q0 ~ Beta(a0 + 1, b0); likewise for p1.
    p_q0_gt_p1, _ = _prob_greater(a0 + 1, b0, a1, b1)
    p_p0_gt_q1, _ = _prob_greater(a0, b0, a1 + 1, b1)
    loss_treatment = mean0 * p_q0_gt_p1 - mean1 * p_p0_gt_q1
    p_q1_gt_p0, _ = _prob_greater(a1 + 1, b1, a0, b0)
    p_p1_gt_q0, _ = _prob_greater(a1, b1, a0 + 1, b0)
    loss_control = mean1 * p_q1_gt_p0 - mean0 * p_p1_gt_q0
    method = (
        f"Beta-Binomial, independent Beta({pa:g}, {pb:g}) priors; P(p1 > p0) and expected losses "
        f"exact ({how}, Evan Miller's formula for integer parameters), no simulation"
    )
    return BayesResult(
        min(max(p_better, 0.0), 1.0), max(loss_treatment, 0.0), max(loss_control, 0.0), (a1, b1), (a0, b0), method
    )
