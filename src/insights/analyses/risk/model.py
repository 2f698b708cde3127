"""Churn risk model: probability of churn at the next renewal, validated on later quarters.

Two models are fitted to the leakage-safe snapshots (``insights.metrics.snapshots``) and compared on
held-out observation dates that come *after* every training date:

* ``logistic``: L2-regularised logistic regression on standardised metrics, C chosen by
  expanding-window time-series cross-validation on the training dates only;
* ``gbm``: ``sklearn.ensemble.HistGradientBoostingClassifier`` with modest fixed settings
  (``GBM_PARAMS``).

Features (``DEFAULT_FEATURES``) are every snapshot metric of ``insights.metrics.snapshots.FEATURES``
(``RISK_FEATURES``), i.e. everything known at the observation date except identifiers (account_id,
contract_id) and dates (obs_date, renewal_date), plus the contract-value ``segment`` one-hot
encoded; ``evaluate``, ``fit_models`` and ``fit_current`` take any other list. The skewed metrics
``LOG_FEATURES`` enter as ``log1p``. Missing values are imputed with the training median plus a
missing-indicator column. Every preprocessing step is a scikit-learn ``Pipeline`` /
``ColumnTransformer`` fitted on the training fold only.

Validation is time-based only, never a random split, and purged: a training row is used only if
its renewal (the date its label is decided) falls before the first test observation date
(``renewal_date + purge_days < first test date``; ``purge_days`` defaults to 0, the renewal date
itself). Cross-validation folds and the calibration slice are purged the same way at their own
boundary (one rule for all three: ``insights.stats.splits``).

Calibration (``none``, Platt ``sigmoid`` or ``isotonic``) is fitted on out-of-time predictions:
for each training date after the first, a model fitted on the earlier purged training rows
predicts that date. The method is chosen by Brier score on the latest training date (the
validation slice), with calibrators fitted on the earlier out-of-time predictions (purged at the
slice); the chosen method is then refitted on all out-of-time predictions and applied to the
final model. ``none`` (the model's own probability) is a candidate because the out-of-time
predictions come from models fitted on fewer, earlier and nearer-to-renewal rows than the final
model: a map learnt on them can move the final model's probabilities the wrong way (on the demo
it raised the expected loss by about 9%, docs/forecast_backtest.md), and it is kept only where
it beats the uncalibrated probability on the validation slice.

Contributions (logistic model only): every design column is standardised on the training rows,
so an account's contribution of a metric is ``sum_j coef_j * z_j`` over the columns ``j`` of that
metric (its value and its missing indicator; for ``segment`` its one-hot columns), i.e. the
coefficient times the standardised distance from the training mean, on the log-odds scale. The
contributions of all metrics add up to the uncalibrated log-odds of the account minus the
log-odds of an account at the training mean (the intercept). Positive = pushes towards churn.

A risk score is an association learned from history, not a cause: it ranks accounts to look at,
it does not say what would change their outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from insights.analyses.risk import exposure
from insights.errors import ParameterError
from insights.metrics.periods import parse_quarter
from insights.metrics.snapshots import FEATURES
from insights.stats.bootstrap import cluster_bootstrap_draws
from insights.stats.classification import (
    auc_bootstrap,
    calibration_table,
    cluster_weighted_auc,
    held_out_metrics,
    lift_table,
)
from insights.stats.splits import TimeSplit, expanding_time_folds, purged_time_split
from insights.stats.table_checks import column_names, require_columns

#: Snapshot metrics used by the risk models (all ``FEATURES``: no identifier, no date).
RISK_FEATURES = tuple(FEATURES)
#: Skewed non-negative metrics entered as log1p.
LOG_FEATURES = ("arr", "seats", "depth", "price_per_active_user", "support_burden")
#: Categorical feature (one-hot encoded).
SEGMENT = "segment"
#: Default features of the risk models: every snapshot metric and the contract-value segment.
DEFAULT_FEATURES = (*RISK_FEATURES, SEGMENT)
#: The two models, in display order.
MODELS = ("logistic", "gbm")
#: Candidate inverse L2 strengths of the logistic model.
DEFAULT_CS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
#: Fixed, modest settings of the gradient-boosting model.
GBM_PARAMS = {
    "learning_rate": 0.05,
    "max_iter": 150,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
#: Calibration methods compared (``none``: the model's own probability; first wins a tie).
CALIBRATIONS = ("none", "sigmoid", "isotonic")
_EPS = 1e-6
#: Names of the generic classification metrics (``insights.stats.classification``) in this module's tables.
_CHURN_NAMES = {
    "events": "churned",
    "event_rate": "churn_rate",
    "cum_share_events": "cum_share_churned",
    "clusters": "accounts",
}


# ----------------------------------------------------------------------------- split


@dataclass(frozen=True)
class Split:
    """A time split: train on ``obs_date <= train_until``, test on ``test_dates`` (all later).

    Attributes
    ----------
    train_until : pandas.Timestamp
    test_dates : list of pandas.Timestamp
    purge_days : int
        Training rows need ``renewal_date + purge_days < test_dates[0]``.
    reason : str
        One sentence saying how the split was chosen.
    """

    train_until: pd.Timestamp
    test_dates: list
    purge_days: int = 0
    reason: str = ""


def settled_share(snap: pd.DataFrame) -> pd.DataFrame:
    """Rows, labelled rows and the settled share of each observation date.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots (obs_date, churned; churned is NaN while the label is not settled).

    Returns
    -------
    pandas.DataFrame
        Index obs_date; rows, labelled, churned, settled_share.

    Raises
    ------
    ParameterError
        If obs_date or churned is missing.
    """
    _need(snap, ["obs_date", "churned"])
    g = snap.groupby("obs_date")["churned"]
    out = pd.DataFrame({"rows": g.size(), "labelled": g.count(), "churned": g.sum()})
    out["settled_share"] = out["labelled"] / out["rows"]
    return out


def choose_split(
    snap: pd.DataFrame, quarter=None, n_test: int = 2, min_settled: float = 0.5, purge_days: int = 0
) -> Split:
    """Pick the test dates and the training cut-off for a quarter's risk model.

    Test dates: the latest ``n_test`` observation dates up to the end of ``quarter`` (default: the
    latest date in ``snap``) on which at least ``min_settled`` of the rows have a settled label.
    Training: every earlier observation date (``train_until`` = the date before the first test
    date); the purge then keeps only training rows renewing before the first test date.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots (``insights.metrics.snapshots.build``).
    quarter : str or Quarter, optional
    n_test : int
        Number of test dates (>= 1).
    min_settled : float
        Share of labelled rows a test date needs (0 < share <= 1).
    purge_days : int

    Returns
    -------
    Split

    Raises
    ------
    ParameterError
        If fewer than ``n_test`` dates are settled enough, or fewer than three training dates
        remain (cross-validation and calibration need them).
    """
    if int(n_test) < 1 or not 0 < float(min_settled) <= 1:
        raise ParameterError(
            f"need n_test >= 1 and 0 < min_settled <= 1, got n_test={n_test}, min_settled={min_settled}."
        )
    share = settled_share(snap)
    if quarter is not None:
        share = share[share.index <= parse_quarter(quarter).end]
    ok = share.index[share["settled_share"] >= min_settled]
    if len(ok) < n_test:
        raise ParameterError(
            f"only {len(ok)} observation date(s) have at least {min_settled:.0%} settled labels; "
            f"lower min_settled or n_test (asked for {n_test})."
        )
    tests = sorted(ok)[-int(n_test) :]
    earlier = sorted(d for d in share.index if d < tests[0])
    if len(earlier) < 3:
        raise ParameterError(
            f"only {len(earlier)} observation date(s) before the first test date "
            f"{tests[0]:%Y-%m-%d}; the risk model needs at least three (cross-validation and "
            "calibration): use a later quarter or fewer test dates."
        )
    reason = (
        f"Test on the latest {len(tests)} quarter ends with at least {min_settled:.0%} of labels settled "
        f"({', '.join(f'{d:%Y-%m-%d}' for d in tests)}); train on the {len(earlier)} earlier quarter ends "
        f"({earlier[0]:%Y-%m-%d} to {earlier[-1]:%Y-%m-%d}), keeping only rows whose renewal falls before "
        f"{tests[0]:%Y-%m-%d}" + (f" minus {purge_days} days" if purge_days else "") + "."
    )
    return Split(pd.Timestamp(earlier[-1]), [pd.Timestamp(d) for d in tests], int(purge_days), reason)


def _purged_split(snap: pd.DataFrame, train_until, before, purge_days: int = 0) -> TimeSplit:
    """Labelled rows observed by ``train_until`` whose renewal (+ ``purge_days``) falls before ``before``.

    ``insights.stats.splits.purged_time_split`` with the renewal date as the time the label is
    decided: its ``train`` mask holds the training rows, ``purged`` the labelled rows observed by
    ``train_until`` whose renewal comes too late.
    """
    _need(snap, ["obs_date", "churned", "renewal_date"])
    return purged_time_split(
        snap,
        "obs_date",
        before,
        pd.Timedelta(days=int(purge_days)),
        "renewal_date",
        train_until=train_until,
        label="churned",
    )


# ----------------------------------------------------------------------------- design


def _need(frame: pd.DataFrame, cols) -> None:
    hint = (
        "Build it with insights.metrics.snapshots.build; add the segment with "
        "pd.concat([snap, insights.analyses.segments.rules.rule_segments(snap, tables.accounts)], axis=1)."
        if SEGMENT in cols and SEGMENT not in frame.columns
        else "Build it with insights.metrics.snapshots.build."
    )
    require_columns(frame, list(cols), what="the snapshot table", fix=hint)


def _log1p(x):
    return np.log1p(np.clip(x, 0, None))


def _check_features(features) -> tuple:
    """The feature list as a tuple, refusing an empty list, duplicates and identifiers."""
    features = tuple(column_names(features, "features"))
    if not features:
        raise ParameterError(f"give at least one feature, e.g. features={list(DEFAULT_FEATURES[:3])}.")
    keys = [f for f in features if f in ("account_id", "contract_id", "obs_date", "renewal_date", "churned")]
    if keys:
        raise ParameterError(f"{keys} are identifiers, dates or the label, not features: leave them out.")
    return features


def _features(frame: pd.DataFrame, features=DEFAULT_FEATURES) -> pd.DataFrame:
    _need(frame, features)
    numeric = [f for f in features if f != SEGMENT]
    text = [f for f in numeric if not (pd.api.types.is_numeric_dtype(frame[f]) or pd.api.types.is_bool_dtype(frame[f]))]
    if text:
        raise ParameterError(
            f"features {text} are not numeric; only {SEGMENT!r} is one-hot encoded: encode the others as numbers first."
        )
    x = frame[numeric].astype(float)
    if SEGMENT in features:
        x[SEGMENT] = frame[SEGMENT].astype(object).where(frame[SEGMENT].notna(), "unknown").astype(str)
    return x


def _preprocessor(scale: bool, features=DEFAULT_FEATURES) -> ColumnTransformer:
    numbers = [f for f in features if f != SEGMENT]
    logged = [f for f in LOG_FEATURES if f in numbers]
    plain = [f for f in numbers if f not in LOG_FEATURES]

    def numeric(log: bool) -> Pipeline:
        steps = [("log", FunctionTransformer(_log1p, feature_names_out="one-to-one"))] if log else []
        steps.append(("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)))
        if scale:
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)

    seg_steps = [("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]
    if scale:
        seg_steps.append(("scale", StandardScaler()))
    parts = [
        ("log", numeric(True), logged),
        ("num", numeric(False), plain),
        ("seg", Pipeline(seg_steps), [SEGMENT] if SEGMENT in features else []),
    ]
    return ColumnTransformer([p for p in parts if p[2]], verbose_feature_names_out=False)


def _pipeline(name: str, C: float = 1.0, seed: int = 0, features=DEFAULT_FEATURES) -> Pipeline:
    if name == "logistic":
        return Pipeline([("prep", _preprocessor(True, features)), ("model", LogisticRegression(C=C, max_iter=5000))])
    return Pipeline(
        [
            ("prep", _preprocessor(False, features)),
            ("model", HistGradientBoostingClassifier(random_state=seed, **GBM_PARAMS)),
        ]
    )


def _metric_of(column: str) -> str:
    """Metric behind a design column (``missingindicator_depth`` -> depth, ``segment_SMB`` -> segment)."""
    if column.startswith("missingindicator_"):
        return column[len("missingindicator_") :]
    if column.startswith(f"{SEGMENT}_"):
        return SEGMENT
    return column


def _fit_raw(name: str, rows: pd.DataFrame, C: float, seed: int, features=DEFAULT_FEATURES) -> Pipeline:
    with threadpool_limits(limits=1):
        return _pipeline(name, C, seed, features).fit(_features(rows, features), rows["churned"].to_numpy(dtype=int))


def _predict_raw(model: Pipeline, rows: pd.DataFrame, features=DEFAULT_FEATURES) -> np.ndarray:
    with threadpool_limits(limits=1):
        return model.predict_proba(_features(rows, features))[:, 1]


def _design(model: Pipeline, rows: pd.DataFrame, features=DEFAULT_FEATURES) -> tuple[np.ndarray, list]:
    """The design matrix the pipeline's classifier sees for ``rows`` and the metric of each column.

    Every preprocessing step works column by column (log1p, median imputation with a missing
    indicator, standardisation, one-hot), so a design column depends only on its own metric.
    """
    prep = model.named_steps["prep"]
    with threadpool_limits(limits=1):
        z = np.asarray(prep.transform(_features(rows, features)), dtype=float)
    return z, [_metric_of(c) for c in prep.get_feature_names_out()]


def _predict_design(model: Pipeline, z: np.ndarray) -> np.ndarray:
    """Uncalibrated probability from a design matrix of ``_design``: ``_predict_raw`` without the preprocessing."""
    with threadpool_limits(limits=1):
        return model.named_steps["model"].predict_proba(z)[:, 1]


# ----------------------------------------------------------------------------- calibration


@dataclass
class Calibrator:
    """Map from an uncalibrated probability to a calibrated one.

    Attributes
    ----------
    method : str
        ``"none"`` (identity: the probability unchanged), ``"sigmoid"`` (Platt: logistic
        regression on the log-odds) or ``"isotonic"``.
    """

    method: str
    _model: LogisticRegression | IsotonicRegression | None = None
    _fitted: bool = False

    def fit(self, p, y) -> Calibrator:
        """Fit the calibration map on uncalibrated probabilities and their outcomes.

        Parameters
        ----------
        p : array-like of float
            Uncalibrated probabilities of churn.
        y : array-like of int
            Outcomes, 1 for churned and 0 for renewed.

        Returns
        -------
        Calibrator
            This calibrator, fitted.

        Raises
        ------
        ParameterError
            If ``method`` is not one of ``CALIBRATIONS``.
        """
        p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=int)
        if self.method == "none":
            self._model = None
        elif self.method == "sigmoid":
            z = logit(np.clip(p, _EPS, 1 - _EPS)).reshape(-1, 1)
            self._model = LogisticRegression(C=1e6, max_iter=5000).fit(z, y)
        elif self.method == "isotonic":
            self._model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        else:
            raise ParameterError(f"calibration method must be one of {CALIBRATIONS}, got {self.method!r}.")
        self._fitted = True
        return self

    def predict(self, p) -> np.ndarray:
        """Calibrated probabilities of uncalibrated ones.

        Parameters
        ----------
        p : array-like of float
            Uncalibrated probabilities of churn.

        Returns
        -------
        numpy.ndarray of float
            The calibrated probabilities, one per entry of ``p``.

        Raises
        ------
        ParameterError
            If the calibrator has not been fitted.
        """
        p = np.asarray(p, dtype=float)
        model = self._model
        if self._fitted and self.method == "none":
            return p.copy()
        if isinstance(model, LogisticRegression):  # sigmoid
            return model.predict_proba(logit(np.clip(p, _EPS, 1 - _EPS)).reshape(-1, 1))[:, 1]
        if isinstance(model, IsotonicRegression):
            return np.asarray(model.predict(p), dtype=float)
        raise ParameterError("the calibrator is not fitted yet: call Calibrator.fit first.")


# ----------------------------------------------------------------------------- fitting


@dataclass
class FittedModel:
    """One fitted risk model with its calibration.

    Attributes
    ----------
    name : str
        ``"logistic"`` or ``"gbm"``.
    pipeline : sklearn.pipeline.Pipeline
        Preprocessing + classifier, fitted on the training rows only.
    calibrator : Calibrator
        Fitted on out-of-time predictions of the training dates.
    calibration : str
        Chosen method (``"none"`` / ``"sigmoid"`` / ``"isotonic"``).
    calibration_choice : pandas.DataFrame
        Brier score on the validation slice per method (``none`` = uncalibrated), with ``chosen``.
    C : float
        Chosen inverse regularisation strength (logistic; NaN for gbm).
    cv : pandas.DataFrame
        Logistic only: mean log loss per C over the time-series folds, one column per fold date.
    features : tuple of str
        The snapshot columns the model uses (``segment`` one-hot encoded).
    """

    name: str
    pipeline: Pipeline
    calibrator: Calibrator
    calibration: str
    calibration_choice: pd.DataFrame
    C: float = float("nan")
    cv: pd.DataFrame = field(default_factory=pd.DataFrame)
    features: tuple = DEFAULT_FEATURES

    def predict_raw(self, rows: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probability of churn at the next renewal.

        Parameters
        ----------
        rows : pandas.DataFrame
            Snapshot rows with the model's features.

        Returns
        -------
        numpy.ndarray of float
            One probability per row.
        """
        return _predict_raw(self.pipeline, rows, self.features)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of churn at the next renewal.

        Parameters
        ----------
        rows : pandas.DataFrame
            Snapshot rows with the model's features, as for ``predict_raw``.

        Returns
        -------
        numpy.ndarray of float
            ``predict_raw`` mapped through the ``calibrator``, one probability per row.
        """
        return self.calibrator.predict(self.predict_raw(rows))


def _grid_predictions(name: str, fit_rows: pd.DataFrame, val_rows: pd.DataFrame, Cs, seed: int, features) -> dict:
    """Predictions of ``val_rows`` by the model fitted on ``fit_rows``, for each C of ``Cs``.

    The same numbers as fitting ``_pipeline(name, c)`` on ``fit_rows`` for every ``c``: the
    preprocessing does not depend on C, so it is fitted and applied once and only the classifier
    is refitted per C.
    """
    y = fit_rows["churned"].to_numpy(dtype=int)
    with threadpool_limits(limits=1):
        prep = _pipeline(name, Cs[0], seed, features).named_steps["prep"]
        z_fit = prep.fit_transform(_features(fit_rows, features), y)
        z_val = prep.transform(_features(val_rows, features))
        return {
            c: _pipeline(name, c, seed, features).named_steps["model"].fit(z_fit, y).predict_proba(z_val)[:, 1]
            for c in Cs
        }


def _fit_one(name: str, train: pd.DataFrame, purge_days: int, Cs, seed: int, features=DEFAULT_FEATURES) -> FittedModel:
    folds = expanding_time_folds(train, "obs_date", pd.Timedelta(days=int(purge_days)), "renewal_date", "churned")
    if len(folds) < 2:
        raise ParameterError(
            "the risk model needs at least three training observation dates with churned and "
            "renewed accounts (two time-series folds: one to fit the calibration, the latest to "
            "choose it); use a later quarter or move the test dates later."
        )
    y = train["churned"].to_numpy(dtype=int)
    Cs = sorted(float(c) for c in Cs) if name == "logistic" else [float("nan")]
    oot = {c: np.full(len(train), np.nan) for c in Cs}
    for _, fit, val in folds:
        for c, p in _grid_predictions(name, train[fit], train[val], Cs, seed, features).items():
            oot[c][val] = p
    cv = pd.DataFrame()
    best = Cs[0]
    if name == "logistic":
        cv = pd.DataFrame(
            {f"{d:%Y-%m-%d}": [log_loss(y[val], oot[c][val], labels=[0, 1]) for c in Cs] for d, _, val in folds},
            index=pd.Index(Cs, name="C"),
        )
        cv.insert(0, "mean_log_loss", cv.mean(axis=1))
        # first minimum = strongest regularisation
        best = float(cv.index.to_numpy(dtype=float)[np.nanargmin(cv["mean_log_loss"].to_numpy(dtype=float))])
        cv["chosen"] = cv.index == best
    p_oot = oot[best]

    # calibration: fit on out-of-time predictions before the validation slice (purged at it), score on the slice
    slice_date, before_slice, slice_rows = folds[-1]
    if not isinstance(slice_date, pd.Timestamp):
        raise ParameterError(f"obs_date must hold dates (datetime64), got {type(slice_date).__name__} values.")
    cal_fit = ~np.isnan(p_oot) & before_slice
    if len(np.unique(y[cal_fit])) < 2:
        raise ParameterError(
            "no churned and renewed out-of-time predictions before the calibration slice "
            f"{slice_date:%Y-%m-%d}: use a later quarter."
        )
    rows = []
    for method in CALIBRATIONS:
        cal = Calibrator(method).fit(p_oot[cal_fit], y[cal_fit])
        rows.append((method, brier_score_loss(y[slice_rows], cal.predict(p_oot[slice_rows]))))
    choice = pd.DataFrame(rows, columns=["method", "brier_validation"]).set_index("method")
    chosen = str(choice["brier_validation"].idxmin())
    choice["chosen"] = choice.index == chosen
    choice["validation_date"] = slice_date
    choice["n_fit"], choice["n_validation"] = int(cal_fit.sum()), int(slice_rows.sum())
    have = ~np.isnan(p_oot)
    calibrator = Calibrator(chosen).fit(p_oot[have], y[have])
    final = _fit_raw(name, train, best, seed, features)
    return FittedModel(
        name, final, calibrator, chosen, choice, best if name == "logistic" else float("nan"), cv, features
    )


def fit_models(
    train: pd.DataFrame, Cs=DEFAULT_CS, purge_days: int = 0, seed: int = 0, features=DEFAULT_FEATURES
) -> dict:
    """Fit and calibrate both risk models on training rows.

    Parameters
    ----------
    train : pandas.DataFrame
        Labelled snapshot rows with the features, obs_date, renewal_date, churned (already
        purged against whatever they will be tested on).
    Cs : sequence of float
        Candidate C values of the logistic model.
    purge_days : int
        Purge applied inside the time-series folds (``insights.stats.splits.expanding_time_folds``).
    seed : int
        Seed of the gradient-boosting model.
    features : sequence of str
        Snapshot columns to use (default ``DEFAULT_FEATURES``: every metric and the segment);
        numeric, except ``segment``, which is one-hot encoded. ``LOG_FEATURES`` among them enter
        as log1p.

    Returns
    -------
    dict of str to FittedModel
        Keys ``MODELS``.

    Raises
    ------
    ParameterError
        If columns are missing, a feature is not numeric (other than ``segment``), or fewer
        than three training dates carry both outcomes.
    """
    features = _check_features(features)
    _need(train, [*features, "obs_date", "renewal_date", "churned"])
    train = train.loc[train["churned"].notna(), _model_columns(train, features)]  # copies only what is used
    train = train.sort_values(["obs_date", "account_id"]).reset_index(drop=True)
    return {name: _fit_one(name, train, purge_days, Cs, seed, features) for name in MODELS}


def _model_columns(frame: pd.DataFrame, features) -> list:
    """The columns of ``frame`` the models' fitting reads: the features, the keys, the dates and the label."""
    wanted = dict.fromkeys([*features, "account_id", "obs_date", "renewal_date", "churned"])
    return [c for c in wanted if c in frame.columns]


# ----------------------------------------------------------------------------- evaluation


@dataclass
class RiskEvaluation:
    """Both models fitted on the training dates and measured on the later test dates.

    Attributes
    ----------
    split : Split
    models : dict of str to FittedModel
    comparison : pandas.DataFrame
        Index model: calibration, C, held-out metrics of the calibrated probability
        (``insights.stats.classification.held_out_metrics``, with churned for events and
        accounts for clusters) and brier_uncalibrated (the same model before calibration).
    auc_difference : pandas.DataFrame
        Paired bootstrap by account: AUC of gbm minus logistic with its interval.
    predictions : pandas.DataFrame
        The labelled test rows: account_id, obs_date, segment, arr, churned, ``p_<model>``.
    calibration : dict of str to pandas.DataFrame
        ``insights.stats.classification.calibration_table`` per model on the test rows (events
        named churned).
    lift : dict of str to pandas.DataFrame
        ``insights.stats.classification.lift_table`` per model on the test rows (events named
        churned, event_rate churn_rate).
    train_keys : pandas.DataFrame
        account_id, obs_date of every training row.
    n_train, n_purged : int
        Training rows used, labelled rows on training dates dropped by the purge.
    """

    split: Split
    models: dict
    comparison: pd.DataFrame
    auc_difference: pd.DataFrame
    predictions: pd.DataFrame
    calibration: dict
    lift: dict
    train_keys: pd.DataFrame
    n_train: int
    n_purged: int


def evaluate(
    snap: pd.DataFrame,
    split: Split,
    Cs=DEFAULT_CS,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    features=DEFAULT_FEATURES,
) -> RiskEvaluation:
    """Fit both models on the training side of ``split`` and measure them on its test dates.

    The held-out metrics, calibration and lift tables come from ``insights.stats.classification``
    (intervals by a bootstrap over accounts), named in this module's words (churned, accounts).

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots with segment (``insights.analyses.segments.rules.rule_segments``).
    split : Split
        From ``choose_split`` (or built by hand).
    Cs, level, n_boot, seed
        Candidate C values, interval level, bootstrap resamples, seed.
    features : sequence of str
        Snapshot columns the models use (default ``DEFAULT_FEATURES``: every metric of
        ``RISK_FEATURES`` and the segment); see ``fit_models``.

    Returns
    -------
    RiskEvaluation

    Raises
    ------
    ParameterError
        If a test date is not after ``train_until``, a feature is missing or not numeric, the
        test rows lack either outcome, or the training rows do not allow the time-series folds.
    """
    tests = sorted(pd.Timestamp(d) for d in split.test_dates)
    if not tests or tests[0] <= split.train_until:
        raise ParameterError(f"test dates must come after train_until ({split.train_until:%Y-%m-%d}).")
    features = _check_features(features)
    _need(snap, ["account_id", "arr", *features, SEGMENT, "obs_date", "renewal_date", "churned"])
    rows_split = _purged_split(snap, split.train_until, tests[0], split.purge_days)
    train = snap[rows_split.train]
    test = snap[snap["obs_date"].isin(tests) & snap["churned"].notna()]
    if test["churned"].nunique() < 2:
        raise ParameterError(f"the test dates {[f'{d:%Y-%m-%d}' for d in tests]} need churned and renewed accounts.")
    models = fit_models(train, Cs, split.purge_days, seed, features)
    pred = test[["account_id", "obs_date", SEGMENT, "arr", "churned"]].copy()
    y = pred["churned"].to_numpy(dtype=float)
    rows, calib, lifts = {}, {}, {}
    for name, m in models.items():
        raw = m.predict_raw(test)
        pred[f"p_{name}"] = m.calibrator.predict(raw)
        metrics = held_out_metrics(
            y, pred[f"p_{name}"], pred["account_id"], level, n_boot, seed, cluster_name="account"
        )
        rows[name] = {
            "calibration": m.calibration,
            "C": m.C,
            **{_CHURN_NAMES.get(k, k): v for k, v in metrics.items()},
            "brier_uncalibrated": brier_score_loss(y, raw),
        }
        calib[name] = calibration_table(y, pred[f"p_{name}"], level=level).rename(columns=_CHURN_NAMES)
        lifts[name] = lift_table(y, pred[f"p_{name}"]).rename(columns=_CHURN_NAMES)
    comparison = pd.DataFrame.from_dict(rows, orient="index")
    comparison.index.name = "model"
    diff = auc_bootstrap(
        y, {n: pred[f"p_{n}"] for n in MODELS}, pred["account_id"], level, n_boot, seed, cluster_name="account"
    ).rename(columns=_CHURN_NAMES)
    return RiskEvaluation(
        split=Split(split.train_until, tests, split.purge_days, split.reason),
        models=models,
        comparison=comparison,
        auc_difference=diff,
        predictions=pred.reset_index(drop=True),
        calibration=calib,
        lift=lifts,
        train_keys=train[["account_id", "obs_date"]].reset_index(drop=True),
        n_train=len(train),
        n_purged=int(rows_split.purged.sum()),
    )


def fit_current(
    snap: pd.DataFrame, as_of, Cs=DEFAULT_CS, purge_days: int = 0, seed: int = 0, features=DEFAULT_FEATURES
) -> dict:
    """Fit both models for scoring on ``as_of``, by the same procedure ``evaluate`` tests.

    The training rows are every labelled row observed before ``as_of`` whose renewal falls
    before it (``renewal_date + purge_days < as_of``).

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots with segment.
    as_of : date-like
        The scoring date.
    Cs, purge_days, seed, features
        As in ``fit_models``.

    Returns
    -------
    dict of str to FittedModel

    Raises
    ------
    ParameterError
        As ``fit_models``.
    """
    as_of = pd.Timestamp(as_of)
    split = _purged_split(snap, as_of - pd.Timedelta(days=1), as_of, purge_days)
    features = _check_features(features)
    return fit_models(snap.loc[split.train, _model_columns(snap, features)], Cs, purge_days, seed, features)


# ----------------------------------------------------------------------------- scoring


def contributions(model: FittedModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Per-metric contributions of the logistic model to each row's log-odds of churn.

    Contribution of metric ``k`` = ``sum_j coef_j * z_j`` over its design columns ``j`` (value and
    missing indicator; the one-hot columns for ``segment``), ``z_j`` standardised with the training
    mean and standard deviation. Row sums equal the uncalibrated log-odds minus the intercept (the
    log-odds of an account at the training mean). Positive = towards churn.

    Parameters
    ----------
    model : FittedModel
        The logistic model (``models["logistic"]``).
    rows : pandas.DataFrame
        Snapshot rows with the model's features.

    Returns
    -------
    pandas.DataFrame
        Same index as ``rows``, one column per metric (log-odds contribution).

    Raises
    ------
    ParameterError
        If ``model`` is not the logistic model.
    """
    if model.name != "logistic":
        raise ParameterError(
            "contributions are defined for the logistic model only (coefficient x standardised "
            "value); pass models['logistic']."
        )
    prep, clf = model.pipeline.named_steps["prep"], model.pipeline.named_steps["model"]
    z, metric = _design(model.pipeline, rows, model.features)
    parts = pd.DataFrame(z * clf.coef_[0], columns=prep.get_feature_names_out(), index=rows.index)
    return parts.T.groupby(metric, sort=False).sum().T


def score_rows(models: dict, rows: pd.DataFrame, model: str = "logistic") -> pd.DataFrame:
    """Calibrated churn probability of each row from every model, and expected ARR at risk.

    Parameters
    ----------
    models : dict of str to FittedModel
        From ``fit_current`` (or ``RiskEvaluation.models``).
    rows : pandas.DataFrame
        Snapshot rows with the models' features and arr.
    model : str
        The model whose probability is ``p_churn``.

    Returns
    -------
    pandas.DataFrame
        Same index: ``p_<model>`` for each model, ``p_churn`` (the one named by ``model``) and
        ``expected_arr_at_risk`` = p_churn x arr.

    Raises
    ------
    ParameterError
        If ``model`` is not one of ``models``.
    """
    if model not in models:
        raise ParameterError(f"model must be one of {list(models)}, got {model!r}.")
    out = pd.DataFrame(index=rows.index)
    for name, m in models.items():
        out[f"p_{name}"] = m.predict(rows)
    out["p_churn"] = out[f"p_{model}"]
    out["expected_arr_at_risk"] = exposure.expected_arr_at_risk(pd.concat([out["p_churn"], rows["arr"]], axis=1))
    return out


def score_accounts(
    models: dict, snap: pd.DataFrame, obs_date, names: pd.Series | None = None, model: str = "logistic"
) -> pd.DataFrame:
    """Every account under contract on ``obs_date`` (labelled or not), most expected ARR at risk first.

    Probability of churn at the next renewal (calibrated; ``model`` decides ``p_churn``, both
    models' probabilities are kept) and expected ARR at risk at the next renewal
    (``insights.analyses.risk.exposure.expected_arr_at_risk``). The CSM worklist
    (``insights.analyses.renewals.worklist``) adds the window, the reasons and the plays.

    Parameters
    ----------
    models : dict of str to FittedModel
        From ``fit_current`` (or ``RiskEvaluation.models``).
    snap : pandas.DataFrame
        Snapshots with segment.
    obs_date : date-like
        The observation date scored.
    names : pandas.Series, optional
        account_id -> account name.
    model : str
        The model whose probability is ``p_churn``.

    Returns
    -------
    pandas.DataFrame
        account_id, [name], segment, arr, renewal_date, days_to_renewal, p_churn, p_logistic,
        p_gbm, expected_arr_at_risk; sorted by expected_arr_at_risk descending (ties by
        account_id); index as in ``snap`` (not reset), so the rows align with ``contributions``.

    Raises
    ------
    ParameterError
        If no account is under contract on ``obs_date``, or ``model`` is not one of ``models``.
    """
    obs_date = pd.Timestamp(obs_date)
    rows = snap[snap["obs_date"] == obs_date]
    if rows.empty:
        raise ParameterError(f"no snapshot rows on {obs_date:%Y-%m-%d}: build snapshots for that quarter end.")
    out = rows[["account_id", SEGMENT, "arr", "renewal_date", "days_to_renewal"]].copy()
    if names is not None:
        out.insert(1, "name", out["account_id"].map(names))
    out = pd.concat([out, score_rows(models, rows, model)], axis=1)
    return out.sort_values(["expected_arr_at_risk", "account_id"], ascending=[False, True])


def arr_at_risk(ranked: pd.DataFrame, order=None) -> pd.DataFrame:
    """Expected ARR at risk at the next renewal (all accounts), per segment and in total.

    ``insights.analyses.risk.exposure.exposure`` with ``window_days=None``.

    Parameters
    ----------
    ranked : pandas.DataFrame
        Output of ``score_accounts`` (segment, arr, p_churn).
    order : sequence of str, optional
        Segment order; segments not in it are dropped. Default: order of first appearance.

    Returns
    -------
    pandas.DataFrame
        Index segment plus ``TOTAL``: accounts, arr, expected_arr_at_risk, mean_p_churn,
        expected_churned_accounts, share_at_risk, window.

    Raises
    ------
    ParameterError
        If a needed column is missing.
    """
    _need(ranked, [SEGMENT, "arr", "p_churn"])
    return exposure.exposure(ranked, None, SEGMENT, order=order)


# ----------------------------------------------------------------------------- permutation importance


def permutation_importance(
    evaluation: RiskEvaluation,
    snap: pd.DataFrame,
    model: str = "logistic",
    metrics=None,
    n_repeats: int = 20,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """How much the held-out AUC drops when one metric is shuffled among the test rows.

    The model fitted on the training dates is scored on the test dates with one metric
    permuted across rows (everything else unchanged); importance is the mean drop in ROC
    AUC over ``n_repeats`` permutations. The interval resamples accounts (bootstrap by
    account) and, in each replicate, uses one of the permutations, so it carries both the
    sampling and the permutation noise. Only the held-out period is used.

    Parameters
    ----------
    evaluation : RiskEvaluation
        From ``evaluate`` (its models and test dates are used).
    snap : pandas.DataFrame
        The snapshots ``evaluation`` was built from.
    model : str
        Which fitted model to probe.
    metrics : list of str, optional
        Metrics to permute (default: the retention drivers of ``insights.metrics.snapshots.DRIVERS``
        and the other numeric features the model uses).
    n_repeats, n_boot, level, seed
        Permutations per metric, bootstrap resamples over accounts
        (``insights.stats.bootstrap.cluster_bootstrap_draws``), interval level, seed.

    Returns
    -------
    pandas.DataFrame
        Indexed by metric, sorted by importance: importance (AUC drop), low, high, method.

    Raises
    ------
    ParameterError
        If ``n_repeats`` < 1, ``n_boot`` < 100, or a metric is not a numeric feature of the model.
    """
    from insights.metrics.snapshots import DRIVERS

    if n_repeats < 1 or n_boot < 100:
        raise ParameterError("n_repeats must be >= 1 and n_boot >= 100.")
    fitted = evaluation.models[model]
    numeric = [f for f in fitted.features if f != SEGMENT]
    metrics = (
        list(metrics)
        if metrics is not None
        else [*[d for d in DRIVERS if d in numeric], *[f for f in numeric if f not in DRIVERS]]
    )
    unknown = [m for m in metrics if m not in numeric]
    if unknown:
        raise ParameterError(f"not numeric features of the risk model: {unknown}; it uses {numeric}.")
    test = snap[snap["obs_date"].isin(evaluation.split.test_dates) & snap["churned"].notna()].reset_index(drop=True)
    y = test["churned"].to_numpy(dtype=float)
    # the test rows are preprocessed once: a permuted metric permutes the rows of its own design
    # columns only (every preprocessing step works column by column), so the classifier scores
    # the design with those columns permuted, the same numbers as the pipeline on shuffled rows
    design, column_metric = _design(fitted.pipeline, test, fitted.features)
    base = _predict_design(fitted.pipeline, design)  # calibration is monotone: AUC is the same on raw scores
    rng = np.random.default_rng(seed)
    codes, counts = cluster_bootstrap_draws(test["account_id"], n_boot, seed)
    base_auc = roc_auc_score(y, base)
    base_reps = cluster_weighted_auc(y, base, codes, counts)
    rows = []
    for metric in metrics:
        columns = [j for j, m in enumerate(column_metric) if m == metric]
        perms = []
        for _ in range(n_repeats):
            shuffled = design.copy(order="K")  # same memory layout as the pipeline's: same rounding
            shuffled[:, columns] = design[rng.permutation(len(test))][:, columns]
            perms.append(_predict_design(fitted.pipeline, shuffled))
        point = base_auc - np.mean([roc_auc_score(y, p) for p in perms])
        reps = np.empty(int(n_boot))
        for r, p in enumerate(perms):  # replicate b uses permutation b mod n_repeats
            reps[r::n_repeats] = cluster_weighted_auc(y, p, codes, counts[r::n_repeats])
        drops = base_reps - reps
        lo, hi = np.quantile(drops, [(1 - level) / 2, (1 + level) / 2])
        rows.append({"metric": metric, "importance": point, "low": lo, "high": hi})
    out = pd.DataFrame(rows).set_index("metric").sort_values("importance", ascending=False)
    out["method"] = (
        f"drop in held-out ROC AUC when the metric is permuted ({n_repeats} permutations, {model}); "
        f"bootstrap by account ({n_boot} resamples, percentile) {100 * level:g}% CI"
    )
    return out
