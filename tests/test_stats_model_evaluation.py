"""Classifier evaluation on any table (insights.stats.model_evaluation) against sklearn's own cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from insights.errors import ParameterError
from insights.stats.model_evaluation import default_classifier, evaluate_classifier


def _table(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n) * 10 + 50
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.2 * x1 + 0.05 * (x2 - 50))))).astype(int)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "y": y,
            "account": np.arange(n) // 3,
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) // 4, unit="D"),
        }
    )


def test_cross_validation_equals_sklearn_cross_val_predict():
    t = _table()
    ev = evaluate_classifier(t, ["x1", "x2"], "y", folds=4, seed=3)
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    p = cross_val_predict(default_classifier(), t[["x1", "x2"]].to_numpy(), t["y"], cv=cv, method="predict_proba")[:, 1]
    np.testing.assert_allclose(ev.predictions["p"], p, atol=1e-12)
    m = ev.metrics["estimate"]
    assert m["roc_auc"] == pytest.approx(roc_auc_score(t["y"], p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(t["y"], p), abs=1e-12)
    assert m["brier"] == pytest.approx(brier_score_loss(t["y"], p), abs=1e-12)
    assert ev.metrics.loc["roc_auc", "method"] == "DeLong 95% CI"
    assert ev.metrics.loc["roc_auc", "low"] < m["roc_auc"] < ev.metrics.loc["roc_auc", "high"]
    assert ev.folds["test_rows"].sum() == len(t) and len(ev.folds) == 4 and ev.n == len(t)
    assert ev.calibration["rows"].sum() == len(t) and ev.lift["events"].sum() == t["y"].sum()
    assert ev.metrics["method"].notna().all() and "stratified 4-fold" in ev.design


def test_cross_validation_grouped_by_cluster_with_cluster_bootstrap():
    t = _table()
    ev = evaluate_classifier(t, ["x1", "x2"], "y", cluster="account", n_boot=200)
    folds_per_account = ev.predictions.join(t["account"]).groupby("account")["fold"].nunique()
    assert (folds_per_account == 1).all()  # no account on both sides of a fold
    assert ev.metrics.loc["roc_auc", "method"] == "bootstrap by account (200 resamples, percentile) 95% CI"
    assert ev.metrics.loc["roc_auc_delong", "method"].startswith("DeLong 95% CI")
    assert "grouped by account" in ev.design


def test_time_split_fits_on_purged_rows_before_the_cutoff():
    t = _table()
    ev = evaluate_classifier(t, ["x1", "x2"], "y", time="day", cutoff="2024-02-10", purge="3D", level=0.9)
    train = t["day"] + pd.Timedelta(days=3) < pd.Timestamp("2024-02-10")
    test = t["day"] >= pd.Timestamp("2024-02-10")
    model = default_classifier().fit(t.loc[train, ["x1", "x2"]], t.loc[train, "y"])
    np.testing.assert_allclose(ev.predictions["p"], model.predict_proba(t.loc[test, ["x1", "x2"]])[:, 1], atol=1e-12)
    assert list(ev.predictions.index) == list(t.index[test])
    assert ev.folds.loc[0, "train_rows"] == train.sum() and "(12 row(s) purged)" in ev.design
    assert ev.metrics.loc["roc_auc", "method"] == "DeLong 90% CI"


def test_any_classifier_and_missing_values_it_handles():
    t = _table()
    t.loc[::7, "x2"] = np.nan
    with pytest.raises(ParameterError, match=r"missing or infinite values in \{'x2': 35\}"):
        evaluate_classifier(t, ["x1", "x2"], "y")
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)  # sklearn trees route missing values
    ev = evaluate_classifier(t, ["x1", "x2"], "y", tree, folds=3)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    p = cross_val_predict(tree, t[["x1", "x2"]], t["y"], cv=cv, method="predict_proba")[:, 1]
    np.testing.assert_allclose(ev.predictions["p"], p)
    assert "DecisionTreeClassifier" in ev.design


@pytest.mark.parametrize(
    "change, kwargs, message",
    [
        (None, {"features": ["x1", "nope"]}, r"no column\(s\) \['nope'\]"),
        (lambda t: t.assign(x2="a"), {}, r"\['x2'\] are not numeric"),
        (lambda t: t.assign(y=t["y"] * 2), {}, "must be 0/1"),
        (lambda t: t.assign(y=1), {}, "single class"),
        (None, {"features": ["x1", "y"]}, "also listed as a feature"),
        (None, {"folds": 1}, "folds must be between 2"),
        (None, {"cutoff": "2024-02-01"}, "pass time= as well"),
        (None, {"time": "day"}, "needs cutoff="),
        (None, {"time": "day", "cutoff": "2024-03-01"}, "move the cut-off earlier"),
        (None, {"time": "day", "cutoff": "2024-01-01"}, "training rows of the time split"),
        (None, {"model": LinearSVC()}, "predict_proba"),
        (
            lambda t: t.assign(account=np.where(t.index == 0, np.nan, t["account"])),
            {"cluster": "account"},
            "missing value",
        ),
    ],
)
def test_evaluation_errors(change, kwargs, message):
    t = _table(60) if change is None else change(_table(60))
    args = {"features": ["x1", "x2"], **kwargs}
    with pytest.raises(ParameterError, match=message):
        evaluate_classifier(t, args.pop("features"), "y", **args)
