"""Churn risk model: metrics against sklearn, time split and purge, leakage, scoring and contributions."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from insights.analyses.risk import figures as risk_figures
from insights.analyses.risk import model as risk
from insights.analyses.segments import rules as segments
from insights.data.loading import load_tables
from insights.demo import DemoSpec, write_demo
from insights.errors import ParameterError
from insights.metrics import snapshots
from insights.stats.rates import TOTAL

QUARTER = "2026Q3"
SEED = 7


def _snap(folder):
    tables = load_tables(folder)
    snap = snapshots.build(tables)
    return pd.concat([snap, segments.rule_segments(snap, tables.accounts)], axis=1), tables


@pytest.fixture(scope="module")
def small(demo_dir):
    return _snap(demo_dir)


@pytest.fixture(scope="module")
def snap(small):
    return small[0]


@pytest.fixture(scope="module")
def split(snap):
    return risk.choose_split(snap, QUARTER)


@pytest.fixture(scope="module")
def ev(snap, split):
    return risk.evaluate(snap, split, n_boot=200, seed=SEED)


@pytest.fixture(scope="module")
def ranked(snap, small):
    as_of = snap["obs_date"].max()
    models = risk.fit_current(snap, as_of, seed=SEED)
    names = small[1].accounts.set_index("account_id")["name"]
    return models, risk.score_accounts(models, snap, as_of, names=names)


# ------------------------------------------------------------------------------ metrics


def test_held_out_tables_speak_of_churn_and_accounts(ev):
    """The generic metrics (insights.stats.classification) come back in this module's words and equal sklearn."""
    assert list(ev.comparison.columns) == [
        "calibration",
        "C",
        "n",
        "churned",
        "accounts",
        "auc",
        "auc_low",
        "auc_high",
        "auc_method",
        "auc_delong_low",
        "auc_delong_high",
        "auc_delong_method",
        "pr_auc",
        "base_rate",
        "brier",
        "top_decile_lift",
        "brier_uncalibrated",
    ]
    pred = ev.predictions
    row = ev.comparison.loc["logistic"]
    assert row["pr_auc"] == pytest.approx(average_precision_score(pred["churned"], pred["p_logistic"]), abs=1e-12)
    assert row["accounts"] == pred["account_id"].nunique() and row["churned"] == pred["churned"].sum()
    assert row["auc_method"].startswith("bootstrap by account (200 resamples")
    assert {"churned", "churn_rate", "cum_share_churned"} <= set(ev.lift["logistic"].columns)
    assert "churned" in ev.calibration["logistic"].columns
    assert list(ev.auc_difference.columns) == ["auc", "low", "high", "n", "churned", "accounts", "method"]


def test_evaluate_takes_a_feature_list(snap, split):
    features = ["utilisation", "satisfaction", "tenure_years"]
    ev = risk.evaluate(snap, split, Cs=(1.0,), n_boot=100, seed=SEED, features=features)
    logistic = ev.models["logistic"]
    assert logistic.features == tuple(features)
    rows = snap[snap["obs_date"] == split.test_dates[0]]
    assert list(risk.contributions(logistic, rows).columns) == features  # no segment, no other metric
    assert ev.comparison.loc["logistic", "auc"] == pytest.approx(
        roc_auc_score(ev.predictions["churned"], ev.predictions["p_logistic"]), abs=1e-12
    )
    imp = risk.permutation_importance(ev, snap, n_repeats=2, n_boot=100)
    assert set(imp.index) == set(features)
    with pytest.raises(ParameterError, match="not numeric"):
        risk.evaluate(snap.assign(plan_text="x"), split, Cs=(1.0,), n_boot=100, features=["utilisation", "plan_text"])
    with pytest.raises(ParameterError, match="identifiers"):
        risk.evaluate(snap, split, features=["utilisation", "account_id"])


def test_calibrators_are_monotone_probabilities():
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 500)
    y = (rng.uniform(0, 1, 500) < p**2).astype(int)
    grid = np.linspace(0, 1, 21)
    for method in risk.CALIBRATIONS:
        out = risk.Calibrator(method).fit(p, y).predict(grid)
        assert ((out >= 0) & (out <= 1)).all() and (np.diff(out) >= -1e-12).all()
    with pytest.raises(ParameterError, match="calibration method"):
        risk.Calibrator("beta").fit(p, y)


def test_no_calibration_is_the_identity_and_must_be_fitted_first():
    p = np.array([0.0, 0.02, 0.5, 0.97, 1.0])
    with pytest.raises(ParameterError, match="not fitted"):
        risk.Calibrator("none").predict(p)
    out = risk.Calibrator("none").fit(p, [0, 0, 1, 1, 1]).predict(p)
    np.testing.assert_array_equal(out, p)
    assert out is not p


def test_calibration_is_chosen_by_validation_brier_with_none_among_the_candidates(ev):
    for m in ev.models.values():
        choice = m.calibration_choice
        assert list(choice.index) == list(risk.CALIBRATIONS) and "none" in choice.index
        assert m.calibration == choice["brier_validation"].idxmin() and choice.loc[m.calibration, "chosen"]
        assert choice["chosen"].sum() == 1


# ------------------------------------------------------------------------------ split and leakage


def test_split_is_time_based_and_purged(snap, split, ev):
    assert split.train_until < split.test_dates[0] and "Test on the latest 2 quarter ends" in split.reason
    share = risk.settled_share(snap)
    assert (share.loc[split.test_dates, "settled_share"] >= 0.5).all()
    first = split.test_dates[0]
    train = snap.merge(ev.train_keys, on=["account_id", "obs_date"])
    assert len(train) == ev.n_train
    assert (train["obs_date"] <= split.train_until).all() and (train["renewal_date"] < first).all()
    assert train["churned"].notna().all()
    on_train = snap[(snap["obs_date"] <= split.train_until) & snap["churned"].notna()]
    assert ev.n_train + ev.n_purged == len(on_train) and ev.n_purged > 0
    # the held-out rows are exactly the labelled test-date rows, none of them a training row
    pred = ev.predictions
    keys = set(zip(pred["account_id"], pred["obs_date"]))
    assert not keys & set(zip(ev.train_keys["account_id"], ev.train_keys["obs_date"]))
    assert pred["obs_date"].isin(split.test_dates).all() and (pred["obs_date"] > split.train_until).all()
    test_rows = snap[snap["obs_date"].isin(split.test_dates) & snap["churned"].notna()]
    assert len(pred) == len(test_rows)
    for name in risk.MODELS:
        row = ev.comparison.loc[name]
        assert row["auc"] == pytest.approx(roc_auc_score(pred["churned"], pred[f"p_{name}"]), abs=1e-12)
        assert row["brier"] == pytest.approx(brier_score_loss(pred["churned"], pred[f"p_{name}"]), abs=1e-12)
        assert row["n"] == len(test_rows) and row["calibration"] in risk.CALIBRATIONS
        choice = ev.models[name].calibration_choice
        assert choice.loc[row["calibration"], "chosen"] and choice["validation_date"].iloc[0] == split.train_until
    cv = ev.models["logistic"].cv
    assert cv["chosen"].sum() == 1 and set(cv.columns) - {"mean_log_loss", "chosen"} <= {
        f"{d:%Y-%m-%d}" for d in snap["obs_date"].unique() if d <= split.train_until
    }


def test_labels_decided_after_the_first_test_date_do_not_change_the_model(snap, split, ev):
    """Flip every label decided on or after the first test date (all test rows and the purged ones)."""
    changed = snap.copy()
    late = changed["churned"].notna() & (changed["renewal_date"] >= split.test_dates[0])
    assert late.sum() > 100
    changed.loc[late, "churned"] = 1.0 - changed.loc[late, "churned"]
    other = risk.evaluate(changed, split, n_boot=200, seed=SEED)
    a, b = ev.models["logistic"], other.models["logistic"]
    assert a.C == b.C and a.calibration == b.calibration
    np.testing.assert_array_equal(a.pipeline[-1].coef_, b.pipeline[-1].coef_)
    for name in risk.MODELS:
        np.testing.assert_array_equal(ev.predictions[f"p_{name}"], other.predictions[f"p_{name}"])
    assert not np.allclose(ev.comparison["auc"], other.comparison["auc"])  # the measured AUC did change


def test_split_errors(snap):
    with pytest.raises(ParameterError, match="at least three"):
        risk.choose_split(snap, "2025Q3")
    with pytest.raises(ParameterError, match="settled labels"):
        risk.choose_split(snap, QUARTER, min_settled=1.0, n_test=20)
    with pytest.raises(ParameterError, match="after train_until"):
        risk.evaluate(snap, risk.Split(pd.Timestamp("2025-06-30"), [pd.Timestamp("2025-06-30")]))
    with pytest.raises(ParameterError, match="segment"):
        risk.evaluate(snap.drop(columns="segment"), risk.choose_split(snap, QUARTER))


@pytest.mark.slow
def test_default_demo_held_out_auc(tmp_path):
    """Default-size demo (2,000 accounts): the logistic model separates churners on later quarters."""
    write_demo(tmp_path, DemoSpec())
    snap, _ = _snap(tmp_path)
    ev = risk.evaluate(snap, risk.choose_split(snap, QUARTER), n_boot=300, seed=SEED)
    print(
        "\n"
        + ev.comparison[
            ["calibration", "auc", "auc_low", "auc_high", "pr_auc", "base_rate", "brier", "top_decile_lift"]
        ].to_string()
    )
    assert ev.comparison.loc["logistic", "auc"] > 0.65
    assert ev.comparison.loc["logistic", "auc_low"] > 0.6
    assert ev.comparison.loc["gbm", "auc"] > 0.6
    assert (ev.comparison["top_decile_lift"] > 1.5).all()


# ------------------------------------------------------------------------------ scoring


def test_every_account_under_contract_is_scored(snap, ranked):
    _, rl = ranked
    current = snap[snap["obs_date"] == snap["obs_date"].max()]
    assert sorted(rl["account_id"]) == sorted(current["account_id"]) and current["churned"].isna().all()
    assert (np.diff(rl["expected_arr_at_risk"]) <= 0).all()  # most expected ARR at risk first
    assert rl["p_churn"].between(0, 1).all() and rl["name"].notna().all()
    np.testing.assert_allclose(rl["expected_arr_at_risk"], rl["p_churn"] * rl["arr"])
    assert rl.index.isin(current.index).all()  # snapshot index kept: aligns with contributions


def test_contributions_add_up_to_the_log_odds(snap, ranked):
    models, rl = ranked
    logistic = models["logistic"]
    rows = snap.loc[rl.index]
    contrib = risk.contributions(logistic, rows)
    raw = logistic.predict_raw(rows)
    intercept = logistic.pipeline[-1].intercept_[0]
    np.testing.assert_allclose(contrib.sum(axis=1), logit(raw) - intercept, atol=1e-8)
    assert set(contrib.columns) == {*risk.RISK_FEATURES, "segment"}
    with pytest.raises(ParameterError, match="logistic model only"):
        risk.contributions(models["gbm"], rows)


def test_expected_arr_at_risk_sums_per_segment(ranked):
    _, rl = ranked
    summary = risk.arr_at_risk(rl, order=["SMB", "Mid-Market", "Enterprise"])
    seg = summary.drop(index=TOTAL)
    for name, g in rl.groupby("segment"):
        assert seg.loc[name, "expected_arr_at_risk"] == pytest.approx((g["p_churn"] * g["arr"]).sum())
        assert seg.loc[name, "accounts"] == len(g)
    assert summary.loc[TOTAL, "expected_arr_at_risk"] == pytest.approx(seg["expected_arr_at_risk"].sum())
    assert summary.loc[TOTAL, "arr"] == pytest.approx(rl["arr"].sum())
    assert summary.loc[TOTAL, "accounts"] == len(rl)


def test_figures(ranked, ev):
    _, rl = ranked
    for fig in (
        risk_figures.calibration_plot(ev.calibration, ev.comparison),
        risk_figures.lift_chart(ev.lift),
        risk_figures.arr_at_risk_bars(risk.arr_at_risk(rl)),
    ):
        assert fig.axes
        plt.close(fig)


def test_permutation_importance_on_the_held_out_period(snap, ev):
    imp = risk.permutation_importance(
        ev, snap, metrics=["cancellation_requested", "seats"], n_repeats=5, n_boot=100, seed=1
    )
    assert list(imp.columns) == ["importance", "low", "high", "method"]
    assert "held-out" in imp["method"].iloc[0] and "bootstrap by account" in imp["method"].iloc[0]
    assert (imp["low"] <= imp["high"]).all()
    # a by-hand check of the point estimate for one metric and one permutation
    one = risk.permutation_importance(ev, snap, metrics=["seats"], n_repeats=1, n_boot=100, seed=3)
    test = snap[snap["obs_date"].isin(ev.split.test_dates) & snap["churned"].notna()].reset_index(drop=True)
    shuffled = test.copy()
    shuffled["seats"] = test["seats"].to_numpy()[np.random.default_rng(3).permutation(len(test))]
    from sklearn.metrics import roc_auc_score

    m = ev.models["logistic"]
    expected = roc_auc_score(test["churned"], m.predict_raw(test)) - roc_auc_score(
        test["churned"], m.predict_raw(shuffled)
    )
    assert one.loc["seats", "importance"] == pytest.approx(expected)
    with pytest.raises(ParameterError):
        risk.permutation_importance(ev, snap, metrics=["not_a_metric"])


def _importance_by_pipeline(evaluation, snap, model, metrics, n_repeats, n_boot, seed):
    """The permutation importance as first written: every permutation through the whole pipeline."""
    from insights.stats.bootstrap import cluster_bootstrap_counts
    from insights.stats.classification import weighted_auc

    fitted = evaluation.models[model]
    test = snap[snap["obs_date"].isin(evaluation.split.test_dates) & snap["churned"].notna()].reset_index(drop=True)
    y = test["churned"].to_numpy(dtype=float)
    base = fitted.predict_raw(test)
    rng = np.random.default_rng(seed)
    weights = cluster_bootstrap_counts(test["account_id"], n_boot, seed)
    base_reps = np.array([weighted_auc(y, base, w) for w in weights])
    rows = {}
    for metric in metrics:
        perms = []
        for _ in range(n_repeats):
            shuffled = test.copy()
            shuffled[metric] = test[metric].to_numpy()[rng.permutation(len(test))]
            perms.append(fitted.predict_raw(shuffled))
        point = roc_auc_score(y, base) - np.mean([roc_auc_score(y, p) for p in perms])
        drops = base_reps - np.array([weighted_auc(y, perms[b % n_repeats], w) for b, w in enumerate(weights)])
        rows[metric] = (point, *np.quantile(drops, [(1 - 0.95) / 2, (1 + 0.95) / 2]))
    return rows


@pytest.mark.parametrize("model", ["logistic", "gbm"])
def test_permutation_importance_equals_shuffling_rows_through_the_pipeline(snap, ev, model):
    metrics = ["utilisation", "depth", "arr"]  # depth and arr enter as log1p, depth has missing values
    got = risk.permutation_importance(ev, snap, model=model, metrics=metrics, n_repeats=3, n_boot=100, seed=2)
    expected = _importance_by_pipeline(ev, snap, model, metrics, 3, 100, 2)
    for metric in metrics:
        assert tuple(got.loc[metric, ["importance", "low", "high"]]) == expected[metric]  # exactly


def test_cv_grid_predictions_equal_one_pipeline_per_c(snap, split):
    train = snap[(snap["obs_date"] <= split.train_until) & snap["churned"].notna()]
    dates = sorted(train["obs_date"].unique())
    fit, val = train[train["obs_date"] < dates[-1]], train[train["obs_date"] == dates[-1]]
    cs = [0.01, 0.3, 3.0]
    got = risk._grid_predictions("logistic", fit, val, cs, SEED, risk.DEFAULT_FEATURES)
    for c in cs:
        pipeline = risk._fit_raw("logistic", fit, c, SEED, risk.DEFAULT_FEATURES)
        np.testing.assert_array_equal(got[c], risk._predict_raw(pipeline, val, risk.DEFAULT_FEATURES))
    gbm = risk._grid_predictions("gbm", fit, val, [float("nan")], SEED, risk.DEFAULT_FEATURES)
    pipeline = risk._fit_raw("gbm", fit, float("nan"), SEED, risk.DEFAULT_FEATURES)
    np.testing.assert_array_equal(next(iter(gbm.values())), risk._predict_raw(pipeline, val, risk.DEFAULT_FEATURES))
