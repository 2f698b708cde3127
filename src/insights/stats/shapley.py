"""Shapley values of a set function from the values of its subsets: exact, or sampled with a Monte Carlo error.

A *design* says which subsets of the ``m`` players must be evaluated and how their values combine
into Shapley values. The caller evaluates the subsets (e.g. fits one model per subset, as
``insights.stats.dominance`` does) and hands the values back to ``ShapleyDesign.estimate``.

Exact
-----
``exact_design(m)``: all ``2**m`` subsets; each player's value is its marginal contribution
averaged over the subsets of the others of each size, then over the sizes. No Monte Carlo error.

Sampled: cyclic permutations (``cyclic_design``)
------------------------------------------------
The Shapley value is the average over all orderings of the players of a player's marginal
contribution when it joins those before it. ``cyclic_design(m, n_cycles, rng)`` draws
``n_cycles`` random orderings; each *cycle* uses its ordering's ``m`` cyclic shifts and their ``m``
reversals (``2m`` orderings). Within a cycle every player takes every position exactly once in
each direction, so the estimate is stratified by the number of players before it (the strata of
the exact formula, with equal weights); the first and last strata are therefore exact. The
``2m`` orderings of a cycle need only its cyclic intervals: ``m(m - 1) + 2`` subsets, a reversal
costs nothing (the subsets before a player in the reversed order are the intervals after it),
and the intervals of length 1 and ``m - 1`` are shared by all cycles. The contributions of
each ordering add up to ``v(all) - v(none)``, so the estimates do too, exactly.

A cycle's estimate is unbiased for every player (a player's predecessors in a random cyclic
order are a uniformly random subset of each size), and cycles are independent, so the Monte
Carlo standard error is the standard deviation of the cycles' estimates over ``sqrt(n_cycles)``
(``n_cycles - 1`` degrees of freedom). References: Castro, Gómez & Tejada (2009), polynomial
calculation of the Shapley value based on sampling; Maleki et al. (2013), stratified sampling
of Shapley values; Mitchell et al. (2022), antithetic and orthogonal permutations.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from insights.errors import ParameterError

#: Exact designs enumerate 2**m subsets; above this many players only sampled designs are built.
MAX_EXACT_PLAYERS = 16


def subset_masks(n_blocks: int) -> np.ndarray:
    """All ``2**n_blocks`` subsets of the blocks as a boolean matrix (row = subset, bit k = block k).

    Parameters
    ----------
    n_blocks : int
        Number of players (predictors or blocks of them), 1 to ``MAX_EXACT_PLAYERS``.

    Returns
    -------
    ndarray of bool, shape (2**n_blocks, n_blocks)
        Row ``c`` holds the subset whose bit pattern is ``c`` (row 0 empty, last row full).

    Raises
    ------
    ParameterError
        If ``n_blocks`` is below 1 or above ``MAX_EXACT_PLAYERS``.
    """
    if n_blocks < 1 or n_blocks > MAX_EXACT_PLAYERS:
        raise ParameterError(
            f"exact dominance analysis needs 1 to {MAX_EXACT_PLAYERS} predictors or blocks, got "
            f"{n_blocks}; use the sampled estimate (cyclic_design) or group correlated "
            "predictors into blocks."
        )
    codes = np.arange(2**n_blocks)
    return ((codes[:, None] >> np.arange(n_blocks)[None, :]) & 1).astype(bool)


def shapley_from_values(values: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Shapley values (general dominance) from the value of every subset.

    Parameters
    ----------
    values : ndarray, shape (n_subsets,) or (n_subsets, n_reps)
        Value of each subset (row order of ``masks``).
    masks : ndarray of bool, shape (n_subsets, n_blocks)
        Every subset of the players, e.g. ``subset_masks(n_blocks)``.

    Returns
    -------
    ndarray, shape (n_blocks,) or (n_blocks, n_reps)
    """
    values = np.asarray(values, float)
    m = masks.shape[1]
    size = masks.sum(axis=1)
    index = {tuple(row): i for i, row in enumerate(masks)}
    out = np.zeros((m, *values.shape[1:]))
    for k in range(m):
        without = np.flatnonzero(~masks[:, k])
        with_k = [index[tuple(np.where(np.arange(m) == k, True, masks[i]))] for i in without]
        s = size[without]
        weight = 1.0 / (m * np.array([comb(m - 1, int(j)) for j in s]))
        diff = values[with_k] - values[without]
        out[k] = np.tensordot(weight, diff, axes=(0, 0))
    return out


def shapley_brute_force(value, n: int) -> np.ndarray:
    """Shapley values by the permutation-free subset formula, for tests.

    Parameters
    ----------
    value : callable
        ``value(frozenset of player indices) -> float``.
    n : int
        Number of players.

    Returns
    -------
    ndarray, shape (n,)
    """
    out = np.zeros(n)
    for k in range(n):
        others = [j for j in range(n) if j != k]
        for r in range(n):
            for s in combinations(others, r):
                w = 1.0 / (n * comb(n - 1, r))
                out[k] += w * (value(frozenset(s) | {k}) - value(frozenset(s)))
    return out


@dataclass(frozen=True)
class ShapleyDesign:
    """The subsets to evaluate and how their values combine into Shapley values.

    Attributes
    ----------
    masks : ndarray of bool, shape (n_subsets, n_players)
        Subsets to evaluate (row 0 is the empty set, the last row the full set).
    method : str
        ``"exact"`` or ``"sampled"``.
    n_cycles : int
        Random cyclic orderings of a sampled design (0 when exact).
    with_idx, without_idx : ndarray of int, shape (n_cycles, n_players, 2 * n_players)
        Sampled designs only: for each cycle and player, the rows of ``masks`` with and without
        the player in each of its ``2m`` marginal contributions.
    """

    masks: np.ndarray
    method: str
    n_cycles: int = 0
    with_idx: np.ndarray | None = None
    without_idx: np.ndarray | None = None

    @property
    def n_players(self) -> int:
        """Number of players."""
        return self.masks.shape[1]

    @property
    def n_permutations(self) -> int:
        """Orderings behind a sampled estimate (``2 m n_cycles``; 0 when exact)."""
        return 2 * self.n_players * self.n_cycles

    def describe(self) -> str:
        """How the Shapley values are computed, for a ``method`` column.

        Returns
        -------
        str
            ``"exact over all N subsets"``, or for a sampled design the number of random cyclic
            orders, permutations and distinct subsets evaluated.
        """
        if self.method == "exact":
            return f"exact over all {len(self.masks)} subsets"
        return (
            f"sampled: {self.n_cycles} random cyclic orders x {2 * self.n_players} shifts and reversals "
            f"= {self.n_permutations} permutations, {len(self.masks)} subsets"
        )

    def estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shapley values and their Monte Carlo standard errors from the subsets' values.

        Parameters
        ----------
        values : ndarray, shape (n_subsets,) or (n_subsets, n_reps)
            Value of each subset of ``masks`` (columns: independent replicates, e.g. bootstrap).

        Returns
        -------
        shapley : ndarray, shape (n_players,) or (n_players, n_reps)
        mc_se : ndarray, same shape
            Monte Carlo standard error (0 for an exact design; the spread of the cycles' estimates
            over ``sqrt(n_cycles)`` for a sampled one).

        Raises
        ------
        ParameterError
            If ``values`` does not have one entry per subset of the design.
        """
        values = np.asarray(values, float)
        if values.shape[0] != len(self.masks):
            raise ParameterError(
                f"values must have one entry per subset of the design ({len(self.masks)}), got {values.shape[0]}."
            )
        if self.method == "exact":
            phi = shapley_from_values(values, self.masks)
            return phi, np.zeros_like(phi)
        per_cycle = (values[self.with_idx] - values[self.without_idx]).mean(axis=2)  # (R, m, ...)
        return per_cycle.mean(axis=0), per_cycle.std(axis=0, ddof=1) / np.sqrt(self.n_cycles)


def exact_design(n_players: int) -> ShapleyDesign:
    """All ``2**n_players`` subsets: exact Shapley values.

    Parameters
    ----------
    n_players : int

    Returns
    -------
    ShapleyDesign

    Raises
    ------
    ParameterError
        If ``n_players`` is not between 1 and ``MAX_EXACT_PLAYERS``.
    """
    return ShapleyDesign(subset_masks(n_players), "exact")


def cyclic_design(n_players: int, n_cycles: int, rng: np.random.Generator) -> ShapleyDesign:
    """Sampled Shapley values from random cyclic orderings, their shifts and reversals.

    Parameters
    ----------
    n_players : int
        Number of players ``m`` (2 to 62).
    n_cycles : int
        Random orderings (at least 2, for a Monte Carlo error); each adds at most ``m(m - 3)``
        subsets to evaluate.
    rng : numpy.random.Generator
        Draws the orderings (the design is a deterministic function of its state).

    Returns
    -------
    ShapleyDesign
        Its ``masks`` are the distinct cyclic intervals of the orderings, sorted by their bit
        pattern (the empty set first, the full set last).

    Raises
    ------
    ParameterError
        If ``n_players`` is not between 2 and 62 or ``n_cycles`` is below 2.
    """
    m, R = int(n_players), int(n_cycles)
    if not 2 <= m <= 62:
        raise ParameterError(f"a sampled Shapley design needs 2 to 62 players, got {m}.")
    if R < 2:
        raise ParameterError(f"n_cycles must be at least 2 (the Monte Carlo error needs two), got {n_cycles}.")
    orders = np.stack([rng.permutation(m) for _ in range(R)])  # (R, m)
    pos = (np.arange(m)[:, None] + np.arange(m)[None, :]) % m  # start a, offset j
    bits = np.left_shift(np.int64(1), orders[:, pos].astype(np.int64))  # (R, a, j)
    codes = np.concatenate([np.zeros((R, m, 1), np.int64), np.cumsum(bits, axis=2)], axis=2)  # (R, a, L)
    unique, inverse = np.unique(codes, return_inverse=True)
    row = inverse.reshape(codes.shape)  # row of interval (r, a, L)
    masks = ((unique[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
    # Player at position p of ordering r. Forward (shift starting at a = p - s): predecessors are the
    # interval (a, s); with the player, (a, s + 1). Reversed: the s players after p, interval (p + 1, s);
    # with the player, (p, s + 1).
    where = np.argsort(orders, axis=1)  # (R, player) -> position
    s = np.arange(m)[None, None, :]
    p = where[:, :, None]
    r = np.arange(R)[:, None, None]
    fwd_start = (p - s) % m
    rev_start = (p + 1) % m
    with_idx = np.concatenate([row[r, fwd_start, s + 1], row[r, p, s + 1]], axis=2)
    without_idx = np.concatenate([row[r, fwd_start, s], row[r, rev_start, s]], axis=2)
    return ShapleyDesign(masks, "sampled", R, with_idx, without_idx)
