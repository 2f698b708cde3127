"""The sum of weighted independent Bernoulli outcomes: its moments and a prediction interval.

``S = sum_i w_i * B_i`` with independent ``B_i ~ Bernoulli(p_i)`` and weights ``w_i >= 0`` (for
example the ARR lost when the accounts that renew in a quarter churn with probabilities ``p_i``).
With equal weights ``S / w`` is Poisson-binomial. Its mean is ``sum w_i p_i`` and its variance
``sum w_i^2 p_i (1 - p_i)`` (``moments``). A normal approximation is poor when a few large weights
dominate (a handful of big accounts), so ``prediction_interval`` takes the quantiles of ``S`` from
a seeded Monte Carlo simulation: the interval is reproducible and, with the default 20,000 draws,
its bounds sit within about 0.005 of the target cumulative probabilities.
"""

from __future__ import annotations

import numpy as np

from insights.errors import ParameterError
from insights.stats.intervals import Interval
from insights.stats.levels import check_level, level_label

#: Default number of simulated sums.
N_SIM = 20_000
#: Uniforms drawn at once (at most; whole simulations): bounds the memory to about 32 MB of floats
#: whatever the number of accounts (200,000 accounts: 20 simulations at a time).
_CHUNK_VALUES = 4_000_000


def _check(p, weights) -> tuple[np.ndarray, np.ndarray]:
    prob = np.asarray(p, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if prob.shape != w.shape:
        raise ParameterError(f"p and weights need one value per outcome, got {prob.size} and {w.size}.")
    if not np.isfinite(prob).all() or ((prob < 0) | (prob > 1)).any():
        raise ParameterError("p must hold probabilities between 0 and 1 (no missing values).")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ParameterError("weights must be finite and >= 0 (no missing values).")
    return prob, w


def moments(p, weights) -> tuple[float, float]:
    """Mean and variance of ``sum w_i B_i`` with independent ``B_i ~ Bernoulli(p_i)``.

    Parameters
    ----------
    p : array-like of float
        Probabilities (0-1), one per outcome.
    weights : array-like of float
        Weights (>= 0), one per outcome.

    Returns
    -------
    mean, variance : float
        ``sum w p`` and ``sum w^2 p (1 - p)``.

    Raises
    ------
    ParameterError
        If the lengths differ, a probability lies outside 0-1 or a weight is negative or missing.
    """
    prob, w = _check(p, weights)
    return float(np.sum(w * prob)), float(np.sum(w**2 * prob * (1 - prob)))


def simulate(p, weights, n_sim: int = N_SIM, seed: int = 0) -> np.ndarray:
    """Simulated values of ``sum w_i B_i`` with independent ``B_i ~ Bernoulli(p_i)``.

    Parameters
    ----------
    p, weights : array-like of float
        As for ``moments``.
    n_sim : int
        Number of simulated sums (>= 100).
    seed : int
        Seed of ``numpy.random.default_rng``; same seed, same draws.

    Returns
    -------
    numpy.ndarray of float
        ``n_sim`` simulated sums.

    Raises
    ------
    ParameterError
        As ``moments``, or if ``n_sim`` < 100.
    """
    prob, w = _check(p, weights)
    if int(n_sim) < 100:
        raise ParameterError(f"n_sim must be at least 100, got {n_sim}.")
    rng = np.random.default_rng(seed)
    out = np.empty(int(n_sim))
    chunk = max(1, _CHUNK_VALUES // max(prob.size, 1))
    for start in range(0, int(n_sim), chunk):
        k = min(chunk, int(n_sim) - start)
        out[start : start + k] = (rng.random((k, prob.size)) < prob) @ w
    return out


def interval_method(level: float = 0.90, n_sim: int = N_SIM, seed: int = 0, weight: str = "weight") -> str:
    """The words that name the interval of ``prediction_interval``.

    Parameters
    ----------
    level : float
        Coverage of the interval (0-1).
    n_sim, seed : int
        Simulated sums and seed.
    weight : str
        What the weights are, for the sentence (for example ``"ARR"``).

    Returns
    -------
    str
        For example ``"90% prediction interval of sum(ARR x Bernoulli(p)), outcomes independent
        (Monte Carlo, 20,000 draws, seed 0)"``.

    Raises
    ------
    ParameterError
        If ``level`` is not strictly between 0 and 1.
    """
    check_level(level)
    return (
        f"{level_label(level)} prediction interval of sum({weight} x Bernoulli(p)), outcomes independent "
        f"(Monte Carlo, {int(n_sim):,} draws, seed {seed})"
    )


def prediction_interval(
    p, weights, level: float = 0.90, n_sim: int = N_SIM, seed: int = 0, weight: str = "weight"
) -> Interval:
    """Central prediction interval of ``sum w_i B_i`` with independent ``B_i ~ Bernoulli(p_i)``.

    The bounds are the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of ``n_sim`` simulated
    sums (``simulate``; quantile of the empirical distribution, ``method="inverted_cdf"``, so each
    bound is a value the sum can take). The estimate is the exact mean ``sum w p``.

    Parameters
    ----------
    p, weights : array-like of float
        As for ``moments``.
    level : float
        Coverage (default 0.90).
    n_sim, seed : int
        As for ``simulate``.
    weight : str
        What the weights are, for the method (``interval_method``).

    Returns
    -------
    insights.stats.intervals.Interval
        estimate (mean), low, high, level and method.

    Raises
    ------
    ParameterError
        As ``simulate``, or if ``level`` is not strictly between 0 and 1.
    """
    method = interval_method(level, n_sim, seed, weight)
    mean, _ = moments(p, weights)
    sums = simulate(p, weights, n_sim, seed)
    low, high = np.quantile(sums, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return Interval(mean, float(low), float(high), float(level), method)
