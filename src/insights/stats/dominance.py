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

The subsets fitted and how their fits combine are a *design* (``insights.stats.shapley``):
exact (all ``2**k`` subsets, the default) or sampled (random cyclic permutations, with a Monte
Carlo standard error), for when ``2**k`` fits per bootstrap replicate are too many.

The subsets are fitted together: the logistic fits are one batched Newton-Raphson (IRLS)
iteration over chunks of subsets in numpy, instead of one statsmodels fit per subset. Bootstrap
replicates (``dominance_replicates``) are frequency weights, warm-started from the full-data
fits of the same design and run in threads; rows a replicate did not draw are left out of its fits.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from insights.errors import ParameterError
from insights.stats.shapley import ShapleyDesign, exact_design, shapley_brute_force, shapley_from_values, subset_masks  # noqa: F401 - subset_masks, shapley_* re-exported for callers

#: Rows summed at a time in the logistic fits (an (n_rows, 64 models) block of float64 then fits in cache).
ROW_BLOCK = 4096
#: Convergence tolerance of the logistic fits (log-likelihood per observation) for exact designs.
EXACT_TOL = 1e-10
#: The same for sampled designs, whose Monte Carlo error is far larger than the fits' error.
SAMPLED_TOL = 1e-7


def _design_masks(masks: np.ndarray, blocks: list[list[int]], n_controls: int, n_cols: int) -> np.ndarray:
    """Column masks (n_subsets, n_cols): intercept and controls always in, block columns when the block is."""
    cols = np.zeros((len(masks), n_cols), bool)
    cols[:, : 1 + n_controls] = True
    for b, members in enumerate(blocks):
        for j in members:
            cols[:, 1 + n_controls + j] = masks[:, b]
    return cols


def fit_logit_subsets(
    X: np.ndarray,
    y: np.ndarray,
    col_masks: np.ndarray,
    beta0: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
    outer: np.ndarray | None = None,
    chunk: int = 64,
    n_jobs: int = 1,
    row_block: int = ROW_BLOCK,
):
    """Maximum-likelihood logistic fits of many column subsets at once (batched Newton-Raphson).

    Every model takes Newton steps together (one matrix product over all rows for all gradients
    and Hessians); a model leaves the batch once its *Newton decrement* ``g' H^-1 g`` is below
    ``2 * tol * sum(weights)``: the log-likelihood is then within about ``tol`` per observation
    of its maximum before the last step is taken, and closer after it (Newton's method converges
    quadratically there). The Hessians use only the distinct products ``x_j x_k`` (upper triangle).
    Models are fitted ``chunk`` at a time: with thousands of subsets, arrays of shape (n, S) would
    spend more time in memory traffic than in arithmetic (a warm-started bootstrap replicate of
    all 4096 subsets of 12 drivers on 31,600 rows: 14.4 s CPU in one batch, 5.2 s in chunks of 64,
    6.3 s in chunks of 128); each model's arithmetic is the same in any chunk. For the same
    reason the sums over rows run ``row_block`` rows at a time (a third less time per Newton step
    at 31,600 rows; with fewer rows than ``row_block`` the arithmetic is that of one pass).

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
    tol : float
        Convergence tolerance on the log-likelihood, per unit of weight (per observation).
    max_iter : int
        Newton steps at most.
    outer : ndarray, shape (n, p(p+1)/2), optional
        ``design_products(X)``, when already computed (many fits on the same rows).
    chunk : int
        Models fitted together.
    n_jobs : int
        Threads fitting chunks side by side (results do not depend on it; limit BLAS to one thread
        around the call to avoid oversubscription).
    row_block : int
        Rows summed at a time in the gradients, Hessians and log-likelihoods.

    Returns
    -------
    beta : ndarray, shape (S, p)
        Coefficients (0 for columns outside a model).
    loglik : ndarray, shape (S,)
    converged : bool
        False when some model had not converged after ``max_iter`` steps or drifted towards
        infinity (separation); its log-likelihood is then the supremum the damped steps reached.
    """
    X = np.asarray(X, float)
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    M = np.asarray(col_masks, bool)
    S = len(M)
    Mf = M.astype(float)
    beta = np.zeros((S, p)) if beta0 is None else np.array(beta0, float) * Mf
    iu, ju = np.triu_indices(p)
    if outer is None:
        outer = design_products(X)  # reused by every Hessian
    # With h = eta / 2 and t = tanh(h): mu = (1 + t) / 2, so the gradient X'w(y - mu) is
    # X'w(y - 1/2) - X'(w t)/2 and the Hessian X'w mu(1 - mu)X is (X'wX - X'(w t^2)X) / 4: the parts
    # that do not depend on beta are computed once, and each step costs two element-wise passes.
    wyh = w * (y - 0.5)
    grad_const = X.T @ wyh  # (p,)
    Xw = X * (-0.5 * w)[:, None]
    outer_w = outer * (0.25 * w)[:, None]
    hess_const = outer_w.sum(axis=0)  # (p(p+1)/2,)
    eye = np.eye(p)[None]
    ridge = 1e-10 * eye  # keeps a model with an all-zero column (a constant driver) solvable
    tol_abs = tol * max(1.0, float(w.sum()))
    done = np.zeros(S, bool)
    loglik = np.empty(S)

    def newton(lo: int) -> None:  # models lo..lo+chunk; writes only their rows of beta, done, loglik
        active = np.arange(lo, min(S, lo + chunk))
        for it in range(max_iter):
            if not len(active):
                break
            B = beta[active]
            Ma = Mf[active]
            half = (0.5 * B).T
            G = np.zeros((p, len(active)))
            Hsum = np.zeros((len(active), len(iu)))
            for r0 in range(0, n, row_block):  # rows a block at a time: the (rows, A) arrays stay in cache
                t = X[r0 : r0 + row_block] @ half  # h = eta / 2
                np.tanh(t, out=t)  # logistic through tanh: no overflow
                G += Xw[r0 : r0 + row_block].T @ t
                np.multiply(t, t, out=t)
                Hsum += t.T @ outer_w[r0 : r0 + row_block]
            grad = (grad_const[None, :] + G.T) * Ma  # (A, p)
            Hu = hess_const[None, :] - Hsum  # (A, p(p+1)/2)
            H = np.empty((len(active), p, p))
            H[:, iu, ju] = Hu
            H[:, ju, iu] = Hu
            H = H * (Ma[:, :, None] * Ma[:, None, :]) + eye * (1.0 - Ma)[:, :, None] + ridge
            try:
                step = np.linalg.solve(H, grad[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                break
            decrement = np.einsum("ij,ij->i", grad, step)
            big = np.max(np.abs(step), axis=1, keepdims=True)
            step = step * np.minimum(1.0, 5.0 / np.maximum(big, 1e-300))  # damp divergent (separated) fits
            new = B + step
            finite = np.isfinite(new).all(axis=1)
            beta[active[finite]] = new[finite]
            ok = finite & (decrement < 2.0 * tol_abs)
            creeping = (it > 25) & (np.abs(step).max(axis=1) < 1e-4 * np.maximum(1.0, np.abs(new).max(axis=1)))
            done[active[ok]] = True
            # Non-finite steps, or creeping towards infinity (separation): the likelihood no longer changes.
            active = active[~ok & finite & ~creeping]
        loglik[lo : lo + chunk] = _logit_loglik(X, y, w, beta[lo : lo + chunk], row_block)

    starts = range(0, S, chunk)  # a chunk of models at a time: (n, chunk) work arrays stay small
    if n_jobs > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            list(pool.map(newton, starts))
    else:
        for lo in starts:
            newton(lo)
    converged = bool(done.all())
    if not converged:
        loglik = np.where(np.isfinite(loglik), loglik, np.nan)
    return beta, loglik, converged


def _logit_loglik(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, beta: np.ndarray, row_block: int = ROW_BLOCK
) -> np.ndarray:
    """Weighted log-likelihood of each row of ``beta``: sum w (y eta - log(1 + e^eta)).

    With h = eta / 2, log(1 + e^eta) = h + log 2 + log cosh h (exact; cosh overflows only for
    |eta| > 1400, where the usual form is used instead). Rows are summed ``row_block`` at a time.
    """
    wy = w * (2.0 * y - 1.0)
    lin = np.zeros(len(beta))
    logcosh = np.zeros(len(beta))
    half = (0.5 * beta).T
    for lo in range(0, len(y), row_block):
        h = X[lo : lo + row_block] @ half
        lin += wy[lo : lo + row_block] @ h
        with np.errstate(over="ignore"):  # separated fits: handled below
            c = np.cosh(h)
        np.log(c, out=c)
        logcosh += w[lo : lo + row_block] @ c
    loglik = (lin - np.log(2.0) * w.sum()) - logcosh
    bad = ~np.isfinite(loglik)
    if bad.any():
        eta = 2.0 * (X @ half)[:, bad]  # (rare: separated fits) all rows at once
        loglik[bad] = (w * y) @ eta - w @ np.logaddexp(0.0, eta)
    return loglik


def design_products(X: np.ndarray) -> np.ndarray:
    """Distinct products ``X[:, j] * X[:, k]`` (j <= k, ``np.triu_indices`` order) of every row: the Hessian terms.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Design matrix (intercept column included).

    Returns
    -------
    ndarray, shape (n, p(p+1)/2)
        Row-wise products of each pair of columns, upper triangle in ``np.triu_indices(p)`` order;
        a weighted column sum of it is the upper triangle of ``X'WX``.
    """
    iu, ju = np.triu_indices(X.shape[1])
    return X[:, iu] * X[:, ju]


def mcfadden(loglik: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """McFadden pseudo-R²: 1 - logL(model) / logL(intercept only).

    Parameters
    ----------
    loglik : ndarray
        Log-likelihoods of fitted logistic models (any shape, e.g. one per subset of predictors).
    y : ndarray, shape (n,)
        The 0/1 outcome the models were fitted to.
    weights : ndarray, shape (n,), optional
        Frequency weights of the rows (a bootstrap replicate as counts); all 1 by default.

    Returns
    -------
    ndarray
        Pseudo-R² of each log-likelihood, same shape as ``loglik``; all NaN when the weighted
        outcome has no events or no non-events (the intercept-only log-likelihood is then 0).
    """
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    pbar = np.sum(w * y) / np.sum(w)
    if not 0 < pbar < 1:
        return np.full(np.shape(loglik), np.nan)  # no events (or no non-events): undefined
    ll0 = np.sum(w * (y * np.log(pbar) + (1 - y) * np.log(1 - pbar)))
    return 1.0 - np.asarray(loglik) / ll0


def ols_r2_subsets(
    X: np.ndarray, y: np.ndarray, col_masks: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """R² of the least-squares fit of every column subset (``X`` includes the intercept column).

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Design matrix with the intercept column.
    y : ndarray, shape (n,)
        Numeric outcome.
    col_masks : ndarray of bool, shape (S, p)
        Columns in each of the S models (each should include the intercept).
    weights : ndarray, shape (n,), optional
        Frequency weights of the rows (a bootstrap replicate as counts); all 1 by default.

    Returns
    -------
    ndarray, shape (S,)
        Weighted R² (1 - residual / total sum of squares about the weighted mean) of each model,
        from the normal equations restricted to its columns.
    """
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
        Subsets of blocks that were fitted (all of them, or a sampled design's).
    statistic : str
        "McFadden pseudo-R2" or "R2".
    beta_subsets : ndarray
        Coefficients of every subset's model (a warm start for the next bootstrap replicate).
    converged : bool
        False when some logistic fit did not converge (separation); its log-likelihood is then the
        supremum reached by the damped Newton steps.
    general_mc_se, share_mc_se : ndarray
        Monte Carlo standard errors of ``general`` and ``share`` (zeros when exact).
    shapley : str
        How the Shapley values were computed (``ShapleyDesign.describe``).
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
    general_mc_se: np.ndarray | None = None
    share_mc_se: np.ndarray | None = None
    shapley: str = ""


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


def dominance(
    predictors,
    y,
    controls=None,
    blocks=None,
    names=None,
    model: str = "logit",
    weights=None,
    beta0=None,
    outer=None,
    design: ShapleyDesign | None = None,
    tol: float | None = None,
    n_jobs: int = 1,
) -> Dominance:
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
        Warm start for the logistic fits, shape (n_subsets, n_columns) (``beta_subsets`` of an
        analysis with the same design).
    outer : ndarray, optional
        Row products of the design matrix for the logistic Hessians (``design_products``), when many
        analyses share the same rows (``dominance_replicates``).
    design : ShapleyDesign, optional
        Which subsets to fit and how to combine them (``insights.stats.shapley``): default
        ``exact_design(n_blocks)``, all ``2**n_blocks`` subsets; ``cyclic_design`` samples them
        and reports a Monte Carlo error.
    tol : float, optional
        Convergence tolerance of the logistic fits (``fit_logit_subsets``). Default ``EXACT_TOL``
        (1e-10) for an exact design and ``SAMPLED_TOL`` (1e-7) for a sampled one: a sampled
        estimate's Monte Carlo error dwarfs the fits' error, and from a warm start the looser
        tolerance saves the third Newton step of most models (the step is still taken, so the
        log-likelihoods stay within about 1e-8 of the 1e-10 fits on 50,000 rows).
    n_jobs : int
        Threads fitting the subsets' chunks side by side (``fit_logit_subsets``); the result does
        not depend on it.

    Returns
    -------
    Dominance

    Raises
    ------
    ParameterError
        If the outcome is not 0/1 for a logistic model, ``model`` is unknown, ``blocks`` do not use
        every predictor once, ``weights`` are negative or the design has another number of players.
    """
    X, n_controls, blocks = _prepare(predictors, controls, blocks)
    y = np.asarray(y, float)
    if weights is not None:
        weights = np.asarray(weights, float)
        if weights.shape != y.shape or (weights < 0).any():
            raise ParameterError("weights must be non-negative, one per row.")
        keep = weights > 0  # rows a bootstrap replicate did not draw add nothing: leave them out
        X, y, weights = X[keep], y[keep], weights[keep]
        outer = None if outer is None else outer[keep]
    k = X.shape[1] - 1 - n_controls
    names = [f"x{j}" for j in range(k)] if names is None else list(names)
    block_names = [" + ".join(names[j] for j in b) for b in blocks]
    design = exact_design(len(blocks)) if design is None else design
    if design.n_players != len(blocks):
        raise ParameterError(f"the Shapley design has {design.n_players} players but there are {len(blocks)} blocks.")
    masks = design.masks
    cols = _design_masks(masks, blocks, n_controls, X.shape[1])
    if model == "logit":
        if not np.isin(y, (0.0, 1.0)).all():
            raise ParameterError("a logistic dominance analysis needs a 0/1 outcome.")
        tol = (EXACT_TOL if design.method == "exact" else SAMPLED_TOL) if tol is None else tol
        beta, loglik, ok = fit_logit_subsets(
            X, y, cols, beta0=beta0, weights=weights, outer=outer, tol=tol, n_jobs=n_jobs
        )
        if not np.isfinite(loglik).all() and beta0 is not None:
            beta, loglik, ok = fit_logit_subsets(X, y, cols, weights=weights, outer=outer, tol=tol, n_jobs=n_jobs)
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
    general, general_se = design.estimate(fit)
    total = fit[-1] - fit[0]
    valid = np.isfinite(total) and total > 0
    share = general / total if valid else np.full_like(general, np.nan)
    share_se = general_se / total if valid else np.full_like(general, np.nan)
    return Dominance(
        block_names,
        general,
        share,
        float(fit[-1]),
        float(fit[0]),
        beta[-1],
        fit,
        masks,
        statistic,
        beta,
        bool(ok) if model == "logit" else True,
        general_se,
        share_se,
        design.describe(),
    )


def dominance_replicates(
    predictors,
    y,
    weights,
    controls=None,
    blocks=None,
    beta0=None,
    model: str = "logit",
    n_jobs: int | None = None,
    design: ShapleyDesign | None = None,
) -> list[Dominance]:
    """``dominance`` for each row of ``weights`` (bootstrap replicates as frequency weights), in threads.

    Parameters
    ----------
    predictors, y, controls, blocks, model, design
        As in ``dominance`` (one design for every replicate: common random numbers).
    weights : ndarray, shape (n_replicates, n)
        Frequency weights of each replicate (integer counts are turned into floats one replicate at
        a time).
    beta0 : ndarray, optional
        Warm start shared by every replicate (e.g. the full-data ``beta_subsets``).
    n_jobs : int, optional
        Threads (default: the number of CPUs, at most 4). numpy releases the GIL in the matrix
        products and element-wise functions, so replicates run in parallel; each replicate's result
        does not depend on the thread it ran in. Limit BLAS to one thread around this call
        (``threadpoolctl``) to avoid oversubscription.

    Returns
    -------
    list of Dominance, in the order of ``weights``.

    Raises
    ------
    ParameterError
        If ``n_jobs`` is below 1, or as ``dominance``.
    """
    weights = np.atleast_2d(np.asarray(weights))  # integer counts stay compact: one replicate at a time in floats
    n_jobs = min(4, os.cpu_count() or 1) if n_jobs is None else int(n_jobs)
    if n_jobs < 1:
        raise ParameterError(f"n_jobs must be at least 1, got {n_jobs}.")
    outer = design_products(_prepare(predictors, controls, blocks)[0]) if model == "logit" else None

    def one(w):
        return dominance(
            predictors,
            y,
            controls,
            blocks,
            model=model,
            weights=np.asarray(w, float),
            beta0=beta0,
            outer=outer,
            design=design,
        )

    if n_jobs == 1:
        return [one(w) for w in weights]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(one, weights))
