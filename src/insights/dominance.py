"""General dominance analysis (Shapley decomposition of a fit statistic) for logistic and linear models.

A predictor's *general dominance* (Azen & Budescu 2003) is its average increase in a fit
statistic when it is added to a model, averaged first over the subsets of the other
predictors of each size and then over the sizes. It equals the Shapley value of the
predictor in the game whose value of a subset is the model's fit, so the contributions add
up to the fit of the full model minus the fit of the base model. For a linear model and R²
it is the LMG decomposition (Lindeman, Merenda & Gold 1980; R package ``relaimpo``).

Predictors may be grouped into *blocks* (for instance strongly correlated drivers): a block
enters or leaves a subset as one unit and receives one contribution. Control variables are
in every model, including the base one.

Every subset is fitted at once: the logistic fits are one batched Newton-Raphson (IRLS)
iteration over all subsets in numpy, optionally warm-started from a previous solution
(consecutive bootstrap replicates), instead of one statsmodels fit per subset.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from insights.errors import ParameterError


def subset_masks(n_blocks: int) -> np.ndarray:
    """All 2**n_blocks subsets of the blocks as a boolean matrix (row = subset, bit k = block k)."""
    if n_blocks < 1 or n_blocks > 12:
        raise ParameterError(f"dominance analysis needs 1 to 12 predictors or blocks, got {n_blocks}; "
                             "group correlated predictors into blocks to reduce them.")
    codes = np.arange(2 ** n_blocks)
    return ((codes[:, None] >> np.arange(n_blocks)[None, :]) & 1).astype(bool)


def shapley_from_values(values: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Shapley values (general dominance) from the fit of every subset.

    Parameters
    ----------
    values : ndarray, shape (n_subsets,) or (n_subsets, n_reps)
        Fit statistic of each subset (row order of ``masks``).
    masks : ndarray of bool, shape (n_subsets, n_blocks)

    Returns
    -------
    ndarray, shape (n_blocks,) or (n_blocks, n_reps)
    """
    values = np.asarray(values, float)
    m = masks.shape[1]
    size = masks.sum(axis=1)
    index = {tuple(row): i for i, row in enumerate(masks)}
    out = np.zeros((m,) + values.shape[1:])
    for k in range(m):
        without = np.flatnonzero(~masks[:, k])
        with_k = [index[tuple(np.where(np.arange(m) == k, True, masks[i]))] for i in without]
        s = size[without]
        weight = 1.0 / (m * np.array([comb(m - 1, int(j)) for j in s]))
        diff = values[with_k] - values[without]
        out[k] = np.tensordot(weight, diff, axes=(0, 0))
    return out


def _design_masks(masks: np.ndarray, blocks: list[list[int]], n_controls: int, n_cols: int) -> np.ndarray:
    """Column masks (n_subsets, n_cols): intercept and controls always in, block columns when the block is."""
    cols = np.zeros((len(masks), n_cols), bool)
    cols[:, :1 + n_controls] = True
    for b, members in enumerate(blocks):
        for j in members:
            cols[:, 1 + n_controls + j] = masks[:, b]
    return cols


def fit_logit_subsets(X: np.ndarray, y: np.ndarray, col_masks: np.ndarray, beta0: np.ndarray | None = None,
                      weights: np.ndarray | None = None, tol: float = 1e-8, max_iter: int = 50):
    """Maximum-likelihood logistic fits of many column subsets at once (batched Newton-Raphson).

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Design matrix including the intercept column.
    y : ndarray, shape (n,)
        0/1 outcome.
    col_masks : ndarray of bool, shape (S, p)
        Columns in each of the S models.
    beta0 : ndarray, shape (S, p), optional
        Starting values (warm start); zeros by default.
    weights : ndarray, shape (n,), optional
        Frequency weights (a bootstrap replicate as counts of each row).

    Returns
    -------
    beta : ndarray, shape (S, p)
        Coefficients (0 for columns outside a model).
    loglik : ndarray, shape (S,)
    converged : bool
    """
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    M = col_masks.astype(float)
    beta = np.zeros((len(M), p)) if beta0 is None else np.array(beta0, float) * M
    eye = np.eye(p)[None, :, :] * (1.0 - M)[:, :, None] + 1e-10 * np.eye(p)[None, :, :]
    outer = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)  # rows x_i x_i', reused by every Hessian
    pair = (M[:, :, None] * M[:, None, :])
    converged = False
    for _ in range(max_iter):
        eta = X @ beta.T                                   # (n, S)
        mu = 0.5 * (1.0 + np.tanh(0.5 * eta))              # logistic, without overflow
        grad = ((w[:, None] * (y[:, None] - mu)).T @ X) * M          # (S, p)
        ww = w[:, None] * mu * (1.0 - mu)                            # (n, S)
        H = (ww.T @ outer).reshape(-1, p, p) * pair + eye
        try:
            step = np.linalg.solve(H, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            break
        big = np.max(np.abs(step), axis=1, keepdims=True)
        step = step * np.minimum(1.0, 5.0 / np.maximum(big, 1e-300))  # damp divergent (separated) fits
        beta = beta + step
        if not np.isfinite(beta).all():
            break
        if np.max(np.abs(step)) < tol:
            converged = True
            break
        if _ > 25 and np.max(np.abs(step)) < 1e-4 * max(1.0, float(np.max(np.abs(beta)))):
            break  # creeping towards infinity (separation): the likelihood no longer changes
    eta = X @ beta.T
    loglik = (w[:, None] * (y[:, None] * eta - np.logaddexp(0.0, eta))).sum(axis=0)
    if not converged:
        loglik = np.where(np.isfinite(loglik), loglik, np.nan)
    return beta, loglik, converged


def mcfadden(loglik: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """McFadden pseudo-R²: 1 - logL(model) / logL(intercept only)."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    pbar = np.sum(w * y) / np.sum(w)
    if not 0 < pbar < 1:
        return np.full(np.shape(loglik), np.nan)  # no events (or no non-events): undefined
    ll0 = np.sum(w * (y * np.log(pbar) + (1 - y) * np.log(1 - pbar)))
    return 1.0 - np.asarray(loglik) / ll0


def ols_r2_subsets(X: np.ndarray, y: np.ndarray, col_masks: np.ndarray,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """R² of the least-squares fit of every column subset (``X`` includes the intercept column)."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    xtx = (X * w[:, None]).T @ X
    xty = (X * w[:, None]).T @ y
    ybar = np.sum(w * y) / np.sum(w)
    tss = np.sum(w * (y - ybar) ** 2)
    out = np.empty(len(col_masks))
    for s, m in enumerate(col_masks):
        idx = np.flatnonzero(m)
        b = np.linalg.lstsq(xtx[np.ix_(idx, idx)], xty[idx], rcond=None)[0]
        rss = np.sum(w * (y - X[:, idx] @ b) ** 2)
        out[s] = 1.0 - rss / tss
    return out


@dataclass
class Dominance:
    """Result of a dominance analysis.

    Attributes
    ----------
    names : list of str
        Block names (a single predictor's name, or members joined by " + ").
    general : ndarray
        General dominance of each block (its average contribution to the fit statistic).
    share : ndarray
        ``general`` as a share of their sum (the fit added by all blocks over the controls).
    fit_full, fit_base : float
        Fit statistic of the full model and of the controls-only model.
    beta_full : ndarray
        Coefficients of the full model (intercept, controls, predictors).
    subset_fit : ndarray
        Fit statistic of every subset (row order of ``masks``).
    masks : ndarray of bool
        Subsets of blocks.
    statistic : str
        "McFadden pseudo-R2" or "R2".
    beta_subsets : ndarray
        Coefficients of every subset's model (a warm start for the next bootstrap replicate).
    converged : bool
        False when some logistic fit did not converge (separation); its log-likelihood is then the
        supremum reached by the damped Newton steps.
    """

    names: list
    general: np.ndarray
    share: np.ndarray
    fit_full: float
    fit_base: float
    beta_full: np.ndarray
    subset_fit: np.ndarray
    masks: np.ndarray
    statistic: str
    beta_subsets: np.ndarray | None = None
    converged: bool = True


def _prepare(predictors, controls, blocks):
    P = np.asarray(predictors, float)
    if P.ndim != 2 or P.shape[1] < 1:
        raise ParameterError("predictors must be a 2-D array with at least one column.")
    n = len(P)
    C = np.empty((n, 0)) if controls is None else np.asarray(controls, float).reshape(n, -1)
    blocks = [[j] for j in range(P.shape[1])] if blocks is None else [list(b) for b in blocks]
    flat = sorted(j for b in blocks for j in b)
    if flat != list(range(P.shape[1])):
        raise ParameterError("blocks must use every predictor column exactly once.")
    X = np.column_stack([np.ones(n), C, P])
    return X, C.shape[1], blocks


def dominance(predictors, y, controls=None, blocks=None, names=None, model: str = "logit",
              weights=None, beta0=None) -> Dominance:
    """General dominance of predictors (or blocks of them) over controls that are always in the model.

    Parameters
    ----------
    predictors : array-like, shape (n, k)
    y : array-like, shape (n,)
        0/1 outcome for ``model="logit"``, any numeric outcome for ``model="ols"``.
    controls : array-like, shape (n, c), optional
        Columns in every model (not including the intercept, which is always added).
    blocks : list of list of int, optional
        Groups of predictor columns that enter together (default: one block per column).
    names : list of str, optional
        Predictor names (default x0, x1, ...).
    model : {"logit", "ols"}
        Logistic regression with McFadden pseudo-R², or least squares with R² (LMG).
    weights : array-like, shape (n,), optional
        Frequency weights (bootstrap counts).
    beta0 : ndarray, optional
        Warm start for the logistic fits, shape (2**n_blocks, n_columns).

    Returns
    -------
    Dominance
    """
    X, n_controls, blocks = _prepare(predictors, controls, blocks)
    y = np.asarray(y, float)
    k = X.shape[1] - 1 - n_controls
    names = [f"x{j}" for j in range(k)] if names is None else list(names)
    block_names = [" + ".join(names[j] for j in b) for b in blocks]
    masks = subset_masks(len(blocks))
    cols = _design_masks(masks, blocks, n_controls, X.shape[1])
    if model == "logit":
        if not np.isin(y, (0.0, 1.0)).all():
            raise ParameterError("a logistic dominance analysis needs a 0/1 outcome.")
        beta, loglik, ok = fit_logit_subsets(X, y, cols, beta0=beta0, weights=weights)
        if not np.isfinite(loglik).all() and beta0 is not None:
            beta, loglik, ok = fit_logit_subsets(X, y, cols, weights=weights)
        # Without convergence (separation: a coefficient drifts to infinity) the log-likelihood has
        # still reached its supremum closely after max_iter damped steps, so the fit statistic is kept.
        fit = mcfadden(loglik, y, weights)
        statistic = "McFadden pseudo-R2"
    elif model == "ols":
        fit = ols_r2_subsets(X, y, cols, weights)
        beta = np.full((len(masks), X.shape[1]), np.nan)
        statistic = "R2"
    else:
        raise ParameterError(f"model must be 'logit' or 'ols', got {model!r}.")
    general = shapley_from_values(fit, masks)
    total = fit[-1] - fit[0]
    share = general / total if np.isfinite(total) and total > 0 else np.full_like(general, np.nan)
    return Dominance(block_names, general, share, float(fit[-1]), float(fit[0]), beta[-1], fit, masks, statistic,
                     beta, bool(ok) if model == "logit" else True)


def shapley_brute_force(value, n: int) -> np.ndarray:
    """Shapley values by the permutation-free subset formula, for tests (``value(frozenset) -> float``)."""
    out = np.zeros(n)
    for k in range(n):
        others = [j for j in range(n) if j != k]
        for r in range(n):
            for s in combinations(others, r):
                w = 1.0 / (n * comb(n - 1, r))
                out[k] += w * (value(frozenset(s) | {k}) - value(frozenset(s)))
    return out
