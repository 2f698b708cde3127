"""Evaluate a binary classifier on any table: stratified K-fold cross-validation or a purged time split.

``evaluate_classifier`` fits a scikit-learn classifier (default: standardisation and an
L2-regularised logistic regression in one pipeline, so the scaling is learnt inside each
training fold) on any list of numeric feature columns and measures its held-out probabilities:
ROC AUC with a DeLong interval (or a cluster bootstrap when a cluster column such as an account
id is given), PR AUC, Brier score, top-decile lift, a calibration table and a lift table, each
with its method named (``insights.stats.classification``).

Two designs:

* **cross-validation** (no ``time``): stratified K-fold, shuffled with ``seed``; grouped by the
  cluster column when one is given (``StratifiedGroupKFold``), so no cluster is in both the
  training and the test fold. Metrics pool the out-of-fold predictions; ``folds`` has the AUC of
  each fold.
* **time split** (``time`` and ``cutoff``): train on rows observed before the cut-off whose label
  is known before it (plus a purge gap), test on the rows from the cut-off on
  (``insights.stats.splits.purged_time_split``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from insights.errors import ParameterError
from insights.stats.classification import calibration_table, held_out_metrics, lift_table
from insights.stats.splits import purged_time_split
from insights.stats.table_checks import binary_values, numeric_values, require_columns


def default_classifier(C: float = 1.0) -> Pipeline:
    """Standardisation then L2-regularised logistic regression, as one scikit-learn pipeline.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of ``sklearn.linear_model.LogisticRegression``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``StandardScaler`` -> ``LogisticRegression(C=C, max_iter=5000)`` (unfitted).
    """
    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(C=C, max_iter=5000))])


@dataclass
class ClassifierEvaluation:
    """Held-out performance of a classifier (``evaluate_classifier``).

    Attributes
    ----------
    metrics : pandas.DataFrame
        Index metric (roc_auc, [roc_auc_delong with a cluster column,] pr_auc, brier,
        top_decile_lift, base_rate): estimate, low, high (NaN when there is no interval), method.
    folds : pandas.DataFrame
        One row per fold (one for a time split): fold, train_rows, test_rows, test_events, auc.
    predictions : pandas.DataFrame
        The evaluated rows (the table's index): the target, ``p`` (held-out predicted
        probability) and ``fold``.
    calibration : pandas.DataFrame
        ``insights.stats.classification.calibration_table`` of the held-out predictions.
    lift : pandas.DataFrame
        ``insights.stats.classification.lift_table`` of the held-out predictions.
    design : str
        How the rows were split and the model fitted, in one sentence.
    n, events : int
        Evaluated rows and how many had the event.
    """

    metrics: pd.DataFrame
    folds: pd.DataFrame
    predictions: pd.DataFrame
    calibration: pd.DataFrame
    lift: pd.DataFrame
    design: str
    n: int
    events: int


def _check_model(model):
    if model is None:
        return default_classifier()
    if not (hasattr(model, "fit") and hasattr(model, "predict_proba")):
        raise ParameterError(
            f"model must be a scikit-learn classifier with fit and predict_proba, got {type(model).__name__}."
        )
    return model


def _fit_predict(model, X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, where: str) -> np.ndarray:
    if np.unique(y[train]).size < 2:
        raise ParameterError(
            f"the training rows of {where} ({len(train)} rows) do not hold both classes; the model "
            "cannot learn from them: use fewer folds, another cut-off or more data."
        )
    fitted = clone(model).fit(X[train], y[train])
    return fitted.predict_proba(X[test])[:, 1]


def _metrics_table(
    y: np.ndarray, p: np.ndarray, clusters, cluster: Hashable | None, level: float, n_boot: int, seed: int
) -> pd.DataFrame:
    m = held_out_metrics(y, p, clusters, level, n_boot, seed, cluster_name=str(cluster))
    rows = [("roc_auc", m["auc"], m["auc_low"], m["auc_high"], m["auc_method"])]
    if cluster is not None:
        rows.append(
            (
                "roc_auc_delong",
                m["auc"],
                m["auc_delong_low"],
                m["auc_delong_high"],
                f"{m['auc_delong_method']} (rows taken as independent)",
            )
        )
    rows += [
        ("pr_auc", m["pr_auc"], np.nan, np.nan, "average precision (sklearn average_precision_score)"),
        ("brier", m["brier"], np.nan, np.nan, "Brier score: mean squared error of the predicted probability"),
        (
            "top_decile_lift",
            m["top_decile_lift"],
            np.nan,
            np.nan,
            "event rate of the 10% highest-scored rows / overall event rate",
        ),
        ("base_rate", m["base_rate"], np.nan, np.nan, "share of evaluated rows with the event"),
    ]
    return pd.DataFrame(rows, columns=["metric", "estimate", "low", "high", "method"]).set_index("metric")


def evaluate_classifier(
    frame: pd.DataFrame,
    features: Sequence[Hashable],
    target: Hashable,
    model=None,
    *,
    folds: int = 5,
    time: Hashable | None = None,
    cutoff=None,
    purge=0,
    label_time: Hashable | None = None,
    cluster: Hashable | None = None,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    n_bins: int = 10,
) -> ClassifierEvaluation:
    """Held-out ROC AUC (with CI), PR AUC, Brier score, calibration and lift of a classifier on any features.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per observation.
    features : sequence of hashable
        Numeric feature columns (encode categories first, e.g. ``pd.get_dummies``).
    target : hashable
        0/1 outcome column (1 = the event), with both classes.
    model : scikit-learn classifier, optional
        Any estimator with ``fit`` and ``predict_proba`` (cloned for every fit). Default
        ``default_classifier()``. Missing feature values are refused for the default model and
        passed through to a model given here.
    folds : int
        Number of cross-validation folds (ignored for a time split).
    time : hashable, optional
        Observation-time column (dates or numbers): evaluate by a time split at ``cutoff``.
    cutoff : date-like or number, optional
        Start of the test period (needs ``time``).
    purge : timedelta-like or number
        Purge gap of the time split (``insights.stats.splits.purged_time_split``).
    label_time : hashable, optional
        Column with the time each label is decided (time split; default ``time``).
    cluster : hashable, optional
        Cluster column (e.g. an account id): the AUC interval becomes a cluster bootstrap and
        cross-validation folds keep each cluster on one side.
    level : float
        Confidence level.
    n_boot : int
        Cluster-bootstrap resamples (with ``cluster``; at least 100).
    seed : int
        Seed of the fold shuffling and of the bootstrap.
    n_bins : int
        Bins of the calibration table and groups of the lift table.

    Returns
    -------
    ClassifierEvaluation

    Raises
    ------
    ParameterError
        If a column is missing, a feature is not numeric (or has missing values with the
        default model), the target is not 0/1 or holds one class, the cluster column has
        missing values, ``folds`` < 2 or above the size of the smaller class (or the number of
        clusters), ``cutoff``/``purge``/``label_time`` come without ``time`` (or ``time``
        without ``cutoff``), a training or test side lacks a class, or ``model`` has no
        ``predict_proba``.
    """
    features = list(features) if not isinstance(features, str) else [features]
    if not features:
        raise ParameterError("give at least one feature column.")
    if target in features:
        raise ParameterError(f"the target {target!r} is also listed as a feature: leave it out of features.")
    require_columns(frame, [*features, target, time, label_time, cluster], "the table")
    X = numeric_values(frame, features, allow_missing=model is not None)
    model = _check_model(model)
    y = binary_values(frame, target)
    clusters = None
    if cluster is not None:
        if frame[cluster].isna().any():
            raise ParameterError(
                f"cluster column {cluster!r} has {int(frame[cluster].isna().sum())} missing "
                "value(s): give every row a cluster or drop those rows."
            )
        clusters = frame[cluster].to_numpy()
    p = np.full(len(frame), np.nan)
    fold = np.zeros(len(frame), dtype=int)
    recs = []
    if time is None:
        if cutoff is not None or label_time is not None or (purge is not None and purge != 0):
            raise ParameterError("cutoff, purge and label_time describe a time split: pass time= as well.")
        k = int(folds)
        smaller = int(min(y.sum(), len(y) - y.sum()))
        groups = pd.factorize(pd.Series(clusters))[0] if clusters is not None else None
        limit = min(smaller, int(groups.max()) + 1) if groups is not None else smaller
        if k < 2 or k > limit:
            raise ParameterError(
                f"folds must be between 2 and {limit} (the rows of the smaller class"
                f"{' or the clusters' if groups is not None else ''}), got {folds}."
            )
        splitter = (
            StratifiedGroupKFold(k, shuffle=True, random_state=seed)
            if groups is not None
            else StratifiedKFold(k, shuffle=True, random_state=seed)
        )
        for i, (train, test) in enumerate(splitter.split(X, y, groups), 1):
            p[test] = _fit_predict(model, X, y, train, test, f"fold {i}")
            fold[test] = i
            recs.append((i, len(train), len(test), int(y[test].sum())))
        design = (
            f"stratified {k}-fold cross-validation (shuffled, seed {seed}"
            + (f", grouped by {cluster}" if cluster is not None else "")
            + "); the model "
            f"({_describe(model)}) is refitted on each training fold, preprocessing included, and "
            "the metrics pool the out-of-fold predictions"
        )
    else:
        if cutoff is None:
            raise ParameterError("a time split needs cutoff= (the start of the test period).")
        split = purged_time_split(frame, time, cutoff, purge, label_time)
        train, test = np.flatnonzero(split.train), np.flatnonzero(split.test)
        if np.unique(y[test]).size < 2:
            raise ParameterError(
                f"the test rows (observed from {cutoff}) hold {len(test)} row(s) without both "
                "classes: move the cut-off earlier."
            )
        p[test] = _fit_predict(model, X, y, train, test, f"the time split at {cutoff}")
        fold[test] = 1
        recs.append((1, len(train), len(test), int(y[test].sum())))
        design = (
            f"time split: {split.method} ({int(split.purged.sum())} row(s) purged); the model "
            f"({_describe(model)}) is fitted once on the training rows, preprocessing included"
        )
    done = fold > 0
    table = pd.DataFrame(recs, columns=["fold", "train_rows", "test_rows", "test_events"])
    table["auc"] = [
        roc_auc_score(y[fold == f], p[fold == f]) if np.unique(y[fold == f]).size == 2 else np.nan
        for f in table["fold"]
    ]
    yd, pd_ = y[done], p[done]
    predictions = pd.DataFrame({target: yd.astype(int), "p": pd_, "fold": fold[done]}, index=frame.index[done])
    return ClassifierEvaluation(
        metrics=_metrics_table(yd, pd_, None if clusters is None else clusters[done], cluster, level, n_boot, seed),
        folds=table,
        predictions=predictions,
        calibration=calibration_table(yd, pd_, n_bins, level),
        lift=lift_table(yd, pd_, n_bins),
        design=design,
        n=int(done.sum()),
        events=int(yd.sum()),
    )


def _describe(model) -> str:
    if isinstance(model, Pipeline):
        return " -> ".join(type(s).__name__ for _, s in model.steps)
    return type(model).__name__
