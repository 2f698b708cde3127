"""Playbook targeting: who responds to a piloted play, and what targeting it is worth.

From a randomised pilot and each account's pre-period snapshot (the metrics just before the
assignment, ``insights.metrics.snapshots``), the generic estimators of ``insights.stats`` give:

* the **test for heterogeneity first** (best linear projection and GATES by quantile group of the
  predicted uplift, with account-bootstrap intervals) and CLAN (how the most and least responsive
  groups differ);
* the **policy values** of treating everyone, no one, the top k% by predicted uplift and the current
  rule (a health band), as renewal rate and retained ARR, with the CSM hours and cost of the plays
  (``config/targeting.yaml``);
* the **ranked list** of accounts renewing in the next window by expected uplift x ARR.

Without heterogeneity the verdict says so and recommends the average decision, and the ranked list
uses the average effect for everyone. A per-account uplift is always an estimate for accounts like
this one, never a fact about the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from insights.analyses.health import score as health
from insights.analyses.pilots.readout import pilot_outcomes, plan_of
from insights.analyses.segments.rules import value_tier
from insights.data import paths
from insights.data.config_files import read_mapping
from insights.data.loading import Tables
from insights.data.settings import load_settings
from insights.display import points
from insights.errors import ConfigError, ParameterError
from insights.metrics import snapshots
from insights.stats import heterogeneity, policy_value, uplift
from insights.stats.intervals import Interval

#: Pre-period snapshot metrics used to predict the uplift (those an account lacks are imputed).
COVARIATES = (
    "arr",
    "tenure_years",
    "utilisation",
    "depth",
    "breadth",
    "satisfaction",
    "perceived_value",
    "switching_cost",
    "support_burden",
)

#: Said wherever a per-account uplift is shown.
CAVEAT = (
    "Expected uplift is a model estimate for accounts like this one (from the pilot's randomised "
    "comparison), not a measured fact about the account; read it with the group intervals."
)

DEFAULTS: dict[str, dict[str, Any]] = {
    "cost": {"csm_hours_per_play": 6.0, "cost_per_csm_hour": 100.0},
    "policies": {"top_shares": [0.1, 0.2, 0.3, 0.5], "current_rule_band": "red"},
    "estimation": {"folds": 2, "groups": 5, "bootstrap": 200, "alpha": 0.05, "min_accounts": 200, "min_per_arm": 80},
    "ranking": {"window_days": 90},
}


@dataclass(frozen=True)
class TargetingConfig:
    """Settings of the targeting analysis (``config/targeting.yaml``).

    Attributes
    ----------
    csm_hours_per_play, cost_per_csm_hour : float
        CSM hours one play takes, and the cost of one hour in the currency of ARR.
    top_shares : tuple of float
        Shares for the "treat the top k% by predicted uplift" policies.
    current_rule_band : str
        Health band the current rule treats (red, amber or green).
    folds, groups, bootstrap : int
        Cross-fitting folds, GATES groups, bootstrap replicates.
    alpha : float
        Level of the heterogeneity tests.
    min_accounts, min_per_arm : int
        Accounts with a known outcome a pilot needs, overall and per arm.
    window_days : int
        The ranked list covers accounts renewing within this many days after the data's end.
    """

    csm_hours_per_play: float = 6.0
    cost_per_csm_hour: float = 100.0
    top_shares: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
    current_rule_band: str = "red"
    folds: int = 2
    groups: int = 5
    bootstrap: int = 200
    alpha: float = 0.05
    min_accounts: int = 200
    min_per_arm: int = 80
    window_days: int = 90

    @property
    def cost_per_play(self) -> float:
        """Cost of one play: hours per play times the cost of an hour.

        Returns
        -------
        float
        """
        return self.csm_hours_per_play * self.cost_per_csm_hour


def load_config(path: Path | None = None) -> TargetingConfig:
    """Read ``config/targeting.yaml`` (a missing file or key takes its default).

    Parameters
    ----------
    path : pathlib.Path, optional
        Default ``<config>/targeting.yaml``.

    Returns
    -------
    TargetingConfig

    Raises
    ------
    ConfigError
        If the file is not a mapping, a section is not one, or a value has the wrong type or range.
    """
    path = Path(path) if path is not None else paths.config_dir() / "targeting.yaml"
    data = read_mapping(path, required=False, purpose="the playbook-targeting settings")
    merged = {}
    for name, defaults in DEFAULTS.items():
        section = data.get(name) or {}
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: the section {name!r} must be a mapping, got {section!r}.")
        merged.update({**defaults, **section})
    try:
        cfg = TargetingConfig(
            csm_hours_per_play=float(merged["csm_hours_per_play"]),
            cost_per_csm_hour=float(merged["cost_per_csm_hour"]),
            top_shares=tuple(float(s) for s in merged["top_shares"]),
            current_rule_band=str(merged["current_rule_band"]),
            folds=int(merged["folds"]),
            groups=int(merged["groups"]),
            bootstrap=int(merged["bootstrap"]),
            alpha=float(merged["alpha"]),
            min_accounts=int(merged["min_accounts"]),
            min_per_arm=int(merged["min_per_arm"]),
            window_days=int(merged["window_days"]),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: a setting has the wrong type ({exc}).") from None
    problems = []
    if cfg.csm_hours_per_play < 0 or cfg.cost_per_csm_hour < 0:
        problems.append("cost values must be >= 0")
    if not all(0 < s < 1 for s in cfg.top_shares):
        problems.append("policies.top_shares must lie strictly between 0 and 1")
    if cfg.current_rule_band not in ("red", "amber", "green"):
        problems.append("policies.current_rule_band must be red, amber or green")
    if cfg.folds < 2 or cfg.groups < 2 or cfg.bootstrap < 1 or not 0 < cfg.alpha < 1:
        problems.append("estimation needs folds >= 2, groups >= 2, bootstrap >= 1 and 0 < alpha < 1")
    if cfg.min_per_arm < cfg.folds * 2 or cfg.window_days < 1:
        problems.append("estimation.min_per_arm must be >= 2 x folds and ranking.window_days >= 1")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems) + ".")
    return cfg


def _snapshot_with_band(tables: Tables, as_of) -> pd.DataFrame:
    """Every account's snapshot just before ``as_of`` with its segment and health band."""
    snap = snapshots.features_at(tables, as_of, load_settings().features_available)
    snap = snap.assign(obs_date=pd.Timestamp(as_of), segment=value_tier(snap["arr"]).to_numpy())
    scored = health.score(snap)
    return snap.assign(band=scored["band"].astype("string").to_numpy())


def design_matrix(frame: pd.DataFrame, reference: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Covariates ready for the estimators: log ARR, medians for gaps plus "was missing" flags, segments as 0/1.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``COVARIATES`` (missing allowed) and ``segment``.
    reference : pandas.DataFrame, optional
        Rows whose medians and segments define the encoding (default ``frame``): the pilot's, so the
        ranked accounts are encoded as the pilot was.

    Returns
    -------
    design : pandas.DataFrame
        Same index as ``frame``; numeric columns, no missing values.
    columns : list of str
        Its column names.
    """
    ref = frame if reference is None else reference
    out = pd.DataFrame(index=frame.index)
    for c in COVARIATES:
        col = np.log1p(frame[c].clip(lower=0)) if c == "arr" else frame[c].astype(float)
        base = np.log1p(ref[c].clip(lower=0)) if c == "arr" else ref[c].astype(float)
        if base.notna().sum() == 0:
            continue
        out[c] = col.fillna(base.median())
        if base.isna().any():
            out[f"{c}_missing"] = col.isna().astype(float)
    for seg in sorted(ref["segment"].dropna().unique())[1:]:
        out[f"segment_{seg}"] = (frame["segment"] == seg).astype(float)
    return out, list(out.columns)


def pilot_frame(
    tables: Tables, pilot_id: str, grace_days: int, treatment: str | None = None, config: TargetingConfig | None = None
) -> pd.DataFrame:
    """The pilot's accounts with a known outcome, their arm as 0/1 and the pre-period snapshot.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    pilot_id : str
        The pilot.
    grace_days : int
        Grace period of the churn definition.
    treatment : str, optional
        The treatment arm (default: the plan's first treatment arm).
    config : TargetingConfig, optional
        Default ``load_config()`` (its minimum sizes apply).

    Returns
    -------
    pandas.DataFrame
        One row per resolved account of the control and treatment arm: account_id, arm, stratum,
        renewed, arr_at_renewal, treated (0/1), propensity (the plan's share of treatment among
        the two arms), band (health band at assignment) and the ``COVARIATES`` plus ``segment`` as
        they stood just before the assignment.

    Raises
    ------
    ParameterError
        If the pilot is unknown, is too small (fewer than ``min_accounts`` resolved accounts or
        ``min_per_arm`` in an arm, from ``config/targeting.yaml``), or has no pre-period covariates
        (no account had a contract and at least one usage, survey or support metric before the assignment).
    """
    cfg = config or load_config()
    plan = plan_of(tables, pilot_id)
    arm = treatment or plan.treatments[0]
    if arm not in plan.treatments:
        raise ParameterError(
            f"{arm!r} is not a treatment arm of pilot {pilot_id!r}; its treatments: {plan.treatments}."
        )
    out = pilot_outcomes(tables, pilot_id, grace_days)
    out = out[(out["status"] == "resolved") & out["arm"].isin([plan.control, arm])].reset_index(drop=True)
    counts = out["arm"].value_counts()
    n_t, n_c = int(counts.get(arm, 0)), int(counts.get(plan.control, 0))
    if len(out) < cfg.min_accounts or min(n_t, n_c) < cfg.min_per_arm:
        raise ParameterError(
            f"pilot {pilot_id!r} is too small for targeting: {len(out)} accounts with a known outcome "
            f"({n_t} {arm}, {n_c} {plan.control}); it needs {cfg.min_accounts} and {cfg.min_per_arm} per arm "
            "(config/targeting.yaml). Read its average effect with `insights pilot readout` instead."
        )
    snap = _snapshot_with_band(tables, plan.assigned_at)
    pre = snap.reindex(out["account_id"])
    behaviour = [c for c in COVARIATES if c not in ("arr", "tenure_years") and pre[c].notna().any()]
    if pre["arr"].isna().all() or not behaviour:
        raise ParameterError(
            f"pilot {pilot_id!r} has no pre-period covariates: none of its accounts had a snapshot "
            f"(contract, usage, surveys) before {plan.assigned_at}. Load the history before the assignment "
            "date (usage_monthly, surveys) to target by account."
        )
    shares = dict(zip(plan.arms, plan.shares))
    out = out.rename(columns={"arr": "arr_at_renewal"}).drop(columns=list(COVARIATES), errors="ignore")
    out = out.assign(
        treated=(out["arm"] == arm).astype(int),
        propensity=shares[arm] / (shares[arm] + shares[plan.control]),
    )
    pre = pre[[*COVARIATES, "segment", "band"]].reset_index(drop=True)
    return pd.concat([out, pre], axis=1)


@dataclass
class Targeting:
    """Result of ``analyse``: tests, groups, policies, the verdict, and the fitted effect model.

    Attributes
    ----------
    pilot_id, treatment, control : str
        The pilot and the two arms compared.
    frame : pandas.DataFrame
        ``pilot_frame`` plus the DR-learner's columns (``insights.stats.uplift.SCORE_COLUMNS``).
    blp : insights.stats.heterogeneity.LinearProjection
        Best linear projection and its heterogeneity test.
    gates : pandas.DataFrame
        Effects by quantile group of predicted uplift (``insights.stats.heterogeneity.gates``).
    clan : pandas.DataFrame
        Most vs least responsive group, by covariate.
    policies : pandas.DataFrame
        One row per policy (``policy_table``).
    qini : pandas.DataFrame
        Qini curve of renewal-rate gain with its band.
    heterogeneous : bool
        Whether the BLP test or the GATES most-minus-least interval finds heterogeneity at ``alpha``.
    verdict : str
        The plain-language answer with its numbers.
    answer : str
        The answer in one sentence (heterogeneity found or not, and what to do).
    method : str
        The estimator (``insights.stats.uplift.dr_learner``'s method).
    config : TargetingConfig
        Settings used.
    effect_model : scikit-learn estimator
        The effect model refitted on every pilot account's pseudo-outcome (used by ``ranked_accounts``).
    columns : list of str
        Its covariate columns (``design_matrix``).
    policy : str
        The policy the verdict recommends (a name of ``policies``): with heterogeneity, the top-k%
        policy with the most ARR net of the plays' cost; without, "treat everyone" (the average
        effect's interval lies above 0 and the play pays for its CSM time), "treat no one" (the
        interval lies below 0), or "" when the average effect is not clear (extend the pilot).
    policy_share : float
        Share of accounts that policy treats (k for a top-k% policy, 1, 0; NaN without a policy).
    """

    pilot_id: str
    treatment: str
    control: str
    frame: pd.DataFrame
    blp: heterogeneity.LinearProjection
    gates: pd.DataFrame
    clan: pd.DataFrame
    policies: pd.DataFrame
    qini: pd.DataFrame
    heterogeneous: bool
    verdict: str
    answer: str
    method: str
    config: TargetingConfig
    effect_model: Any = field(repr=False, default=None)
    columns: list = field(repr=False, default_factory=list)
    policy: str = ""
    policy_share: float = float("nan")

    @property
    def average(self) -> Interval:
        """The average effect on the renewal rate (BLP intercept, DR).

        Returns
        -------
        insights.stats.intervals.Interval
        """
        return self.blp.average

    def headline(self) -> dict:
        """Front-page headlines of the targeting analysis (label -> formatted text).

        Returns
        -------
        dict
            The answer (first sentence of the verdict), the average effect with its interval, and the
            heterogeneity tests.
        """
        a, d = self.average, self.gates.attrs["difference"]
        return {
            "Answer": self.answer,
            "Average effect on renewal": f"{points(a.estimate)} ({points(a.low)} to {points(a.high)}; {a.method})",
            "Heterogeneity": (
                f"{self.blp.test.method}: p = {self.blp.test.p_value:.2g}; most minus least responsive group "
                f"{points(d.estimate)} ({points(d.low)} to {points(d.high)})"
            ),
        }


def policy_table(scored: pd.DataFrame, cfg: TargetingConfig, level: float = 0.95) -> pd.DataFrame:
    """Renewal rate and retained ARR under each policy, with the plays' CSM hours and cost.

    Parameters
    ----------
    scored : pandas.DataFrame
        ``pilot_frame`` plus the DR-learner's columns.
    cfg : TargetingConfig
        Policies and costs.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per policy (treat everyone, treat no one, top k% by predicted uplift, the current
        rule): policy, plays, csm_hours, renewal_rate (+ low/high), renewal_gain (+ low/high, over
        treating no one, per account), retained_arr (+ low/high, over the pilot's accounts),
        arr_gain (+ low/high), play_cost, net_arr_gain, arr_gain_per_csm_hour, method.
    """
    n = len(scored)
    policies: dict[str, np.ndarray] = {"treat everyone": np.ones(n), "treat no one": np.zeros(n)}
    for s in cfg.top_shares:
        policies[f"top {s:.0%} by predicted uplift"] = policy_value.top_share_policy(scored["cate"], s)
    policies[f"current rule: {cfg.current_rule_band} health"] = (scored["band"] == cfg.current_rule_band).to_numpy(
        float
    )
    rate = policy_value.policy_value(scored, policies, cluster="cluster", level=level)
    arr = policy_value.policy_value(scored, policies, weight="arr", cluster="cluster", level=level)
    plays = np.array([p.sum() for p in policies.values()])
    out = pd.DataFrame(
        {"policy": list(policies), "plays": plays.astype(int), "csm_hours": plays * cfg.csm_hours_per_play}
    )
    out["renewal_rate"], out["renewal_rate_low"], out["renewal_rate_high"] = (
        rate["value"],
        rate["value_low"],
        rate["value_high"],
    )
    out["renewal_gain"], out["renewal_gain_low"], out["renewal_gain_high"] = (
        rate["gain"],
        rate["gain_low"],
        rate["gain_high"],
    )
    for src, dst in (("value", "retained_arr"), ("gain", "arr_gain")):
        for suffix in ("", "_low", "_high"):
            out[dst + suffix] = arr[src + suffix] * n
    out["play_cost"] = out["csm_hours"] * cfg.cost_per_csm_hour
    out["net_arr_gain"] = out["arr_gain"] - out["play_cost"]
    out["arr_gain_per_csm_hour"] = out["arr_gain"] / out["csm_hours"].where(out["csm_hours"] > 0)
    out["method"] = rate["method"] + "; ARR = ARR-weighted value x accounts"
    return out


def policy_summary(policies: pd.DataFrame) -> pd.DataFrame:
    """``policy_table`` as a reader reads it: one row per policy, each estimate with its interval in one cell.

    Parameters
    ----------
    policies : pandas.DataFrame
        Output of ``policy_table``.

    Returns
    -------
    pandas.DataFrame
        Indexed by policy: plays, CSM hours, renewal rate, gain in renewal (points), ARR gain and
        net ARR gain after the plays' cost, as text with the interval in brackets; the method is in
        ``attrs["method"]``.
    """
    from insights.display import money, percent

    def span(row, col, fmt):
        return f"{fmt(row[col])} ({fmt(row[col + '_low'])} to {fmt(row[col + '_high'])})"

    def bare_points(x):
        return f"{100 * x:+.1f}"

    out = pd.DataFrame(
        {
            "plays": [f"{n:,}" for n in policies["plays"]],
            "CSM hours": [f"{h:,.0f}" for h in policies["csm_hours"]],
            "renewal rate": [span(r, "renewal_rate", percent) for _, r in policies.iterrows()],
            "gain in renewal (points)": [span(r, "renewal_gain", bare_points) for _, r in policies.iterrows()],
            "ARR gain": [span(r, "arr_gain", money) for _, r in policies.iterrows()],
            "net ARR gain after the plays' cost": [money(x) for x in policies["net_arr_gain"]],
        },
        index=pd.Index(policies["policy"], name="policy"),
    )
    out.attrs["method"] = str(policies["method"].iloc[0]) if len(policies) else ""
    return out


def _decision(blp, gates_table: pd.DataFrame, policies: pd.DataFrame, cfg: TargetingConfig) -> tuple[bool, str, float]:
    """Whether heterogeneity is found, the policy the verdict recommends and the share of accounts it treats.

    With heterogeneity (the BLP test or the GATES most-minus-least interval rejects at ``alpha``): the
    top-k% policy with the most ARR net of the plays' cost. Without: the average decision, "treat
    everyone" when the average effect's interval lies above 0 and the play pays for its CSM time,
    "treat no one" when the interval lies below 0, else no policy ("", NaN: extend the pilot).
    """
    diff = gates_table.attrs["difference"]
    if blp.test.p_value < cfg.alpha or diff.low > 0:
        tops = policies.iloc[2 : 2 + len(cfg.top_shares)].assign(share=list(cfg.top_shares))
        best = tops.sort_values("net_arr_gain", ascending=False).iloc[0]
        return True, str(best["policy"]), float(best["share"])
    avg = blp.average
    if avg.low > 0 and policies.iloc[0]["net_arr_gain"] > 0:
        return False, str(policies.iloc[0]["policy"]), 1.0
    if avg.high < 0:
        return False, str(policies.iloc[1]["policy"]), 0.0
    return False, "", float("nan")


def _verdict(
    blp, gates_table: pd.DataFrame, policies: pd.DataFrame, decision: tuple[bool, str, float]
) -> tuple[str, str]:
    found, policy, _ = decision
    diff = gates_table.attrs["difference"]
    avg = blp.average
    if policy == "treat everyone":
        average = "the play raises renewal on average and pays for its CSM time: give it to every renewing account"
    elif policy == "treat no one":
        average = "the play lowers renewal on average: give it to no one"
    else:
        average = "the average effect is not clear, so extend the pilot rather than roll the play out"
    bounds = f"{points(avg.low)} to {points(avg.high)}"
    effect = f"average effect on the renewal rate {points(avg.estimate)} ({bounds}, {avg.method})"
    if not found:
        return (
            f"No heterogeneity found; treat by the average decision: {average}.",
            (
                f"No heterogeneity found: the data do not show that some accounts respond more than others "
                f"(BLP test p = {blp.test.p_value:.2g}; most minus least responsive group {points(diff.estimate)}, "
                f"{points(diff.low)} to {points(diff.high)}). Treat by the average decision; {average}.\n"
                f"The {effect}; per-account uplift estimates are not used for targeting."
            ),
        )
    best = policies[policies["policy"] == policy].iloc[0]
    answer = f"Heterogeneity found; target the play: {policy} gains the most ARR net of CSM time."
    return (
        answer,
        (
            f"Heterogeneity found (BLP test p = {blp.test.p_value:.2g}; most minus least responsive group "
            f"{points(diff.estimate)}, {points(diff.low)} to {points(diff.high)}): target the play. "
            f"Best of the policies compared: {policy}, {best['plays']} plays, "
            f"{best['csm_hours']:,.0f} CSM hours, ARR gain "
            f"{best['arr_gain']:,.0f} ({best['arr_gain_low']:,.0f} to {best['arr_gain_high']:,.0f}) "
            "over treating no one.\n"
            f"The {effect}."
        ),
    )


def analyse(
    tables: Tables,
    pilot_id: str,
    grace_days: int,
    treatment: str | None = None,
    config: TargetingConfig | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> Targeting:
    """Heterogeneity tests, groups, policy values and the verdict for one pilot.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    pilot_id : str
        The pilot.
    grace_days : int
        Grace period of the churn definition.
    treatment : str, optional
        The treatment arm (default: the plan's first).
    config : TargetingConfig, optional
        Default ``load_config()``.
    level : float, default 0.95
        Confidence level of every interval.
    seed : int, default 0
        Seed of the folds and the bootstrap.

    Returns
    -------
    Targeting

    Raises
    ------
    ParameterError
        As ``pilot_frame`` (unknown, too small, no pre-period covariates).
    """
    cfg = config or load_config()
    frame = pilot_frame(tables, pilot_id, grace_days, treatment, cfg)
    return analyse_frame(frame, pilot_id, plan_of(tables, pilot_id).control, cfg, level, seed)


def analyse_frame(
    frame: pd.DataFrame,
    pilot_id: str,
    control: str,
    config: TargetingConfig | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> Targeting:
    """``analyse`` on a pilot's frame: the estimation once the accounts and their snapshots are known.

    Parameters
    ----------
    frame : pandas.DataFrame
        As ``pilot_frame`` returns it: account_id, arm, stratum, renewed, treated (0/1), propensity,
        band, arr, the ``COVARIATES`` (missing allowed) and segment.
    pilot_id : str
        The pilot's name (carried into the result).
    control : str
        Name of the control arm.
    config, level, seed
        As ``analyse``.

    Returns
    -------
    Targeting

    Raises
    ------
    ParameterError
        If a column is missing, or an arm is too small for the folds (``insights.stats.uplift.dr_learner``).
    """
    cfg = config or load_config()
    design, columns = design_matrix(frame)
    data = pd.concat([frame[["account_id", "renewed", "treated", "propensity", "stratum"]], design], axis=1)
    scores = uplift.dr_learner(
        data,
        "renewed",
        "treated",
        columns,
        propensity="propensity",
        cluster="account_id",
        strata="stratum",
        folds=cfg.folds,
        seed=seed,
    )
    scored = pd.concat([frame, scores.drop(columns=["outcome", "treated", "propensity"])], axis=1)
    blp = heterogeneity.best_linear_projection(scored, cluster="cluster", level=level)
    gates_table = heterogeneity.gates(
        scored, groups=cfg.groups, cluster="cluster", n_boot=cfg.bootstrap, level=level, seed=seed
    )
    clan_table = heterogeneity.clan(
        scored, [c for c in COVARIATES if scored[c].notna().all()], groups=cfg.groups, level=level
    )
    policies = policy_table(scored, cfg, level)
    qini = policy_value.qini_curve(scored, points=20, cluster="cluster", n_boot=cfg.bootstrap, level=level, seed=seed)
    decision = _decision(blp, gates_table, policies, cfg)
    answer, verdict = _verdict(blp, gates_table, policies, decision)
    effect_model = clone(uplift.default_effect_model()).fit(design.to_numpy(float), scored["score"].to_numpy(float))
    return Targeting(
        pilot_id=pilot_id,
        treatment=frame.loc[frame["treated"] == 1, "arm"].iloc[0],
        control=control,
        frame=scored,
        blp=blp,
        gates=gates_table,
        clan=clan_table,
        policies=policies,
        qini=qini,
        heterogeneous=decision[0],
        verdict=verdict,
        answer=answer,
        method=scores.attrs["method"],
        config=cfg,
        effect_model=effect_model,
        columns=columns,
        policy=decision[1],
        policy_share=decision[2],
    )


def predicted_uplift(result: Targeting, accounts: pd.DataFrame) -> np.ndarray:
    """The effect model's uplift for accounts outside the pilot, encoded as the pilot's accounts were.

    Parameters
    ----------
    result : Targeting
        From ``analyse``.
    accounts : pandas.DataFrame
        Rows with the ``COVARIATES`` (missing allowed) and ``segment``.

    Returns
    -------
    numpy.ndarray
        Predicted renewal-probability uplift per row (a model estimate, not a fact about the account).
    """
    if not len(accounts):
        return np.zeros(0)
    design, _ = design_matrix(accounts, result.frame)
    design = design.reindex(columns=result.columns, fill_value=0.0)
    return result.effect_model.predict(design.to_numpy(float))


def uplift_group(result: Targeting, uplift_hat) -> np.ndarray:
    """The GATES group (1 = least responsive) of each predicted uplift, by the pilot's cut points.

    Parameters
    ----------
    result : Targeting
        From ``analyse``.
    uplift_hat : array-like of float
        Predicted uplift per account (``predicted_uplift``).

    Returns
    -------
    numpy.ndarray of int
        Group 1 to ``result.config.groups`` per account.
    """
    groups = result.config.groups
    cuts = result.frame.groupby(heterogeneity.uplift_groups(result.frame["cate"], groups))["cate"].max().to_numpy()
    return np.minimum(np.searchsorted(cuts[:-1], np.asarray(uplift_hat, dtype=float), side="left") + 1, groups)


def ranked_accounts(tables: Tables, result: Targeting) -> pd.DataFrame:
    """Accounts renewing in the next window, ranked by expected uplift x ARR.

    The uplift of each account comes from the effect model fitted on the whole pilot (its DR
    pseudo-outcomes on the pre-period covariates), applied to the account's snapshot at the data's
    end. Without heterogeneity every account gets the average effect. Each row carries the
    interval of its GATES group (the pilot's accounts with similar predicted uplift).

    Parameters
    ----------
    tables : Tables
        Validated raw tables (the snapshot is taken at ``tables.as_of`` + 1 day).
    result : Targeting
        From ``analyse``.

    Returns
    -------
    pandas.DataFrame
        account_id, name, segment, renewal_date, days_to_renewal, arr, band, expected_uplift (renewal
        probability points as a share), expected_arr (uplift x ARR), uplift_group, group_effect,
        group_low, group_high (GATES), play_cost, rank; sorted by expected_arr. ``attrs["caveat"]``
        holds ``CAVEAT``.
    """
    cfg = result.config
    as_of = pd.Timestamp(tables.as_of) + pd.Timedelta(days=1)
    snap = _snapshot_with_band(tables, as_of)
    snap = snap[snap["days_to_renewal"].between(0, cfg.window_days)]
    average = np.full(len(snap), result.average.estimate)
    uplift_hat = predicted_uplift(result, snap) if result.heterogeneous else average
    group = uplift_group(result, uplift_hat)
    g = result.gates.set_index("group")
    names = tables.accounts.set_index("account_id")["name"]
    out = pd.DataFrame(
        {
            "account_id": snap.index,
            "name": names.reindex(snap.index).to_numpy(),
            "segment": snap["segment"].to_numpy(),
            "renewal_date": snap["renewal_date"].to_numpy(),
            "days_to_renewal": snap["days_to_renewal"].to_numpy(),
            "arr": snap["arr"].to_numpy(),
            "band": snap["band"].to_numpy(),
            "expected_uplift": uplift_hat,
            "expected_arr": uplift_hat * snap["arr"].to_numpy(),
            "uplift_group": group if result.heterogeneous else np.nan,
            "group_effect": g["estimate"].reindex(group).to_numpy() if result.heterogeneous else np.nan,
            "group_low": g["low"].reindex(group).to_numpy() if result.heterogeneous else np.nan,
            "group_high": g["high"].reindex(group).to_numpy() if result.heterogeneous else np.nan,
            "play_cost": cfg.cost_per_play,
        }
    )
    out = out.sort_values(["expected_arr", "account_id"], ascending=[False, True]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs["caveat"] = CAVEAT
    return out


def refusal(tables: Tables, pilot_id: str | None, grace_days: int, config: TargetingConfig | None = None) -> str | None:
    """Why a pilot cannot be targeted (no pilot, unknown, too small, no pre-period covariates), or None.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    pilot_id : str or None
        The pilot (None: the data hold no pilot).
    grace_days : int
        Grace period of the churn definition.
    config : TargetingConfig, optional
        Default ``load_config()``.

    Returns
    -------
    str or None
        The message ``analyse`` would raise (what to do instead), or None when it can run.
    """
    if pilot_id is None:
        return "The data hold no pilot: assign one with `insights pilot assign`, then read it out here."
    try:
        pilot_frame(tables, pilot_id, grace_days, config=config)
    except ParameterError as exc:
        return str(exc)
    return None
