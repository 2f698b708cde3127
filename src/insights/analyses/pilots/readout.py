"""Pilot readout: outcomes per account, every comparison with a named interval, and a decision.

The primary outcome is renewal at the account's renewal inside the pilot window
(success = renewed; churn is derived from contract terms with the grace period).
A continuous outcome (net ARR change at that renewal) and a guardrail (support
tickets during the pilot) are read out alongside.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insights.analyses.pilots.assignment import ARMS, PilotPlan, load_plan
from insights.analyses.pilots.covariates import pre_period
from insights.data.loading import Tables
from insights.errors import ParameterError
from insights.metrics import churn
from insights.stats import adjustment, bayes, experiments, intervals, sequential, stratified

SRM_ALPHA = 0.001  # a sample-ratio mismatch this unlikely means the assignment is broken


def assignment_of(tables: Tables, pilot_id: str) -> pd.DataFrame:
    """The assignment record of one pilot.

    Parameters
    ----------
    tables : Tables
        Validated raw tables (pilot_assignments).
    pilot_id : str
        The pilot.

    Returns
    -------
    pandas.DataFrame
        The pilot's rows of ``pilot_assignments``.

    Raises
    ------
    ParameterError
        If the pilot is unknown (the message lists the known ones) or has fewer than two arms.
    """
    pilots = tables.pilot_assignments
    rec = pilots[pilots["pilot_id"] == pilot_id]
    if rec.empty:
        known = sorted(pilots["pilot_id"].unique())
        raise ParameterError(
            f"unknown pilot {pilot_id!r}; pilots with an assignment record: {', '.join(known) if known else 'none'}."
        )
    if rec["arm"].nunique() < 2:
        raise ParameterError(
            f"pilot {pilot_id!r} has only the arm(s) {sorted(rec['arm'].unique())}: a readout needs at least two arms."
        )
    return rec.reset_index(drop=True)


def plan_of(tables: Tables, pilot_id: str) -> PilotPlan:
    """The stored plan, or one inferred from the record (window: a year from assignment).

    Parameters
    ----------
    tables : Tables
        Validated raw tables (data_dir, pilot_assignments).
    pilot_id : str
        The pilot.

    Returns
    -------
    PilotPlan
        The stored plan; otherwise one with the record's arms (control first when they are
        ``ARMS``), equal shares and the default settings.

    Raises
    ------
    ParameterError
        If no plan is stored and the pilot has no assignment record or fewer than two arms.
    """
    plan = load_plan(tables.data_dir, pilot_id)
    if plan is not None:
        return plan
    rec = assignment_of(tables, pilot_id)
    start = rec["assigned_at"].min()
    arms = tuple(a for a in ARMS if a in set(rec["arm"])) or tuple(sorted(rec["arm"].unique()))
    if len(arms) < 2:
        arms = tuple(sorted(rec["arm"].unique()))
    return PilotPlan(
        pilot_id=pilot_id,
        description="(no plan stored)",
        assigned_at=str(start.date()),
        window=(str(start.date()), str((start + pd.DateOffset(years=1)).date())),
        arms=arms,
        shares=tuple([1 / len(arms)] * len(arms)),
    )


def latest_pilot(tables: Tables) -> str | None:
    """The most recently assigned pilot, or None if there is none.

    Parameters
    ----------
    tables : Tables
        Validated raw tables (pilot_assignments).

    Returns
    -------
    str or None
        Pilot id with the latest ``assigned_at`` (ties: the last id).
    """
    pilots = tables.pilot_assignments
    if pilots.empty:
        return None
    return str(pilots.sort_values(["assigned_at", "pilot_id"])["pilot_id"].iloc[-1])


def pilot_outcomes(
    tables: Tables, pilot_id: str, grace_days: int, outcomes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per assigned account: arm, stratum, its renewal in the window and the outcomes.

    Parameters
    ----------
    outcomes : pandas.DataFrame, optional
        Extra outcome columns by account_id (e.g. from a survey); every account must be
        in the assignment.

    Returns
    -------
    pandas.DataFrame
        account_id, arm, stratum, contract_id, end_date, status (resolved: the grace
        period after the renewal date has passed, so renewals and churns are both known;
        inside_grace; not_yet_due; no_renewal_in_window), renewed (1/0, NaN unless
        resolved), arr_change (successor
        ARR minus ARR if renewed, minus ARR if churned), tickets (support tickets from
        assignment to the renewal) and the pre-period covariates.

    Raises
    ------
    ParameterError
        For an unknown pilot or outcomes of accounts that were not assigned.
    """
    rec = assignment_of(tables, pilot_id)
    plan = plan_of(tables, pilot_id)
    if outcomes is not None:
        stray = set(outcomes["account_id"]) - set(rec["account_id"])
        if stray:
            raise ParameterError(
                f"outcomes given for {len(stray)} account(s) not assigned in pilot {pilot_id!r}, "
                f"e.g. {sorted(stray)[:5]}; remove them."
            )
    assigned = rec["assigned_at"].min()
    lo, hi = (pd.Timestamp(d) for d in plan.window)
    terms = churn.contract_outcomes(tables.contracts, grace_days, tables.as_of)
    terms = terms[
        terms["account_id"].isin(rec["account_id"])
        & (terms["end_date"] >= lo)
        & (terms["end_date"] <= hi)
        & (terms["start_date"] <= assigned)
    ]
    terms = terms.sort_values("end_date").groupby("account_id").head(1)
    succ_arr = tables.contracts.set_index("contract_id")["arr"]
    out = rec[["account_id", "arm", "stratum"]].merge(
        terms[["account_id", "contract_id", "end_date", "outcome", "successor_id", "arr"]], on="account_id", how="left"
    )
    # An outcome counts once the renewal is settled (its grace period is over), for renewals and churns
    # alike: a renewal shows at once but a churn only after the grace period, so counting early
    # renewals would bias an interim renewal rate upward.
    known = churn.settled(out["end_date"], grace_days, tables.as_of)
    out["status"] = np.select(
        [out["outcome"].isna(), out["end_date"] > tables.as_of, ~known],
        ["no_renewal_in_window", "not_yet_due", "inside_grace"],
        "resolved",
    )
    resolved = out["status"] == "resolved"
    out["renewed"] = np.where(resolved, (out["outcome"] == churn.RENEWED).astype(float), np.nan)
    next_arr = out["successor_id"].map(succ_arr)
    out["arr_change"] = np.where(resolved, np.where(out["renewed"] == 1, next_arr - out["arr"], -out["arr"]), np.nan)
    t = tables.support_tickets.merge(out[["account_id", "end_date"]], on="account_id")
    t = t[(t["created_at"] >= assigned) & (t["created_at"] <= t["end_date"])]
    out["tickets"] = out["account_id"].map(t.groupby("account_id").size()).fillna(0).astype(float)
    cov = pre_period(tables, assigned, rec["account_id"])
    out = out.merge(cov, left_on="account_id", right_index=True, how="left", suffixes=("", "_pre"))
    if outcomes is not None:
        out = out.merge(outcomes, on="account_id", how="left")
    return out.drop(columns=["outcome"])


@dataclass
class Readout:
    """Everything a pilot readout reports (see ``readout``).

    Attributes
    ----------
    pilot_id : str
        The pilot.
    plan : PilotPlan
        Its stored (or inferred) plan.
    data : pandas.DataFrame
        Output of ``pilot_outcomes``.
    counts : pandas.DataFrame
        Accounts per arm and renewal status, with ``assigned``.
    srm : TestResult
        Sample-ratio mismatch test of the arm sizes against the plan's shares.
    per_arm : pandas.DataFrame
        Renewal rate per arm with its interval.
    difference, lift : Interval
        Renewal-rate difference and relative lift, treatment against control.
    test : TestResult
        The test of the difference.
    adjusted : AdjustedEffect or None
        Covariate-adjusted difference.
    stratified : StratifiedResult or None
        Stratified (Mantel-Haenszel) estimate with per-segment effects.
    bayes : BayesResult
        Beta-binomial view of the two renewal rates.
    looks : pandas.DataFrame
        The group-sequential looks.
    arr_change : tuple of (Interval, TestResult) or None
        Difference in net ARR change at renewal and its test.
    guardrail : dict
        Support-ticket guardrail: metric, treatment, control, difference, test, breached.
    decision, reason : str
        Output of ``decide``.
    notes : list of str
        Caveats found along the way.
    comparison : ArmComparison or None
        The ``insights.stats.experiments.compare_arms`` result behind the numbers.
    """

    pilot_id: str
    plan: PilotPlan
    data: pd.DataFrame
    counts: pd.DataFrame
    srm: intervals.TestResult
    per_arm: pd.DataFrame
    difference: intervals.Interval
    lift: intervals.Interval
    test: intervals.TestResult
    adjusted: adjustment.AdjustedEffect | None
    stratified: stratified.StratifiedResult | None
    bayes: bayes.BayesResult
    looks: pd.DataFrame
    arr_change: tuple[intervals.Interval, intervals.TestResult] | None
    guardrail: dict
    decision: str
    reason: str
    notes: list[str] = field(default_factory=list)
    comparison: experiments.ArmComparison | None = None

    def headline(self) -> dict:
        """Front-page items: the pilot, its effect and the decision.

        Returns
        -------
        dict of str to str
            The pilot and its description, the renewal-rate difference with its interval, and the
            decision with its reason.
        """
        d = self.difference
        return {
            "pilot": f"{self.pilot_id}: {self.plan.description}",
            "renewal rate, treatment - control": f"{100 * d.estimate:+.1f} points ({d.method}: "
            f"{100 * d.low:+.1f} to {100 * d.high:+.1f})",
            "decision": f"{self.decision.upper()} — {self.reason}",
        }

    def summary(self) -> pd.DataFrame:
        """The headline numbers as a table (estimate, interval, method).

        Returns
        -------
        pandas.DataFrame
            Indexed by quantity: estimate, low, high, method.
        """
        rows = [
            ("renewal rate difference (treatment - control)", self.difference),
            ("relative lift in renewal rate", self.lift),
        ]
        if self.adjusted is not None:
            rows.append(("difference adjusted for the pre-period covariate", self.adjusted.adjusted))
        if self.stratified is not None:
            rows.append(("stratified difference across segments", self.stratified.risk_difference))
        if self.arr_change is not None:
            rows.append(("net ARR change at renewal, difference", self.arr_change[0]))
        return pd.DataFrame(
            [{"quantity": q, "estimate": i.estimate, "low": i.low, "high": i.high, "method": i.method} for q, i in rows]
        ).set_index("quantity")


def _look_table(data: pd.DataFrame, plan: PilotPlan, control: str, treatment: str) -> pd.DataFrame:
    """Group-sequential view at the planned looks.

    Look ``k`` of ``plan.looks`` happens once ``k / looks`` of the planned outcomes (every
    assigned account with a renewal in the window) are known, outcomes becoming known in
    order of renewal date. Boundaries are Lan-DeMets O'Brien-Fleming-type spending at those
    planned information fractions; looks not reached yet are listed with ``reached`` False.
    """
    planned = data[data["status"] != "no_renewal_in_window"]
    res = data[data["status"] == "resolved"].sort_values(["end_date", "account_id"])
    n_planned = len(planned)
    if n_planned == 0:
        return pd.DataFrame()
    info = [k / plan.looks for k in range(1, plan.looks + 1)]
    bounds = sequential.spending_boundaries(info, alpha=plan.alpha)
    rows = []
    for k, fraction in enumerate(info, 1):
        need = int(np.ceil(fraction * n_planned))
        reached = len(res) >= need
        part = res.head(need) if reached else res.iloc[0:0]
        t, c = part[part["arm"] == treatment], part[part["arm"] == control]
        z = np.nan
        if reached and len(t) and len(c):
            x1, n1, x0, n0 = t["renewed"].sum(), len(t), c["renewed"].sum(), len(c)
            p = (x1 + x0) / (n1 + n0)
            se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / n0))
            z = (x1 / n1 - x0 / n0) / se if se > 0 else 0.0
        rows.append(
            {
                "look": k,
                "information": fraction,
                "outcomes": need,
                "reached": reached,
                "date": part["end_date"].max() if reached and len(part) else pd.NaT,
                "z": z,
                "z_boundary": float(bounds["z_boundary"].iloc[k - 1]),
            }
        )
    looks = pd.DataFrame(rows)
    looks["crossed"] = looks["reached"] & (looks["z"].abs() >= looks["z_boundary"])
    looks.attrs["method"] = (
        "Lan-DeMets O'Brien-Fleming-type alpha spending at planned information fractions, pooled two-proportion z"
    )
    return looks


def readout(
    tables: Tables,
    pilot_id: str,
    grace_days: int,
    level: float = 0.95,
    covariate: str = "utilisation",
    outcomes: pd.DataFrame | None = None,
) -> Readout:
    """Read out a renewal pilot.

    Parameters
    ----------
    tables : Tables
    pilot_id : str
    grace_days : int
        Grace period of the churn definition.
    level : float
        Confidence level of every interval.
    covariate : str
        Pre-period metric for regression adjustment (CUPED / ANCOVA).
    outcomes : pandas.DataFrame, optional
        Extra outcomes by account_id (must all be assigned accounts).

    Returns
    -------
    Readout
        Counts and sample-ratio check, per-arm renewal rates (Wilson), the difference
        (Newcombe) and relative lift (delta method), the automatically chosen test,
        the covariate-adjusted difference, the stratified (Mantel-Haenszel) estimate
        with per-segment effects (Holm), the Bayesian beta-binomial view, the
        group-sequential looks, net ARR change (Welch), the support-ticket guardrail
        and a decision (ship / extend / stop) with its reason. ``comparison`` holds the
        ``insights.stats.experiments.compare_arms`` result of the renewal outcome that
        these numbers come from.

    Raises
    ------
    ParameterError
        For an unknown pilot, a pilot with fewer than two arms, outcomes of unassigned
        accounts, an arm without a resolved renewal yet, or a covariate column that is not
        numeric or is constant.
    """
    plan = plan_of(tables, pilot_id)
    data = pilot_outcomes(tables, pilot_id, grace_days, outcomes)
    control, treatment = plan.arms[0], plan.arms[1]
    notes = []
    counts = data.pivot_table(index="arm", columns="status", values="account_id", aggfunc="count", fill_value=0)
    counts["assigned"] = counts.sum(axis=1)
    assigned = counts["assigned"].astype(int)
    observed = {a: int(assigned[a]) if a in assigned.index else 0 for a in plan.arms}
    srm = intervals.sample_ratio_mismatch(observed, dict(zip(plan.arms, plan.shares)))
    for status, text in (
        ("inside_grace", "renewed or churned less than the grace period ago"),
        ("not_yet_due", "renewal date still ahead"),
    ):
        if status in counts and counts[status].sum():
            notes.append(f"{int(counts[status].sum())} account(s) not counted yet ({text}).")
    if "no_renewal_in_window" in counts and counts["no_renewal_in_window"].sum():
        notes.append(
            f"{int(counts['no_renewal_in_window'].sum())} assigned account(s) have no renewal inside the "
            "pilot window; they are left out of the renewal outcome."
        )
    res = data[data["status"] == "resolved"]
    t, c = res[res["arm"] == treatment], res[res["arm"] == control]
    if len(t) == 0 or len(c) == 0:
        raise ParameterError(
            f"pilot {pilot_id!r} has no resolved renewal in arm "
            f"{treatment if len(t) == 0 else control} yet; read it out after the window closes."
        )
    pair = res[res["arm"].isin([control, treatment])]
    with_covariate = covariate in res and res[covariate].notna().sum() > 10
    complete = with_covariate and bool(res[covariate].notna().all())
    compared = experiments.compare_arms(
        res,
        "arm",
        "renewed",
        control,
        [treatment],
        strata="stratum" if pair["stratum"].dropna().unique().size > 1 else None,
        covariate=covariate if complete else None,
        level=level,
        outcome_kind="binary",
    )
    contrast = compared.contrast(treatment)
    per_arm = compared.arms.set_index("arm")[["units", "successes", "estimate", "low", "high", "method"]].rename(
        columns={"units": "accounts", "successes": "renewed", "estimate": "rate"}
    )
    diff, lift, test = contrast.difference, contrast.lift, contrast.test
    if np.isnan(lift.estimate):  # an arm without a single renewal: the ratio is undefined
        lift = intervals.Interval(np.nan, np.nan, np.nan, level, "undefined (an arm has no renewal)")

    adjusted = contrast.adjusted
    if with_covariate and not complete:
        ok = res[res[covariate].notna()]
        adjusted = (
            experiments.compare_arms(
                ok, "arm", "renewed", control, [treatment], covariate=covariate, level=level, outcome_kind="binary"
            )
            .contrast(treatment)
            .adjusted
        )
        notes.append(
            f"covariate {covariate} missing for {len(res) - len(ok)} account(s): adjusted estimate uses the rest."
        )

    strat = contrast.stratified
    bayes_view = contrast.bayes
    if bayes_view is None:  # compare_arms gives a binary outcome its beta-binomial view
        raise RuntimeError("compare_arms returned no Bayesian view of a binary outcome; report this as a bug.")
    looks = _look_table(data, plan, control, treatment)

    arr_change = None
    if res["arr_change"].notna().all():
        arr = experiments.compare_arms(
            res, "arm", "arr_change", control, [treatment], level=level, outcome_kind="numeric"
        ).contrast(treatment)
        arr_change = (arr.difference, arr.test)

    tickets_t = data.loc[data["arm"] == treatment, "tickets"].to_numpy(float)
    tickets_c = data.loc[data["arm"] == control, "tickets"].to_numpy(float)
    if np.ptp(np.r_[tickets_t, tickets_c]) == 0:  # no variation at all (e.g. no tickets in either arm)
        tickets_diff = intervals.Interval(0.0, 0.0, 0.0, level, "no variation in either arm")
        tickets_test = intervals.TestResult(0.0, 1.0, "no variation in either arm")
    else:
        tickets = experiments.compare_arms(
            data, "arm", "tickets", control, [treatment], level=level, outcome_kind="numeric"
        ).contrast(treatment)
        tickets_diff, tickets_test = tickets.difference, tickets.test
    breached = bool(
        tickets_test.p_value < plan.alpha
        and tickets_diff.estimate > 0
        and tickets_t.mean() > 1.2 * max(tickets_c.mean(), 1e-9)
    )
    guardrail = {
        "metric": "support tickets per account during the pilot",
        "treatment": float(tickets_t.mean()),
        "control": float(tickets_c.mean()),
        "difference": tickets_diff,
        "test": tickets_test,
        "breached": breached,
    }

    final = not data["status"].isin(["inside_grace", "not_yet_due"]).any()
    decision, reason = decide(diff, srm, guardrail, bayes_view, plan, looks, final=final)
    return Readout(
        pilot_id,
        plan,
        data,
        counts,
        srm,
        per_arm,
        diff,
        lift,
        test,
        adjusted,
        strat,
        bayes_view,
        looks,
        arr_change,
        guardrail,
        decision,
        reason,
        notes,
        compared,
    )


def decide(
    diff: intervals.Interval,
    srm: intervals.TestResult,
    guardrail: dict,
    bayes_view: bayes.BayesResult,
    plan: PilotPlan,
    looks: pd.DataFrame,
    final: bool = True,
) -> tuple[str, str]:
    """Ship, extend or stop, with the reason in plain words.

    Rules, in order: a sample-ratio mismatch (p < 0.001) or a breached guardrail stops
    the pilot; an interval for the renewal-rate difference entirely above zero ships
    it; entirely below zero stops it (harmful); an interval whose upper end is below
    the smallest worthwhile effect stops it (no effect worth having); anything else
    is inconclusive and extends it. Before every outcome is known (``final`` False) the
    interval rules are not used, since looking repeatedly at a fixed-sample interval inflates
    false decisions: only a crossed group-sequential boundary stops the pilot early.

    Parameters
    ----------
    diff : Interval
        Renewal-rate difference, treatment - control.
    srm : TestResult
        Sample-ratio mismatch test.
    guardrail : dict
        Guardrail metric with ``breached``, ``metric``, ``treatment``, ``control`` and ``test``.
    bayes_view : BayesResult
        Its probability that treatment is better is quoted in the reason.
    plan : PilotPlan
        ``min_worthwhile`` is the smallest effect worth shipping.
    looks : pandas.DataFrame
        Group-sequential looks (crossed, reached, outcomes, look, z, z_boundary).
    final : bool
        Whether every outcome in the window is known.

    Returns
    -------
    tuple of (str, str)
        ``"ship"``, ``"extend"`` or ``"stop"``, and the reason.
    """
    pts = lambda v: f"{100 * v:+.1f} points"  # noqa: E731
    ci = f"{pts(diff.estimate)} ({diff.method}: {pts(diff.low)} to {pts(diff.high)})"
    prob = f"probability the playbook is better {bayes_view.prob_treatment_better:.0%}"
    if srm.p_value < SRM_ALPHA:
        return "stop", (
            f"The arms are not the sizes the plan said (sample ratio mismatch, {srm.method}, "
            f"p = {srm.p_value:.2g}); the assignment or the data is broken. Fix that before reading "
            "any effect."
        )
    if guardrail["breached"]:
        return "stop", (
            f"Guardrail breached: {guardrail['metric']} {guardrail['treatment']:.2f} vs "
            f"{guardrail['control']:.2f} (p = {guardrail['test'].p_value:.2g})."
        )
    if not final:
        crossed = looks[looks["crossed"]] if not looks.empty else looks
        known = int(looks.loc[looks["reached"], "outcomes"].max()) if not looks.empty and looks["reached"].any() else 0
        if not crossed.empty:
            first = crossed.iloc[0]
            verdict = "ship" if first["z"] > 0 else "stop"
            return verdict, (
                f"Interim look {int(first['look'])}: z = {first['z']:.2f} crossed the "
                f"O'Brien-Fleming-type boundary {first['z_boundary']:.2f}; {ci}."
            )
        return "extend", (
            f"Interim: not every renewal in the window is known yet (last planned look reached holds "
            f"{known} outcomes) and no group-sequential boundary was crossed; {ci}, {prob}. "
            "Wait for the window and its grace period to close."
        )
    if diff.low > 0:
        early = ""
        if not looks.empty and looks["crossed"].any():
            first_look = int(looks.loc[looks["crossed"], "look"].iloc[0])
            early = f" The group-sequential boundary was crossed at look {first_look}."
        return "ship", f"Renewal rate difference {ci}, {prob}.{early}"
    if diff.high < 0:
        return "stop", f"The playbook lowered renewals: {ci}, {prob}."
    if diff.high < plan.min_worthwhile:
        return "stop", (
            f"No effect worth having: {ci}; even the upper end is below the smallest worthwhile "
            f"change of {pts(plan.min_worthwhile)}."
        )
    return "extend", (
        f"Inconclusive: {ci}, {prob}. The interval still includes no effect and effects worth "
        "having; enrol more accounts or run another renewal window."
    )
