"""Partial pooling of per-group effect estimates (empirical Bayes), and which effect is first.

``shrink_effects(estimates, covariances)`` takes, for each group (e.g. a customer segment), an
estimated vector of effects (e.g. logistic coefficients of several drivers) with its covariance
matrix, and borrows strength across the groups:

- For each term separately, the between-group variance ``tau2`` is the DerSimonian-Laird
  method-of-moments estimate from the groups' estimates and their variances (the diagonal of
  each covariance), and the pooled effect is the random-effects (inverse-variance with ``tau2``
  added) weighted mean, with variance ``1 / sum(w)``.
- Each group's effects are then shrunk toward the pooled ones with the normal-normal posterior:
  prior ``N(mu, T)`` with ``T = diag(tau2)``, likelihood ``N(b, V)``; ``K = T (T + V)^-1``,
  posterior mean ``mu + K (b - mu)`` and covariance ``(I - K) T`` plus ``(I - K) Var(mu) (I - K)'``
  for the uncertainty of the pooled mean (``tau2`` is taken as known: a plug-in estimate).
  A group with a precise estimate keeps it; a small group with a noisy one moves toward the
  pooled effect, and its interval is wider than the pooled one but narrower than its own.
  ``tau2 = 0`` (groups indistinguishable) gives every group the pooled effect.

``first_probability(mean, cov)`` is the probability, under a multivariate normal, that each term
is the largest (or smallest), by seeded Monte Carlo draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.errors import ParameterError

METHOD = (
    "empirical-Bayes partial pooling: DerSimonian-Laird between-group variance per term, "
    "random-effects pooled mean, normal-normal posterior per group (plug-in tau2)"
)


@dataclass
class PooledEffects:
    """Per-group effects shrunk toward the pooled effect (``shrink_effects``).

    Attributes
    ----------
    pooled : pandas.DataFrame
        One row per term: mean, se, tau2 (between-group variance), q (Cochran's Q), groups.
    shrunk : pandas.DataFrame
        Groups x terms: the posterior means.
    shrunk_se : pandas.DataFrame
        Groups x terms: the posterior standard deviations.
    shrunk_cov : dict of str to pandas.DataFrame
        Group -> posterior covariance (terms x terms).
    weight : pandas.DataFrame
        Groups x terms: ``tau2 / (tau2 + v)``, the weight of the group's own estimate (1 = none
        pooled, 0 = fully pooled); diagonal of ``K``.
    raw : pandas.DataFrame
        Groups x terms: the estimates as given.
    raw_se : pandas.DataFrame
        Groups x terms: their standard errors.
    method : str
    """

    pooled: pd.DataFrame
    shrunk: pd.DataFrame
    shrunk_se: pd.DataFrame
    shrunk_cov: dict
    weight: pd.DataFrame
    raw: pd.DataFrame
    raw_se: pd.DataFrame
    method: str = METHOD


def dersimonian_laird(effects, variances) -> tuple[float, float, float, float]:
    """DerSimonian-Laird random-effects meta-analysis of one effect over groups.

    Parameters
    ----------
    effects : array-like of float
        One estimate per group.
    variances : array-like of float
        Their sampling variances (> 0).

    Returns
    -------
    mean : float
        Random-effects pooled mean, weights ``1 / (v + tau2)``.
    var : float
        Its variance, ``1 / sum(weights)``.
    tau2 : float
        Between-group variance, ``max(0, (Q - (k - 1)) / (S1 - S2 / S1))`` with fixed-effect
        weights ``1 / v``.
    q : float
        Cochran's Q.

    Raises
    ------
    ParameterError
        If fewer than 2 groups, lengths differ, or a variance is not positive and finite.
    """
    b = np.asarray(effects, dtype=float)
    v = np.asarray(variances, dtype=float)
    if b.shape != v.shape or b.ndim != 1 or b.size < 2:
        raise ParameterError(
            f"need one effect and one variance per group, at least 2 groups; got {b.shape}, {v.shape}."
        )
    if not (np.isfinite(b).all() and np.isfinite(v).all() and (v > 0).all()):
        raise ParameterError("effects must be finite and variances finite and > 0.")
    w = 1.0 / v
    fixed = float(np.sum(w * b) / np.sum(w))
    q = float(np.sum(w * (b - fixed) ** 2))
    denom = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    tau2 = max(0.0, (q - (b.size - 1)) / denom) if denom > 0 else 0.0
    w_re = 1.0 / (v + tau2)
    return float(np.sum(w_re * b) / np.sum(w_re)), float(1.0 / np.sum(w_re)), tau2, q


def shrink_effects(estimates: pd.DataFrame, covariances: dict) -> PooledEffects:
    """Shrink each group's effects toward the pooled effects (empirical Bayes, see module doc).

    Parameters
    ----------
    estimates : pandas.DataFrame
        Groups (index) x terms (columns), e.g. each segment's logistic coefficients.
    covariances : dict of str to pandas.DataFrame or numpy.ndarray
        Group -> covariance matrix of its estimates (terms x terms, in the columns' order).

    Returns
    -------
    PooledEffects

    Raises
    ------
    ParameterError
        If fewer than 2 groups, a group lacks a covariance, a covariance has the wrong shape, is
        not finite or has a non-positive variance, or an estimate is not finite.
    """
    if not isinstance(estimates, pd.DataFrame) or len(estimates) < 2 or estimates.shape[1] < 1:
        raise ParameterError("estimates must be a DataFrame with at least 2 groups (rows) and 1 term (column).")
    terms, groups = list(estimates.columns), list(estimates.index)
    missing = [g for g in groups if g not in covariances]
    if missing:
        raise ParameterError(f"no covariance for group(s) {missing}; pass one matrix per row of estimates.")
    k = len(terms)
    covs = {}
    for g in groups:
        c = covariances[g]
        c = c.loc[terms, terms].to_numpy(float) if isinstance(c, pd.DataFrame) else np.asarray(c, dtype=float)
        if c.shape != (k, k) or not np.isfinite(c).all() or (np.diag(c) <= 0).any():
            raise ParameterError(
                f"covariance of group {g!r} must be a finite {k}x{k} matrix with positive variances, "
                f"got shape {c.shape}."
            )
        covs[g] = (c + c.T) / 2
    b = estimates.to_numpy(float)
    if not np.isfinite(b).all():
        raise ParameterError("estimates contain missing or infinite values.")
    v = np.array([np.diag(covs[g]) for g in groups])
    pooled = [dersimonian_laird(b[:, j], v[:, j]) for j in range(k)]
    mu = np.array([p[0] for p in pooled])
    var_mu = np.diag([p[1] for p in pooled])
    T = np.diag([p[2] for p in pooled])
    eye = np.eye(k)
    shrunk, shrunk_se, weight, shrunk_cov = [], [], [], {}
    for i, g in enumerate(groups):
        K = T @ np.linalg.inv(T + covs[g])
        mean = mu + K @ (b[i] - mu)
        rest = eye - K
        cov = rest @ T + rest @ var_mu @ rest.T
        cov = (cov + cov.T) / 2
        shrunk.append(mean)
        shrunk_se.append(np.sqrt(np.clip(np.diag(cov), 0, None)))
        weight.append(np.diag(K))
        shrunk_cov[g] = pd.DataFrame(cov, index=terms, columns=terms)
    frame = lambda a: pd.DataFrame(np.asarray(a), index=estimates.index, columns=terms)  # noqa: E731
    table = pd.DataFrame(
        {
            "mean": mu,
            "se": np.sqrt(np.diag(var_mu)),
            "tau2": np.diag(T),
            "q": [p[3] for p in pooled],
            "groups": len(groups),
        },
        index=terms,
    )
    return PooledEffects(
        table, frame(shrunk), frame(shrunk_se), shrunk_cov, frame(weight), estimates.copy(), frame(np.sqrt(v))
    )


def first_probability(mean, cov, largest: bool = True, n_draws: int = 20_000, seed: int = 0) -> pd.Series:
    """Probability that each term is the largest (or smallest) under ``N(mean, cov)``, by Monte Carlo.

    Parameters
    ----------
    mean : pandas.Series
        Mean per term.
    cov : pandas.DataFrame or numpy.ndarray
        Covariance (terms x terms, in ``mean``'s order); positive semi-definite.
    largest : bool
        True: probability of being the largest; False: the smallest (e.g. the most negative, most
        protective log-odds effect).
    n_draws : int
        Monte Carlo draws (Monte Carlo SE at most ``0.5 / sqrt(n_draws)``).
    seed : int

    Returns
    -------
    pandas.Series
        Probability per term (sums to 1), indexed like ``mean``.

    Raises
    ------
    ParameterError
        If shapes disagree, values are not finite or ``n_draws`` < 100.
    """
    m = pd.Series(mean, dtype=float)
    c = cov.loc[m.index, m.index].to_numpy(float) if isinstance(cov, pd.DataFrame) else np.asarray(cov, dtype=float)
    if c.shape != (len(m), len(m)) or not (np.isfinite(c).all() and np.isfinite(m).all()):
        raise ParameterError(f"mean ({len(m)} terms) and cov {c.shape} must be finite and match.")
    if n_draws < 100:
        raise ParameterError(f"n_draws must be at least 100, got {n_draws}.")
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(m.to_numpy(), (c + c.T) / 2, size=n_draws, method="eigh")
    winner = draws.argmax(axis=1) if largest else draws.argmin(axis=1)
    return pd.Series(np.bincount(winner, minlength=len(m)) / n_draws, index=m.index)
