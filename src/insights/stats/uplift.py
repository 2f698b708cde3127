"""Heterogeneous treatment effects from a randomised experiment: a cross-fitted DR-learner.

``dr_learner`` returns, for every row, the doubly robust (AIPW) scores of both arms and a
predicted uplift (conditional average treatment effect, CATE) from a model that never saw the
row's outcome:

* the data are split into ``folds`` folds by cluster (an account's rows stay together), balanced
  on arm and randomisation stratum;
* for fold k, the outcome models of each arm (and the propensity model, unless the propensity is
  known from the randomisation) are fitted on the other folds and give the fold's AIPW scores
  ``gamma1 = mu1 + T (Y - mu1) / e``, ``gamma0 = mu0 + (1 - T) (Y - mu0) / (1 - e)`` and the
  pseudo-outcome ``score = gamma1 - gamma0`` (Kennedy 2023, the DR-learner);
* the uplift of fold k comes from an effect model fitted on the other folds' pseudo-outcomes,
  themselves cross-fitted inside those folds (two inner folds), so no outcome of fold k enters it;
* each fold's predictions are then shifted to the common mean (the one quantity every row shares,
  so a row's outcome reaches its prediction only through that constant): a fold model's level is the other
  folds' average effect, which runs against the fold's own (with five folds and no shift, the BLP
  test rejected a true null in 13 of 40 simulations; ``docs/playbook_targeting.md``).

The scores feed the tests of ``insights.stats.heterogeneity`` (best linear projection, GATES,
CLAN) and the policy values of ``insights.stats.policy_value``. Nothing here knows our tables:
column names are parameters.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from insights.errors import ParameterError
from insights.stats.table_checks import binary_values, numeric_values, require_columns

#: Columns of the frame ``dr_learner`` returns.
SCORE_COLUMNS = (
    "outcome",
    "treated",
    "propensity",
    "mu0",
    "mu1",
    "gamma0",
    "gamma1",
    "score",
    "cate",
    "fold",
    "cluster",
)

#: Propensities outside [CLIP, 1 - CLIP] are refused (known) or clipped (estimated).
PROPENSITY_CLIP = 0.02


def default_outcome_model(binary: bool):
    """The default outcome (nuisance) model of one arm: a regularised linear model on standardised covariates.

    Small B2B pilots have a few hundred accounts; a linear model is stable there, and with a known
    propensity the scores stay unbiased whatever the outcome model.

    Parameters
    ----------
    binary : bool
        Whether the outcome is 0/1 (logistic regression, L2, C = 1) or numeric (ridge, alpha by
        leave-one-out CV).

    Returns
    -------
    sklearn.pipeline.Pipeline
        An unfitted ``StandardScaler`` + model pipeline.
    """
    if binary:
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=200))
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))


def default_effect_model():
    """The default effect model: ridge regression of the pseudo-outcome on standardised covariates.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``StandardScaler`` + ``RidgeCV`` (alphas 0.01 to 10^5), unfitted.
    """
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 5, 15)))


def _check_inputs(frame: pd.DataFrame, outcome, treatment, covariates, cluster) -> tuple[np.ndarray, ...]:
    """Outcome, treatment and covariates as float arrays, after the project's table checks."""
    require_columns(frame, {"outcome": outcome, "treatment": treatment, "cluster": cluster}, "the experiment table")
    require_columns(frame, covariates, "the experiment table")
    if not len(covariates):
        raise ParameterError("give at least one covariate column: the uplift is predicted from them.")
    y = numeric_values(frame, [outcome])[:, 0]
    t = binary_values(frame, treatment)
    x = numeric_values(frame, covariates)
    return y, t, x


def _propensity(frame: pd.DataFrame, propensity, n: int) -> np.ndarray | None:
    if propensity is None:
        return None
    if isinstance(propensity, (int, float)) and not isinstance(propensity, bool):
        e = np.full(n, float(propensity))
    elif propensity in frame.columns:
        e = pd.to_numeric(frame[propensity], errors="coerce").to_numpy(dtype=float)
    else:
        raise ParameterError(f"propensity must be a share in (0, 1) or a column of the frame, got {propensity!r}.")
    if not np.all((e >= PROPENSITY_CLIP) & (e <= 1 - PROPENSITY_CLIP)):
        raise ParameterError(
            f"the known propensity must lie in [{PROPENSITY_CLIP}, {1 - PROPENSITY_CLIP}] for every row; "
            "an arm that (almost) nobody could get leaves no comparison for those rows."
        )
    return e


def cluster_folds(clusters, folds: int, seed: int, strata=None) -> np.ndarray:
    """Fold number of each row, with every cluster's rows in one fold, balanced within strata.

    Clusters are dealt to the folds in a random order, stratum by stratum, so each fold holds the
    same share of every stratum (up to one cluster): with arm (and randomisation stratum) as the
    strata, every fold's models see both arms in the design's proportions.

    Parameters
    ----------
    clusters : array-like
        Cluster of each row (e.g. the account id); no missing values.
    folds : int
        Number of folds (at least 2, at most the number of clusters).
    seed : int
        Seed of the random order.
    strata : array-like, optional
        Stratum of each row (a cluster takes its first row's); default one stratum.

    Returns
    -------
    numpy.ndarray
        Integers 0..folds-1, one per row.

    Raises
    ------
    ParameterError
        If ``folds`` < 2 or exceeds the number of clusters.
    """
    codes, uniq = pd.factorize(pd.Series(clusters), sort=True)
    if folds < 2 or folds > len(uniq):
        raise ParameterError(f"folds must be between 2 and the number of clusters ({len(uniq)}), got {folds}.")
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    stratum = np.zeros(len(uniq), dtype=int) if strata is None else pd.factorize(pd.Series(strata).iloc[first])[0]
    order = np.random.default_rng(seed).permutation(len(uniq))
    order = order[np.argsort(stratum[order], kind="stable")]  # random within stratum, strata one after another
    fold_of = np.empty(len(uniq), dtype=int)
    fold_of[order] = np.arange(len(uniq)) % folds
    return fold_of[codes]


def _fit_predict(model, x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, binary: bool) -> np.ndarray:
    """Predictions of a clone of ``model`` fitted on the training rows (a constant if they are constant)."""
    if np.ptp(y_tr) == 0:
        return np.full(len(x_te), float(y_tr[0]))
    m = clone(model).fit(x_tr, y_tr)
    return m.predict_proba(x_te)[:, 1] if binary else m.predict(x_te)


def _nuisance(x, y, t, e_known, train, test, outcome_model, binary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mu0, mu1 and e on the test rows from models fitted on the training rows."""
    arms = []
    for arm in (0.0, 1.0):
        rows = train & (t == arm)
        arms.append(_fit_predict(outcome_model, x[rows], y[rows], x[test], binary))
    if e_known is not None:
        e = e_known[test]
    else:
        e = _fit_predict(default_outcome_model(True), x[train], t[train], x[test], True)
        e = np.clip(e, PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
    return arms[0], arms[1], e


def _scores(y, t, mu0, mu1, e) -> tuple[np.ndarray, np.ndarray]:
    gamma1 = mu1 + t * (y - mu1) / e
    gamma0 = mu0 + (1 - t) * (y - mu0) / (1 - e)
    return gamma0, gamma1


def dr_learner(
    frame: pd.DataFrame,
    outcome: Hashable,
    treatment: Hashable,
    covariates: Sequence[Hashable],
    propensity: float | Hashable | None = None,
    cluster: Hashable | None = None,
    strata: Hashable | None = None,
    folds: int = 2,
    seed: int = 0,
    outcome_model=None,
    effect_model=None,
) -> pd.DataFrame:
    """Cross-fitted DR-learner: AIPW scores per row and a predicted uplift that never saw the row's outcome.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per unit (or several per cluster).
    outcome : hashable
        Numeric outcome column (0/1 for a rate, such as renewed).
    treatment : hashable
        0/1 column: 1 = treated.
    covariates : sequence of hashable
        Numeric pre-treatment columns without missing values.
    propensity : float or hashable, optional
        The known probability of treatment (a share, or a column of per-row shares, e.g. by stratum)
        from the randomisation. Default: estimated by cross-fitted logistic regression (clipped to
        [0.02, 0.98]).
    cluster : hashable, optional
        Cluster column (e.g. account id); folds keep a cluster's rows together. Default: each row.
    strata : hashable, optional
        Randomisation strata (e.g. segment): the folds are balanced on arm x stratum (always on arm).
    folds : int, default 2
        Number of cross-fitting folds. Two (each half's uplift from a model of the other half, as in
        Chernozhukov et al.'s main/auxiliary split) keep the heterogeneity tests calibrated; with five,
        whose models share training data, the BLP test rejected a true null in 10-17% of simulations
        (``docs/playbook_targeting.md``).
    seed : int, default 0
        Seed of the fold split.
    outcome_model, effect_model : scikit-learn estimator, optional
        Outcome model of each arm (a classifier with ``predict_proba`` for a 0/1 outcome) and the
        regression of the pseudo-outcome on the covariates. Defaults: ``default_outcome_model`` and
        ``default_effect_model``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``frame``; columns ``SCORE_COLUMNS``: outcome, treated, propensity, mu0, mu1
        (cross-fitted outcome predictions per arm), gamma0, gamma1 (AIPW scores), score
        (gamma1 - gamma0, the DR pseudo-outcome), cate (predicted uplift, cross-fitted, each fold
        shifted to the common mean), fold, cluster
        (the cluster column, or the row number); ``attrs["method"]`` names the estimator.

    Raises
    ------
    ParameterError
        If a column is missing, not numeric or has missing values, the treatment is not 0/1, the
        propensity is outside [0.02, 0.98], or an arm has fewer than ``2 * folds`` rows.
    """
    covariates = list(covariates)
    y, t, x = _check_inputs(frame, outcome, treatment, covariates, cluster)
    n = len(frame)
    for arm, label in ((1.0, "treated"), (0.0, "control")):
        if (t == arm).sum() < 2 * folds:
            raise ParameterError(
                f"only {int((t == arm).sum())} {label} row(s): cross-fitting with {folds} folds needs at least "
                f"{2 * folds} per arm. Use fewer folds or a larger experiment."
            )
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    e_known = _propensity(frame, propensity, n)
    outcome_model = outcome_model if outcome_model is not None else default_outcome_model(binary)
    effect_model = effect_model if effect_model is not None else default_effect_model()
    clusters = frame[cluster].to_numpy() if cluster is not None else np.arange(n)
    balance = pd.Series(t).astype(str).to_numpy()
    if strata is not None:
        require_columns(frame, {"strata": strata}, "the experiment table")
        balance = balance + "|" + frame[strata].astype(str).to_numpy()
    fold = cluster_folds(clusters, folds, seed, strata=balance)
    mu0, mu1, e, cate = (np.empty(n) for _ in range(4))
    for k in range(folds):
        test, train = fold == k, fold != k
        mu0[test], mu1[test], e[test] = _nuisance(x, y, t, e_known, train, test, outcome_model, binary)
        # pseudo-outcomes of the training folds, cross-fitted among them (two inner folds)
        inner = np.full(n, -1)
        inner[train] = cluster_folds(clusters[train], 2, seed + 1000 + k, strata=balance[train])
        phi = np.empty(n)
        for j in (0, 1):
            part = inner == j
            m0, m1, ej = _nuisance(x, y, t, e_known, train & ~part, part, outcome_model, binary)
            g0, g1 = _scores(y[part], t[part], m0, m1, ej)
            phi[part] = g1 - g0
        cate[test] = clone(effect_model).fit(x[train], phi[train]).predict(x[test])
    # Each fold's effect model learned its level from the other folds' outcomes, so a fold whose own
    # effect is high gets a low level: shift every fold to the common mean (predictions only, no outcome).
    fold_mean = pd.Series(cate).groupby(fold).transform("mean").to_numpy()
    cate = cate - fold_mean + cate.mean()
    gamma0, gamma1 = _scores(y, t, mu0, mu1, e)
    out = pd.DataFrame(
        {
            "outcome": y,
            "treated": t,
            "propensity": e,
            "mu0": mu0,
            "mu1": mu1,
            "gamma0": gamma0,
            "gamma1": gamma1,
            "score": gamma1 - gamma0,
            "cate": cate,
            "fold": fold,
            "cluster": clusters,
        },
        index=frame.index,
    )
    known = "known propensity" if e_known is not None else "estimated propensity"
    out.attrs["method"] = f"cross-fitted DR-learner ({folds} folds, {known})"
    return out
