"""Health score: segment-relative component percentiles, weighted and banded, and a check that it predicts churn.

A CS health score is usually a hand-weighted sum of metrics that nobody checks. Here

* ``score`` turns each component (a snapshot metric of ``insights.metrics.snapshots``) into the
  account's percentile *within its own segment* on the observation date
  (``insights.analyses.segments.benchmarks.segment_benchmarks``), oriented by
  ``insights.analyses.segments.benchmarks.DIRECTION`` so that higher is healthier, and combines them
  with the weights of ``config/health.yaml`` into a 0-100 score with a red / amber / green band;
* ``backtest`` measures, on every observation date with settled labels, how well the score ranks
  the accounts that churned at their next renewal (ROC AUC with a DeLong or account-bootstrap
  interval), the churn rate of each band (Wilson) and the *watermelon rate* (churned ARR that was
  green);
* ``fit_weights`` fits data-driven weights (L2 logistic regression, C by time-series
  cross-validation, labels purged at the test boundary) and compares them with the configured
  weights on later holdout quarters.

Validation is time-based only: nothing is ever split at random, and no label settled after the
first test date is used to fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from insights.analyses.segments.benchmarks import DIRECTION, segment_benchmarks
from insights.data import paths
from insights.data.config_files import read_mapping
from insights.errors import ConfigError, ParameterError
from insights.metrics.snapshots import FEATURES
from insights.stats.classification import auc_bootstrap, auc_delong
from insights.stats.intervals import proportion_ci, wilson_method
from insights.stats.levels import level_label
from insights.stats.rates import churn_rate
from insights.stats.splits import expanding_time_folds, purged_time_split

#: Band names from worst to best.
BANDS = ("red", "amber", "green")
#: Defaults used when ``config/health.yaml`` or one of its sections is missing.
DEFAULTS: dict[str, dict[str, Any]] = {
    "components": {
        "utilisation": 25.0,
        "breadth": 15.0,
        "depth": 10.0,
        "satisfaction": 20.0,
        "perceived_value": 10.0,
        "support_burden": 10.0,
        "switching_cost": 10.0,
    },
    "bands": {"red": 40.0, "green": 70.0},
    "benchmarks": {"min_segment_size": 30},
}
#: Metrics a component may use: snapshot features with a known direction.
ALLOWED_COMPONENTS = tuple(m for m in FEATURES if m in DIRECTION)
#: Candidate inverse regularisation strengths of ``fit_weights``.
DEFAULT_CS = tuple(float(c) for c in np.logspace(-3, 3, 13))
_BAND_DTYPE = pd.CategoricalDtype(list(BANDS), ordered=True)


# ----------------------------------------------------------------------------- config


@dataclass(frozen=True)
class HealthConfig:
    """Validated health-score configuration.

    Attributes
    ----------
    weights : dict of str to float
        Component (snapshot metric) -> weight as configured (>= 0, positive sum; not normalised).
    red, green : float
        Band cut-offs: red when health < red, green when health >= green, amber in between.
    min_segment_size : int
        Segments with fewer accounts holding a metric borrow the benchmark of all accounts of
        the observation date.
    source : str
        Where the configuration came from (a file, ``"built-in defaults"`` or ``"fitted"``).
    use_weights : {"configured", "fitted"}
        Setting ``weights:`` of the file: ``"fitted"`` makes the report adopt the weights fitted
        from history when they beat these on the holdout (``choose_weights``).
    """

    weights: dict
    red: float
    green: float
    min_segment_size: int
    source: str = "built-in defaults"
    use_weights: str = "configured"

    @property
    def components(self) -> tuple[str, ...]:
        """Component names in configured order."""
        return tuple(self.weights)

    @property
    def normalised(self) -> dict:
        """Weights divided by their sum (they sum to 1)."""
        total = sum(self.weights.values())
        return {k: v / total for k, v in self.weights.items()}

    def with_weights(self, weights: dict, source: str = "fitted") -> HealthConfig:
        """The same bands and benchmark settings with other weights (validated like the file).

        Parameters
        ----------
        weights : dict of str to float
            Component -> weight.
        source : str
            Where the weights come from, kept in ``source``.

        Returns
        -------
        HealthConfig
            A new configuration; this one is unchanged.

        Raises
        ------
        ConfigError
            If a component is unknown, a weight negative, or the weights do not sum to a positive number.
        """
        return make_config(weights, self.red, self.green, self.min_segment_size, source, self.use_weights)


#: Values of the ``weights:`` setting of config/health.yaml.
WEIGHT_CHOICES = ("configured", "fitted")


def make_config(
    weights: dict,
    red: float = 40.0,
    green: float = 70.0,
    min_segment_size: int = 30,
    source: str = "health config",
    use_weights: str = "configured",
) -> HealthConfig:
    """Validate health-score settings and return them as a ``HealthConfig``.

    Parameters
    ----------
    weights : dict of str to float
        Component -> weight. Components must be snapshot features with a direction in
        ``insights.analyses.segments.benchmarks.DIRECTION`` (``ALLOWED_COMPONENTS``).
    red, green : float
        Band cut-offs, 0 < red < green <= 100.
    min_segment_size : int
        At least 1.
    source : str
        Named in error messages (for example the YAML file).
    use_weights : {"configured", "fitted"}
        Which weights the report uses (``WEIGHT_CHOICES``; see ``choose_weights``).

    Returns
    -------
    HealthConfig
        The settings as given (weights not normalised), with ``source``.

    Raises
    ------
    ConfigError
        Listing every problem at once: unknown components, non-numeric or negative weights,
        weights not summing to a positive number, bands out of order, bad segment size, a
        ``weights`` setting other than ``configured`` or ``fitted``.
    """
    problems = []
    clean: dict[str, float] = {}
    if not isinstance(weights, dict) or not weights:
        problems.append("`components` must be a non-empty mapping of snapshot metric -> weight")
        weights = {}
    unknown = [str(k) for k in weights if k not in ALLOWED_COMPONENTS]
    if unknown:
        problems.append(
            f"unknown component metric(s) {unknown}: use snapshot features with a direction, one of "
            f"{list(ALLOWED_COMPONENTS)}"
        )
    for name, w in weights.items():
        try:
            value = float(w)
        except (TypeError, ValueError):
            problems.append(f"weight of {name} must be a number, got {w!r}")
            continue
        if not np.isfinite(value):
            problems.append(f"weight of {name} must be finite, got {w!r}")
        elif value < 0:
            problems.append(
                f"weight of {name} is negative ({value:g}): weights must be >= 0 (a metric that "
                "hurts health is oriented by its direction, not by a negative weight)"
            )
        else:
            clean[str(name)] = value
    if weights and len(clean) == len(weights) and sum(clean.values()) <= 0:
        problems.append("weights must sum to a positive number (at least one component with weight > 0)")
    try:
        red_f, green_f = float(red), float(green)
        if not 0 < red_f < green_f <= 100:
            problems.append(f"bands out of order: need 0 < red < green <= 100, got red={red_f:g}, green={green_f:g}")
    except (TypeError, ValueError):
        problems.append(f"band cut-offs must be numbers, got red={red!r}, green={green!r}")
        red_f = green_f = float("nan")
    try:
        size = int(min_segment_size)
        if size != float(min_segment_size) or size < 1:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"benchmarks.min_segment_size must be a whole number >= 1, got {min_segment_size!r}")
        size = 0
    if use_weights not in WEIGHT_CHOICES:
        problems.append(
            f"`weights` must be one of {list(WEIGHT_CHOICES)} (which weights the report uses), got {use_weights!r}"
        )
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems) + ".")
    return HealthConfig(clean, red_f, green_f, size, source, str(use_weights))


def load_config(path: Path | None = None) -> HealthConfig:
    """Read and validate ``config/health.yaml`` (missing file or sections take ``DEFAULTS``).

    Parameters
    ----------
    path : pathlib.Path, optional
        Default ``insights.data.paths.config_dir() / "health.yaml"``.

    Returns
    -------
    HealthConfig
        With ``source`` the file read, or ``"built-in health defaults"`` when there is none.

    Raises
    ------
    ConfigError
        If the file is not valid YAML or not a mapping, or a value fails ``make_config``.
    """
    path = Path(path) if path is not None else paths.config_dir() / "health.yaml"
    data = read_mapping(path, required=False, purpose="the health score (components, bands, benchmarks)")
    source = str(path) if path.exists() else "built-in health defaults"
    components = data.get("components", DEFAULTS["components"])
    bands = data.get("bands") or {}
    bench = data.get("benchmarks") or {}
    if not isinstance(bands, dict) or not isinstance(bench, dict):
        raise ConfigError(
            f"{path}: `bands` and `benchmarks` must be mappings (bands: red, green; benchmarks: min_segment_size)."
        )
    bands = {**DEFAULTS["bands"], **bands}
    bench = {**DEFAULTS["benchmarks"], **bench}
    use = data.get("weights", "configured")
    return make_config(components, bands["red"], bands["green"], bench["min_segment_size"], source, use)


# ----------------------------------------------------------------------------- scoring


def score_column(component: str) -> str:
    """Name of the 0-100 oriented within-segment score column of a component.

    Parameters
    ----------
    component : str
        A health component (a snapshot metric).

    Returns
    -------
    str
        ``<component>_score``.
    """
    return f"{component}_score"


def bands_of(health, config: HealthConfig) -> pd.Series:
    """Red / amber / green band of each health value (ordered categorical; NaN health -> NaN).

    Parameters
    ----------
    health : array-like of float
        Health scores (0-100); a Series keeps its index.
    config : HealthConfig
        Band cut-offs: below ``red`` is red, at or above ``green`` is green, amber between.

    Returns
    -------
    pandas.Series
        Ordered categorical red < amber < green, NaN where health is missing.
    """
    h = pd.Series(health, dtype="float64")
    labels = np.select([h < config.red, h >= config.green, h.notna()], ["red", "green", "amber"], "")
    return pd.Series(labels, index=h.index).where(h.notna()).astype(_BAND_DTYPE)


def combine(scored: pd.DataFrame, weights: dict) -> tuple[pd.Series, pd.Series]:
    """Weighted mean of the component scores an account has, re-weighted over the present ones.

    Parameters
    ----------
    scored : pandas.DataFrame
        Holds ``<component>_score`` columns (0-100).
    weights : dict of str to float
        Component -> weight (>= 0). Components with weight 0 are ignored.

    Returns
    -------
    health : pandas.Series
        ``sum(w_k s_k) / sum(w_k)`` over the components with a score (0-100; NaN when none has one).
    n_missing : pandas.Series
        Number of weighted components without a score.

    Raises
    ------
    ParameterError
        If a weighted component has no score column.
    """
    used = {k: float(w) for k, w in weights.items() if float(w) > 0}
    cols = [score_column(k) for k in used]
    absent = [c for c in cols if c not in scored.columns]
    if absent:
        raise ParameterError(f"score columns {absent} are missing: run insights.analyses.health.score.score first.")
    s = scored[cols].to_numpy(dtype=float)
    w = np.array(list(used.values()))
    present = ~np.isnan(s)
    wsum = (present * w).sum(axis=1)
    num = (np.nan_to_num(s) * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        health = np.where(wsum > 0, num / np.where(wsum > 0, wsum, 1), np.nan)
    return (
        pd.Series(health, index=scored.index, name="health"),
        pd.Series((~present).sum(axis=1), index=scored.index, name="n_missing"),
    )


def score(
    snap: pd.DataFrame, config: HealthConfig | None = None, segment: str = "segment", parent: str | None = None
) -> pd.DataFrame:
    """Health score of every account x observation date, relative to the account's segment.

    Each component metric becomes the account's mid-rank percentile within its segment on the
    same observation date (``insights.analyses.segments.benchmarks.segment_benchmarks`` with ``by="obs_date"``;
    segments smaller than ``config.min_segment_size`` borrow ``parent``, default all accounts of
    the date), oriented by ``insights.analyses.segments.benchmarks.DIRECTION`` so that 100 is the healthiest.
    ``health`` is the weighted mean of the component scores with the normalised configured
    weights; a component the account lacks is left out and the others re-weighted
    (``n_missing`` says how many were left out). Bands: red when health < ``config.red``, green
    when health >= ``config.green``, amber in between.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots (``insights.metrics.snapshots.build``) with a segment column, for example
        ``snap["segment"] = segments.value_tier(snap["arr"]).to_numpy()``.
    config : HealthConfig, optional
        Default ``load_config()``.
    segment : str
        Segment column.
    parent : str, optional
        Parent-segment column for small segments (default: all accounts of the date).

    Returns
    -------
    pandas.DataFrame
        The snapshot rows (same index) plus ``<component>_score`` (0-100, higher = healthier) for
        every configured component, ``health`` (0-100, NaN when no component is present),
        ``band`` (ordered categorical red < amber < green, NaN when unscored) and ``n_missing``
        (weighted components missing, re-weighted over the rest). ``attrs["health_config"]``
        holds the config used.

    Raises
    ------
    ParameterError
        If ``obs_date``, the segment column or a component column is missing.
    """
    config = config or load_config()
    need = ["obs_date", segment, *config.components, *([parent] if parent else [])]
    missing = [c for c in need if c not in snap.columns]
    if missing:
        hint = (
            " Add the segment first, e.g. snap['segment'] = insights.analyses.segments.rules.value_tier(snap['arr'])"
            ".to_numpy()."
            if segment in missing
            else ""
        )
        raise ParameterError(f"columns {missing} are not in the snapshot table.{hint}")
    bench = segment_benchmarks(
        snap, config.components, segment, parent=parent, by="obs_date", min_size=config.min_segment_size
    )
    out = snap.copy()
    for m in config.components:
        pct = bench[f"{m}_pct"].astype(float)
        out[score_column(m)] = pct if DIRECTION[m] > 0 else 100.0 - pct
    out["health"], out["n_missing"] = combine(out, config.weights)
    out["band"] = bands_of(out["health"], config)
    out.attrs["health_config"] = config
    return out


# ----------------------------------------------------------------------------- backtest


@dataclass
class Backtest:
    """Does the health score predict churn? Tables of ``backtest``.

    Attributes
    ----------
    auc : pandas.DataFrame
        One row per observation date (``scope="date"``) and one pooled (``scope="pooled"``,
        ``obs_date`` NaT): obs_date, scope, n, churned, unscored, auc, auc_sklearn, low, high, method.
    bands : pandas.DataFrame
        One row per observation date (and pooled) x band: obs_date, scope, band, accounts,
        churned, churn_rate, low, high, method (Wilson).
    watermelon : pandas.DataFrame
        See ``watermelon``.
    """

    auc: pd.DataFrame
    bands: pd.DataFrame
    watermelon: pd.DataFrame


def _labelled(scored: pd.DataFrame, health: str, extra=None) -> pd.DataFrame:
    """Rows with a settled label; with ``extra``, only the key columns and those of ``extra`` present."""
    need = ["account_id", "obs_date", "churned", health]
    missing = [c for c in need if c not in scored.columns]
    if missing:
        raise ParameterError(f"columns {missing} are missing: pass the output of insights.analyses.health.score.score.")
    keep = scored["churned"].notna()
    if extra is None:
        lab = scored[keep]
    else:
        lab = scored.loc[keep, [c for c in dict.fromkeys([*need, *extra]) if c in scored.columns]]
    if lab.empty:
        raise ParameterError("no observation date has settled churn labels (column churned is all NaN).")
    return lab


def band_churn(scored: pd.DataFrame, band: str = "band", level: float = 0.95) -> pd.DataFrame:
    """Churn rate at the next settled renewal per band, per observation date and pooled, with Wilson intervals.

    Only renewals whose grace period has passed at the data end count (the snapshot's
    ``settled``; ``insights.stats.rates.churn_rate``). Pooled rows count account x date rows; an
    account observed on several dates counts on each, so the pooled Wilson interval (which
    treats rows as independent) is somewhat too narrow.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of ``score`` (needs account_id, obs_date, churned, settled and ``band``).
    band : str
        Band column.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        obs_date (NaT when pooled), scope (``"date"`` / ``"pooled"``), band, accounts, churned,
        churn_rate, low, high, method.

    Raises
    ------
    ParameterError
        If columns are missing or no row has a churn label.
    """
    lab = _labelled(scored, band, ["settled"])
    if "settled" not in lab.columns:
        raise ParameterError(
            "column settled is missing: pass the output of insights.analyses.health.score.score "
            "on a snapshot of insights.metrics.snapshots.build."
        )
    lab = lab[lab[band].notna()]
    parts = [(d, "date", g) for d, g in lab.groupby("obs_date", sort=True)] + [(pd.NaT, "pooled", lab)]
    frames, keys = [], []
    for d, scope, g in parts:
        rates = churn_rate(g, outcome="churned", by=band, settled="settled", level=level, order=BANDS, total=None)
        frames.append(rates.reset_index(names="band"))
        keys += [(d, scope)] * len(rates)
    out = pd.concat(
        [pd.DataFrame(keys, columns=["obs_date", "scope"]), pd.concat(frames, ignore_index=True)], axis=1
    ).rename(columns={"n": "accounts", "events": "churned", "rate": "churn_rate"})
    out = out[["obs_date", "scope", "band", "accounts", "churned", "churn_rate", "low", "high", "method"]]
    out["band"] = out["band"].astype(_BAND_DTYPE)
    return out


def watermelon(
    scored: pd.DataFrame, band: str = "band", level: float = 0.95, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Watermelon rate: the share of churned ARR that the score showed green just before the churn.

    Definition. A *churn event* is a contract term (``contract_id``) whose renewal was a churn
    (``churned == 1``). Its *last look* is the snapshot row of that term with the latest
    ``obs_date`` in ``scored`` (observation dates are on or before the renewal date, so the last
    look is the last quarter end before the account left). The watermelon rate is

        sum of ``arr`` at the last look over churn events that were ``green`` at their last look
        / sum of ``arr`` at the last look over all churn events,

    i.e. the share of churned ARR that was green when last scored. Unscored last looks (no
    component present) count in the denominator and never as green. Per date, churn events are
    grouped by the date of their last look; pooled covers every churn event once.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of ``score`` (needs account_id, obs_date, contract_id, arr, churned and ``band``).
    band : str
        Band column.
    level, n_boot, seed
        Interval settings: the ARR share has a percentile bootstrap interval over churn events;
        the share of churned *accounts* that were green has a Wilson interval.

    Returns
    -------
    pandas.DataFrame
        obs_date (date of the last look; NaT when pooled), scope, churned_accounts, churned_arr,
        green_accounts, green_arr, unscored_accounts, watermelon_rate (ARR share), low, high,
        method, account_share, account_low, account_high, account_method.

    Raises
    ------
    ParameterError
        If columns are missing (contract_id, arr, or those of the labelled rows) or no row has a
        settled label.
    """
    lab = _labelled(scored, band, ["contract_id", "arr"])
    for c in ("contract_id", "arr"):
        if c not in lab.columns:
            raise ParameterError(f"column {c} is missing: pass the output of insights.analyses.health.score.score.")
    churned = lab[lab["churned"] == 1].sort_values(["contract_id", "obs_date"])
    last = churned.groupby("contract_id", sort=True).tail(1)
    green = (last[band].astype(str) == "green").to_numpy()
    rng = np.random.default_rng(seed)
    boot_method = f"bootstrap over churn events ({n_boot} resamples, percentile) {level_label(level)} CI"
    rows = []
    parts = [(d, "date", g.index) for d, g in last.groupby("obs_date", sort=True)] + [(pd.NaT, "pooled", last.index)]
    for d, scope, idx in parts:
        sel = last.index.isin(idx)
        arr = last.loc[sel, "arr"].to_numpy(dtype=float)
        g = green[sel]
        n = len(arr)
        total = arr.sum()
        rate = arr[g].sum() / total if total > 0 else np.nan
        if n and total > 0:
            draw = rng.integers(0, n, size=(n_boot, n))
            num, den = np.empty(n_boot), np.empty(n_boot)
            for start in range(0, n_boot, 64):  # 64 replicates at a time: no n_boot x n float copies
                picked = draw[start : start + 64]
                num[start : start + 64], den[start : start + 64] = (
                    (arr * g)[picked].sum(axis=1),
                    arr[picked].sum(axis=1),
                )
            lo, hi = np.nanquantile(
                np.where(den > 0, num / np.where(den > 0, den, 1), np.nan), [(1 - level) / 2, (1 + level) / 2]
            )
        else:
            lo = hi = np.nan
        ci = proportion_ci(int(g.sum()), n, level) if n else None
        rows.append(
            (
                d,
                scope,
                n,
                total,
                int(g.sum()),
                arr[g].sum(),
                int(last.loc[sel, band].isna().sum()),
                rate,
                lo,
                hi,
                boot_method,
                ci.estimate if ci else np.nan,
                ci.low if ci else np.nan,
                ci.high if ci else np.nan,
                wilson_method(level),
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "obs_date",
            "scope",
            "churned_accounts",
            "churned_arr",
            "green_accounts",
            "green_arr",
            "unscored_accounts",
            "watermelon_rate",
            "low",
            "high",
            "method",
            "account_share",
            "account_low",
            "account_high",
            "account_method",
        ],
    )


def backtest(
    scored: pd.DataFrame,
    health: str = "health",
    band: str = "band",
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> Backtest:
    """Check whether the health score predicted churn at the next renewal.

    On every observation date with settled labels (``churned`` not NaN) and pooled over them:

    * ROC AUC of the risk ``100 - health`` for ``churned`` (rows without a health score are left
      out and counted as ``unscored``). Per date each account appears once and the interval is
      DeLong's; pooled, accounts recur across dates and the interval is a percentile bootstrap
      by account. Every AUC is checked against ``sklearn.metrics.roc_auc_score`` (``auc_sklearn``).
    * Churn rate of each band with Wilson score intervals (``band_churn``).
    * Watermelon rate: churned ARR that was green at its last look (``watermelon``).

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of ``score`` (any rows, for example only holdout dates).
    health, band : str
        Score and band columns (``"health_fitted"``, ``"band_fitted"`` for fitted weights).
    level : float
        Confidence level of every interval.
    n_boot, seed : int
        Bootstrap resamples and seed (deterministic).

    Returns
    -------
    Backtest

    Raises
    ------
    ParameterError
        If columns are missing or no row has a settled label.
    """
    lab = _labelled(scored, health, [])
    rows: list[tuple[Any, ...]] = []
    for d, g in lab.groupby("obs_date", sort=True):
        ok = g[health].notna()
        r = auc_delong(g.loc[ok, "churned"], 100 - g.loc[ok, health], level)
        sk = (
            roc_auc_score(g.loc[ok, "churned"], 100 - g.loc[ok, health])
            if g.loc[ok, "churned"].nunique() == 2
            else np.nan
        )
        rows.append((d, "date", r["n"], r["events"], int((~ok).sum()), r["auc"], sk, r["low"], r["high"], r["method"]))
    ok = lab[health].notna()
    g = lab[ok]
    b = auc_bootstrap(
        g["churned"], {health: 100 - g[health]}, g["account_id"], level, n_boot, seed, cluster_name="account"
    ).iloc[0]
    sk = roc_auc_score(g["churned"], 100 - g[health]) if g["churned"].nunique() == 2 else np.nan
    rows.append(
        (
            pd.NaT,
            "pooled",
            len(g),
            int(g["churned"].sum()),
            int((~ok).sum()),
            b["auc"],
            sk,
            b["low"],
            b["high"],
            b["method"],
        )
    )
    auc = pd.DataFrame(
        rows, columns=["obs_date", "scope", "n", "churned", "unscored", "auc", "auc_sklearn", "low", "high", "method"]
    )
    return Backtest(
        auc=auc, bands=band_churn(scored, band, level), watermelon=watermelon(scored, band, level, n_boot, seed)
    )


# ----------------------------------------------------------------------------- fitted weights


@dataclass
class WeightFit:
    """Data-driven weights and their holdout comparison with the configured ones (``fit_weights``).

    Attributes
    ----------
    weights : pandas.DataFrame
        Index component; configured (normalised), fitted (normalised positive parts), coefficient
        (log-odds of renewing, i.e. minus that of churning, per +100 percentile points of the
        component; positive = protective), protective (bool).
    negative : tuple of str
        Components whose coefficient came out non-protective (healthier on it, more churn); their
        fitted weight is 0.
    C : float
        Chosen inverse L2 regularisation strength.
    cv : pandas.DataFrame
        Time-series cross-validation: one row per candidate C with mean_log_loss and one column
        per validation date; ``chosen`` marks C.
    comparison : pandas.DataFrame
        Holdout AUC, index ``configured``, ``fitted`` and ``fitted - configured``: auc, low, high,
        n, churned, accounts, method (paired bootstrap by account).
    holdout : pandas.DataFrame
        The scored holdout rows with ``health_fitted``, ``band_fitted``, ``n_missing_fitted``.
    holdout_backtest : dict of str to Backtest
        ``backtest`` of the holdout rows with the ``"configured"`` and the ``"fitted"`` weights
        (AUC per date, band churn rates, watermelon rate), side by side.
    fitted_config : HealthConfig
        The configuration with fitted weights (same bands), for ``score``.
    train_dates, test_dates : list of pandas.Timestamp
    n_train, n_purged : int
        Training rows used, and labelled rows on training dates dropped because their label
        settled on or after the first test date.
    verdict : str
        One plain sentence: whether the fitted weights beat the configured ones on the holdout.
    """

    weights: pd.DataFrame
    negative: tuple
    C: float
    cv: pd.DataFrame
    comparison: pd.DataFrame
    holdout: pd.DataFrame
    fitted_config: HealthConfig
    holdout_backtest: dict = field(default_factory=dict)
    train_dates: list = field(default_factory=list)
    test_dates: list = field(default_factory=list)
    n_train: int = 0
    n_purged: int = 0
    verdict: str = ""


def _design(frame: pd.DataFrame, components) -> np.ndarray:
    """Component scores on a 0-1 scale (higher = healthier); a missing one is the segment median 0.5."""
    x = frame[[score_column(c) for c in components]].to_numpy(dtype=float) / 100.0
    return np.where(np.isnan(x), 0.5, x)


def _fit(frame: pd.DataFrame, components, C: float) -> LogisticRegression:
    model = LogisticRegression(C=C, max_iter=2000)  # L2 (the default penalty)
    return model.fit(_design(frame, components), frame["churned"].to_numpy(dtype=int))


def fit_weights(
    scored: pd.DataFrame,
    train_until,
    test_dates,
    config: HealthConfig | None = None,
    Cs=DEFAULT_CS,
    purge_days: int | None = None,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> WeightFit:
    """Fit health weights from churn and compare them with the configured weights on later quarters.

    Training rows: labelled rows with ``obs_date <= train_until`` whose label was settled before
    the first test date, i.e. ``renewal_date + purge_days < min(test_dates)`` (the churn of a
    renewal is known once the grace period after it has passed;
    ``insights.stats.splits.purged_time_split``). Rows that fail the purge are dropped
    (``n_purged``), so no label of the test period enters the fit.

    Model: logistic regression of ``churned`` on the component scores / 100 (all on the same
    0-1 percentile scale, a missing component at the segment median 0.5), L2 penalty. C is
    chosen among ``Cs`` by expanding-window time-series cross-validation on the training dates
    only: each training date after the first is a validation fold, fitted on the earlier
    training rows whose labels settled before it (``insights.stats.splits.expanding_time_folds``);
    the C with the lowest mean log loss wins (ties: the strongest regularisation). Fitted weights
    are the positive parts of the protective coefficients (minus the churn coefficients), normalised
    to sum 1; a component with a non-protective coefficient gets weight 0 and is listed in ``negative``.

    Holdout: the labelled rows on ``test_dates`` are scored with the configured and with the
    fitted weights (same re-weighting over present components, same bands) and compared by AUC
    of ``100 - health`` with a paired percentile bootstrap by account (``auc_bootstrap``).

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of ``score`` over training and test dates (needs renewal_date).
    train_until : date-like
        Last observation date used for training.
    test_dates : list of date-like
        Holdout observation dates, all after ``train_until``.
    config : HealthConfig, optional
        The configured weights to compare with (default ``scored.attrs["health_config"]``, else
        ``load_config()``); its components are the model's features.
    Cs : sequence of float
        Candidate C values (inverse regularisation strength).
    purge_days : int, optional
        Days after a renewal until its label is settled (default: ``churn.grace_days`` of
        ``config/settings.yaml``).
    level, n_boot, seed
        Interval level, bootstrap resamples, seed.

    Returns
    -------
    WeightFit

    Raises
    ------
    ParameterError
        If a test date is not after ``train_until``, no test row is labelled, fewer than two
        training dates allow a cross-validation fold, or no component comes out protective.
    """
    config = config or scored.attrs.get("health_config") or load_config()
    if purge_days is None:
        from insights.data.settings import load_settings

        purge_days = load_settings().grace_days
    comps = list(config.components)
    train_until = pd.Timestamp(train_until)
    test_dates = sorted(pd.Timestamp(d) for d in (test_dates if np.ndim(test_dates) else [test_dates]))
    if not test_dates:
        raise ParameterError("give at least one test (holdout) observation date.")
    if test_dates[0] <= train_until:
        raise ParameterError(
            f"test dates must come after train_until ({train_until:%Y-%m-%d}); got {test_dates[0]:%Y-%m-%d}."
        )
    lab = _labelled(scored, "health")
    if "renewal_date" not in lab.columns:
        raise ParameterError("column renewal_date is missing: pass the output of insights.analyses.health.score.score.")
    missing = [score_column(c) for c in comps if score_column(c) not in lab.columns]
    if missing:
        raise ParameterError(f"score columns {missing} are missing: score with the same config first.")
    first_test = test_dates[0]
    purge = pd.Timedelta(days=int(purge_days))
    split = purged_time_split(lab, "obs_date", first_test, purge, "renewal_date", train_until=train_until)
    train = lab[split.train]
    n_purged = int(split.purged.sum())
    test = scored[scored["obs_date"].isin(test_dates) & scored["churned"].notna()]
    if test.empty or test["churned"].nunique() < 2:
        raise ParameterError(
            f"the test dates {[f'{d:%Y-%m-%d}' for d in test_dates]} need labelled churned and renewed accounts."
        )
    if train["churned"].nunique() < 2:
        raise ParameterError(
            f"no churned and renewed training rows up to {train_until:%Y-%m-%d} settled before "
            f"{first_test:%Y-%m-%d}: move train_until earlier or the test dates later."
        )

    # expanding-window time-series cross-validation over training dates, purged at each fold
    Cs = sorted(float(c) for c in Cs)
    folds = {
        f.cutoff: (train[f.fit], train[f.validation])
        for f in expanding_time_folds(train, "obs_date", purge, "renewal_date", label="churned")
    }
    if not folds:
        raise ParameterError(
            "time-series cross-validation needs at least two training observation dates, the "
            "later with churned and renewed accounts and the earlier with labels settled before "
            "it: move train_until later."
        )
    cv = pd.DataFrame(index=pd.Index(Cs, name="C"))
    for d, (fit_rows, val) in folds.items():
        losses = []
        for c in Cs:
            p = _fit(fit_rows, comps, c).predict_proba(_design(val, comps))[:, 1]
            losses.append(log_loss(val["churned"].to_numpy(dtype=int), p, labels=[0, 1]))
        cv[f"{d:%Y-%m-%d}"] = losses
    cv.insert(0, "mean_log_loss", cv.mean(axis=1))
    # first minimum = smallest C = strongest regularisation
    best = float(cv.index.to_numpy(dtype=float)[np.nanargmin(cv["mean_log_loss"].to_numpy(dtype=float))])
    cv["chosen"] = cv.index == best

    model = _fit(train, comps, best)
    protective = -model.coef_[0]
    positive = np.clip(protective, 0, None)
    if positive.sum() <= 0:
        raise ParameterError(
            "no component came out protective (every coefficient says healthier = more churn): "
            "the fitted weights are undefined; check the components and the labels."
        )
    fitted = positive / positive.sum()
    index = pd.Index(comps, name="component")
    weights = pd.DataFrame(
        {
            "configured": pd.Series(config.normalised).reindex(index).fillna(0.0).to_numpy(),
            "fitted": fitted,
            "coefficient": protective,
            "protective": protective > 0,
        },
        index=index,
    )
    negative = tuple(c for c, p in zip(comps, protective) if p <= 0)
    fitted_config = config.with_weights({c: float(w) for c, w in zip(comps, fitted) if w > 0}, source="fitted")

    hold = test.copy()
    hold["health_fitted"], hold["n_missing_fitted"] = combine(hold, fitted_config.weights)
    hold["band_fitted"] = bands_of(hold["health_fitted"], fitted_config)
    ok = hold["health"].notna() & hold["health_fitted"].notna()
    h = hold[ok]
    comparison = auc_bootstrap(
        h["churned"],
        {"configured": 100 - h["health"], "fitted": 100 - h["health_fitted"]},
        h["account_id"],
        level,
        n_boot,
        seed,
        cluster_name="account",
    )
    comparison = comparison.rename(columns={"events": "churned", "clusters": "accounts"})
    diff = comparison.iloc[2]
    lvl = level_label(level)
    span = f"{diff['auc']:+.3f} (paired bootstrap by account {lvl} CI {diff['low']:+.3f} to {diff['high']:+.3f})"
    auc = comparison["auc"].astype(float)
    aucs = f"holdout AUC fitted {auc['fitted']:.3f} vs configured {auc['configured']:.3f}"
    if diff["low"] > 0:
        verdict = f"The fitted weights beat the configured weights: {aucs}, difference {span}."
    elif diff["high"] < 0:
        verdict = f"The configured weights beat the fitted weights: {aucs}, difference {span}."
    else:
        verdict = (
            f"No clear difference between fitted and configured weights: {aucs}, difference {span}; the "
            "interval includes 0."
        )
    backtests = {
        "configured": backtest(hold, "health", "band", level, n_boot, seed),
        "fitted": backtest(hold, "health_fitted", "band_fitted", level, n_boot, seed),
    }
    train_dates = sorted(pd.Timestamp(d) for d in train["obs_date"].unique())
    return WeightFit(
        weights=weights,
        negative=negative,
        C=best,
        cv=cv,
        comparison=comparison,
        holdout=hold,
        fitted_config=fitted_config,
        holdout_backtest=backtests,
        train_dates=train_dates,
        test_dates=test_dates,
        n_train=len(train),
        n_purged=n_purged,
        verdict=verdict,
    )


@dataclass(frozen=True)
class WeightChoice:
    """Which health weights the report uses, and the sentence that says so (``choose_weights``).

    Attributes
    ----------
    config : HealthConfig
        The configuration to score with: the fitted one when adopted, else the configured one.
    adopted : bool
        True when the fitted weights are used.
    fitted_better : bool
        True when the fitted weights beat the configured ones on the holdout (the interval of the
        AUC difference lies above 0).
    sentence : str
        Plain words for the page: what the backtest found and which weights the report uses.
    """

    config: HealthConfig
    adopted: bool
    fitted_better: bool
    sentence: str


def choose_weights(fit: WeightFit, config: HealthConfig) -> WeightChoice:
    """The weights the report uses: the fitted ones when ``weights: fitted`` is set and they beat the configured ones.

    The fitted weights count as better when the interval of the holdout AUC difference
    (fitted - configured, ``fit.comparison``) lies entirely above 0.

    Parameters
    ----------
    fit : WeightFit
        ``fit_weights``' result for the configured weights ``config``.
    config : HealthConfig
        The configuration read from config/health.yaml (its ``use_weights`` setting decides).

    Returns
    -------
    WeightChoice
    """
    diff = fit.comparison.iloc[2]
    better = bool(diff["low"] > 0)
    gain = (
        f"holdout AUC {diff['auc']:+.3f}, {str(diff['method']).split(';')[0]} from {diff['low']:+.3f} to "
        f"{diff['high']:+.3f}"
    )
    if better and config.use_weights == "fitted":
        chosen = fit.fitted_config
        chosen = make_config(chosen.weights, chosen.red, chosen.green, chosen.min_segment_size, "fitted", "fitted")
        sentence = (
            f"The weights fitted from history predict churn better than the configured ones ({gain}), and "
            "config/health.yaml says `weights: fitted`: this report scores health with the fitted weights."
        )
        return WeightChoice(chosen, True, True, sentence)
    if better:
        sentence = (
            f"The weights fitted from history predict churn better than the configured ones ({gain}). This report "
            "still uses the configured weights; set `weights: fitted` in config/health.yaml to adopt the fitted ones."
        )
    elif config.use_weights == "fitted":
        sentence = (
            f"The fitted weights do not clearly beat the configured ones ({gain}; the interval does not lie above "
            "0), so this report keeps the configured weights although config/health.yaml says `weights: fitted`."
        )
    else:
        sentence = f"The fitted weights do not clearly beat the configured ones ({gain}): the configured weights stay."
    return WeightChoice(config, False, better, sentence)


def holdout_split(quarter, train_gap: int = 2, holdout: int = 2) -> tuple[pd.Timestamp, list[pd.Timestamp]]:
    """Training cut-off and holdout observation dates for comparing weights before ``quarter``.

    The holdout is the ``holdout`` quarter ends ending two quarters before ``quarter``
    (so most of their renewals inside a year are settled by then); training ends
    ``train_gap`` quarters before the first holdout date.

    Parameters
    ----------
    quarter : str or Quarter
        The quarter of the report, e.g. ``"2024Q4"``.
    train_gap : int
        Quarters between the training cut-off and the first holdout date.
    holdout : int
        Number of holdout observation dates (quarter ends).

    Returns
    -------
    tuple of (pandas.Timestamp, list of pandas.Timestamp)
        The training cut-off (``train_until``) and the holdout observation dates.
    """
    from insights.metrics.periods import parse_quarter

    q = parse_quarter(quarter)
    tests = [q.shift(-1 - holdout + i).end for i in range(holdout)]
    first = parse_quarter(f"{tests[0].year}Q{(tests[0].month - 1) // 3 + 1}")
    return first.shift(-train_gap).end, tests
