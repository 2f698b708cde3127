"""Shapley values: the sampled (cyclic permutation) estimate against the exact one, and its Monte Carlo error."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from insights.errors import ParameterError
from insights.stats import dominance as dom
from insights.stats import shapley as sh


def _codes(masks: np.ndarray) -> np.ndarray:
    return masks.astype(np.int64) @ (1 << np.arange(masks.shape[1], dtype=np.int64))


def _game(m: int, seed: int) -> np.ndarray:
    """Value of every subset (indexed by bit code) of a non-additive game: a square, interactions, noise."""
    rng = np.random.default_rng(seed)
    masks = sh.subset_masks(m)
    w = rng.random(m)
    pair = rng.normal(size=(m, m))
    values = (masks @ w) ** 2 + np.einsum("si,ij,sj->s", masks, pair, masks) * 0.1 + 0.2 * rng.random(len(masks))
    values[0] = 0.0
    return values


def test_cyclic_design_puts_every_player_at_every_position():
    m, R = 7, 3
    d = sh.cyclic_design(m, R, np.random.default_rng(0))
    assert d.masks[0].sum() == 0 and d.masks[-1].all()
    assert len(np.unique(_codes(d.masks))) == len(d.masks)
    assert len(d.masks) <= R * m * (m - 3) + 2 * m + 2
    sizes_with = d.masks[d.with_idx].sum(axis=-1)  # (R, m, 2m): size of the set with the player
    sizes_without = d.masks[d.without_idx].sum(axis=-1)
    assert (sizes_with == sizes_without + 1).all()
    for r in range(R):
        for i in range(m):
            # the player is in every "with" set, in no "without" set, and both differ only by it
            assert d.masks[d.with_idx[r, i], i].all() and not d.masks[d.without_idx[r, i], i].any()
            diff = d.masks[d.with_idx[r, i]] ^ d.masks[d.without_idx[r, i]]
            assert (diff.sum(axis=1) == 1).all()
            # each number of predecessors 0..m-1 twice (both directions): stratified by position
            assert sorted(sizes_without[r, i]) == sorted(list(range(m)) * 2)


def test_sampled_shapley_is_exact_for_an_additive_game_and_efficient_for_any():
    m = 9
    a = np.random.default_rng(1).normal(size=m)
    d = sh.cyclic_design(m, 4, np.random.default_rng(2))
    phi, se = d.estimate(d.masks @ a)
    assert np.allclose(phi, a) and np.allclose(se, 0.0)
    values = _game(m, 3)[_codes(d.masks)]
    phi, _ = d.estimate(values)
    assert np.isclose(phi.sum(), values[-1] - values[0])  # every permutation's contributions telescope


def test_sampled_shapley_is_unbiased_and_its_standard_error_matches_the_spread_over_seeds():
    m, R, seeds = 8, 4, 400
    values = _game(m, 5)
    exact = sh.exact_design(m).estimate(values)[0]
    assert np.allclose(exact, sh.shapley_brute_force(lambda s: values[sum(1 << j for j in s)], m))
    est, se = [], []
    for seed in range(seeds):
        d = sh.cyclic_design(m, R, np.random.default_rng(seed))
        e, s = d.estimate(values[_codes(d.masks)])
        est.append(e)
        se.append(s)
    est, se = np.array(est), np.array(se)
    spread = est.std(axis=0, ddof=1)
    assert (np.abs(est.mean(axis=0) - exact) < 4 * spread / np.sqrt(seeds)).all()  # unbiased
    # reported variance vs observed variance, pooled over players: 400 seeds x 3 df each
    ratio = (spread**2).sum() / (se**2).mean(axis=0).sum()
    assert 0.8 < ratio < 1.25
    # and per player within a wider band
    assert (np.abs(np.log(spread**2 / (se**2).mean(axis=0))) < np.log(1.6)).all()
    # a single estimate lies within a few of its reported standard errors of the exact value
    rms = np.sqrt((se**2).mean(axis=0))
    assert (np.abs(est - exact) < 5 * rms).all()


def test_design_is_deterministic_for_a_seed_and_checks_its_input():
    a = sh.cyclic_design(10, 3, np.random.default_rng(4))
    b = sh.cyclic_design(10, 3, np.random.default_rng(4))
    assert np.array_equal(a.masks, b.masks) and np.array_equal(a.with_idx, b.with_idx)
    assert a.describe().startswith("sampled: 3 random cyclic orders x 20") and a.n_permutations == 60
    with pytest.raises(ParameterError, match="n_cycles"):
        sh.cyclic_design(5, 1, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="players"):
        sh.cyclic_design(1, 4, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="one entry per subset"):
        a.estimate(np.zeros(3))
    with pytest.raises(ParameterError, match="sampled estimate"):
        sh.subset_masks(sh.MAX_EXACT_PLAYERS + 1)


# --------------------------------------------------------------------------- on logistic fits


@pytest.fixture(scope="module")
def logit_data():
    rng = np.random.default_rng(11)
    n, m = 400, 8
    L = np.linalg.cholesky(0.4 * np.ones((m, m)) + 0.6 * np.eye(m))
    X = rng.standard_normal((n, m)) @ L.T
    C = rng.normal(size=(n, 1))
    eta = -1.2 + X @ np.linspace(0.9, 0.0, m) + 0.3 * C[:, 0]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, y, C


def test_sampled_dominance_agrees_with_exact_within_its_monte_carlo_error(logit_data):
    X, y, C = logit_data
    exact = dom.dominance(X, y, C)
    assert exact.shapley.startswith("exact") and np.allclose(exact.share_mc_se, 0.0)
    d = sh.cyclic_design(X.shape[1], 4, np.random.default_rng(0))
    sampled = dom.dominance(X, y, C, design=d)
    assert sampled.shapley.startswith("sampled")
    # the sampled design's subset fits are the exact analysis's fits of the same subsets
    pos = {c: i for i, c in enumerate(_codes(exact.masks))}
    rows = [pos[c] for c in _codes(d.masks)]
    assert np.allclose(sampled.subset_fit, exact.subset_fit[rows], atol=1e-8)
    # one statsmodels check of a sampled subset's pseudo-R2
    j = len(d.masks) // 2
    ref = sm.Logit(y, np.column_stack([np.ones(len(y)), C, X[:, d.masks[j]]])).fit(disp=0)
    assert np.isclose(sampled.subset_fit[j], ref.prsquared, atol=1e-8)
    assert np.isclose(sampled.share.sum(), 1.0) and (sampled.share_mc_se > 0).all()
    assert (np.abs(sampled.general - exact.general) < 5 * sampled.general_mc_se).all()
    # the same over many orderings, by reusing the exact subset fits: unbiased, error as reported
    est, se = [], []
    for seed in range(150):
        dd = sh.cyclic_design(X.shape[1], 4, np.random.default_rng(seed))
        e, s = dd.estimate(exact.subset_fit[[pos[c] for c in _codes(dd.masks)]])
        est.append(e)
        se.append(s)
    est, se = np.array(est), np.array(se)
    spread = est.std(axis=0, ddof=1)
    assert (np.abs(est.mean(axis=0) - exact.general) < 4 * spread / np.sqrt(150)).all()
    assert 0.7 < (spread**2).sum() / (se**2).mean(axis=0).sum() < 1.4


def test_replicates_share_the_design_and_warm_start(logit_data):
    X, y, C = logit_data
    d = sh.cyclic_design(X.shape[1], 3, np.random.default_rng(1))
    point = dom.dominance(X, y, C, design=d)
    rng = np.random.default_rng(2)
    W = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=3).astype(float)
    reps = dom.dominance_replicates(X, y, W, C, beta0=point.beta_subsets, design=d, n_jobs=2)
    for w, r in zip(W, reps):
        cold = dom.dominance(X, y, C, weights=w, design=d)
        assert np.allclose(r.general, cold.general, atol=1e-7)
        assert np.array_equal(r.masks, d.masks)
    with pytest.raises(ParameterError, match="players"):
        dom.dominance(X[:, :3], y, C, design=d)


def test_chunked_and_threaded_fits_equal_one_batch(logit_data):
    X, y, C = logit_data
    A = np.column_stack([np.ones(len(y)), C, X])
    masks = np.column_stack([np.ones((256, 2), bool), sh.subset_masks(8)])
    one = dom.fit_logit_subsets(A, y, masks, chunk=10_000)
    split = dom.fit_logit_subsets(A, y, masks, chunk=32, n_jobs=2)
    assert np.allclose(one[0], split[0], atol=1e-9) and np.allclose(one[1], split[1], rtol=1e-12)
    assert one[2] and split[2]
