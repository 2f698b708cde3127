"""Pilot readout: outcomes per account, every comparison with a named interval, and a decision.

The primary outcome is renewal at the account's renewal inside the pilot window
(success = renewed; churn is derived from contract terms with the grace period).
A continuous outcome (net ARR change at that renewal) and a guardrail (support
tickets during the pilot) are read out alongside.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from insights.analyses.pilots.assignment import RETROSPECTIVE_LABEL, PilotPlan, load_plan, pilot_files
from insights.analyses.pilots.covariates import pre_period
from insights.analyses.pilots.integrity import check_integrity
from insights.data.loading import Tables
from insights.display import points
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


def plan_of(tables: Tables, pilot_id: str, control: str | None = None) -> PilotPlan:
    """The stored plan of a pilot; without one, a plan only when the caller names the control.

    Parameters
    ----------
    tables : Tables
        Validated raw tables (data_dir, pilot_assignments).
    pilot_id : str
        The pilot.
    control : str, optional
        The control arm, needed only when no plan is stored (it is never guessed from the arm
        names). With a stored plan it must be the plan's control.

    Returns
    -------
    PilotPlan
        The stored plan; otherwise one with the record's arms (``control`` first, the others in
        sorted order), equal shares, a window of a year from assignment and the default settings.

    Raises
    ------
    ParameterError
        If no plan is stored and no control is named (the message lists the record's arms), the
        named control is not an arm of the record or not the plan's control, or the pilot has no
        assignment record or fewer than two arms.
    """
    plan = load_plan(tables.data_dir, pilot_id)
    if plan is not None:
        if control is not None and control != plan.control:
            raise ParameterError(
                f"pilot {pilot_id!r}: its plan names {plan.control!r} as the control, not {control!r}; "
                "drop the control option."
            )
        return plan
    rec = assignment_of(tables, pilot_id)
    found = sorted(map(str, rec["arm"].unique()))
    if control is None:
        raise ParameterError(
            f"pilot {pilot_id!r} has no stored plan ({pilot_files(tables.data_dir, pilot_id)[1]}), so its control "
            f"arm is unknown; its record holds the arms {found}. Name the control (--control in the CLI, "
            "control= in Python); it is never guessed from the arm names."
        )
    if control not in found:
        raise ParameterError(f"control {control!r} is not an arm of pilot {pilot_id!r}; its arms are {found}.")
    arms = (control, *(a for a in found if a != control))
    start = rec["assigned_at"].min()
    return PilotPlan(
        pilot_id=pilot_id,
        description="(no plan stored)",
        assigned_at=str(start.date()),
        window=(str(start.date()), str((start + pd.DateOffset(years=1)).date())),
        arms=arms,
        shares=tuple([1 / len(arms)] * len(arms)),
        control=control,
        seed=int(rec["seed"].iloc[0]),
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
    tables: Tables,
    pilot_id: str,
    grace_days: int,
    outcomes: pd.DataFrame | None = None,
    control: str | None = None,
) -> pd.DataFrame:
    """One row per assigned account: arm, stratum, its renewal in the window and the outcomes.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    pilot_id : str
        The pilot.
    grace_days : int
        Grace period of the churn definition.
    control : str, optional
        The control arm, for a pilot without a stored plan (see ``plan_of``).
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
        For an unknown pilot, a pilot without a plan and no control named, or outcomes of
        accounts that were not assigned.
    """
    rec = assignment_of(tables, pilot_id)
    plan = plan_of(tables, pilot_id, control)
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
class Effect:
    """One treatment arm of a pilot read out against the control.

    Attributes
    ----------
    treatment, control : str
        The two arms compared.
    difference : Interval
        Renewal-rate difference treatment - control at the readout's level (Newcombe or Wald).
    decision_interval : Interval
        The same difference at the level the decision uses: the final group-sequential boundary's
        nominal level with alpha split over the treatment-vs-control comparisons (Bonferroni).
    lift : Interval
        Relative lift in renewal rate.
    test : TestResult
        The test of the difference.
    p_adjusted : float
        ``test.p_value`` adjusted across the treatments (``Readout.adjust_method``).
    adjusted : AdjustedEffect or None
        Covariate-adjusted difference.
    stratified : StratifiedResult or None
        Stratified (Mantel-Haenszel, CMH) estimate with per-segment effects.
    bayes : BayesResult
        Beta-binomial view of the two renewal rates.
    looks : pandas.DataFrame
        The group-sequential looks of this comparison.
    arr_change : tuple of (Interval, TestResult) or None
        Difference in net ARR change at renewal and its test.
    guardrail : dict
        Support-ticket guardrail: metric, treatment, control, difference, test, breached.
    decision, reason : str
        Output of ``decide`` for this arm.
    always_valid : Interval or None
        Asymptotic confidence sequence of the difference (alpha split over the arms, tuned for
        the planned outcomes of the two arms): valid however often the pilot is looked at.
    arr_p_adjusted : float or None
        The net ARR change test's p-value adjusted across the arms (Dunnett's many-to-one test with
        several treatments, else the readout's correction); None without ARR outcomes.
    """

    treatment: str
    control: str
    difference: intervals.Interval
    decision_interval: intervals.Interval
    lift: intervals.Interval
    test: intervals.TestResult
    p_adjusted: float
    adjusted: adjustment.AdjustedEffect | None
    stratified: stratified.StratifiedResult | None
    bayes: bayes.BayesResult
    looks: pd.DataFrame
    arr_change: tuple[intervals.Interval, intervals.TestResult] | None
    guardrail: dict
    decision: str
    reason: str
    always_valid: intervals.Interval | None = None
    arr_p_adjusted: float | None = None


@dataclass
class Readout:
    """Everything a pilot readout reports (see ``readout``).

    Attributes
    ----------
    pilot_id : str
        The pilot.
    plan : PilotPlan
        Its stored plan (or the one built from a named control).
    data : pandas.DataFrame
        Output of ``pilot_outcomes``.
    counts : pandas.DataFrame
        Accounts per arm and renewal status, with ``assigned``.
    srm : TestResult
        Sample-ratio mismatch test of the arm sizes against the plan's shares.
    per_arm : pandas.DataFrame
        Renewal rate per arm with its interval.
    effects : dict of str to Effect
        Every treatment arm against the control, in plan order.
    adjust_method : str
        The multiplicity correction across the treatment-vs-control comparisons.
    decision, reason : str
        The pilot's decision (one treatment: its ``Effect.decision``; several: ship when an arm
        ships, stop when every arm stops, else extend) and the reason, arm by arm.
    notes : list of str
        Caveats found along the way (and the integrity check's result).
    comparison : ArmComparison or None
        The ``insights.stats.experiments.compare_arms`` result behind the renewal numbers.
    """

    pilot_id: str
    plan: PilotPlan
    data: pd.DataFrame
    counts: pd.DataFrame
    srm: intervals.TestResult
    per_arm: pd.DataFrame
    effects: dict
    adjust_method: str
    decision: str
    reason: str
    notes: list[str] = field(default_factory=list)
    comparison: experiments.ArmComparison | None = None

    @property
    def label(self) -> str:
        """How the readout is labelled: empty for a randomised pilot, ``RETROSPECTIVE_LABEL`` otherwise.

        Returns
        -------
        str
        """
        return RETROSPECTIVE_LABEL if self.plan.retrospective else ""

    def effect(self, treatment: str | None = None) -> Effect:
        """One treatment arm's readout.

        Parameters
        ----------
        treatment : str, optional
            The arm; may be left out when the pilot has a single treatment.

        Returns
        -------
        Effect

        Raises
        ------
        ParameterError
            If ``treatment`` is not a treatment arm, or is left out with several.
        """
        if treatment is None:
            if len(self.effects) != 1:
                raise ParameterError(
                    f"pilot {self.pilot_id!r} has {len(self.effects)} treatment arms {list(self.effects)}; "
                    "name one (readout.effect(arm)) or loop over readout.effects"
                )
            return next(iter(self.effects.values()))
        if treatment not in self.effects:
            raise ParameterError(f"{treatment!r} is not a treatment arm of {self.pilot_id!r}: {list(self.effects)}")
        return self.effects[treatment]

    # the single treatment's numbers, for two-arm pilots (several arms: use ``effects``)
    difference = property(lambda self: self.effect().difference, doc="``effect().difference`` (two arms).")
    lift = property(lambda self: self.effect().lift, doc="``effect().lift`` (two arms).")
    test = property(lambda self: self.effect().test, doc="``effect().test`` (two arms).")
    adjusted = property(lambda self: self.effect().adjusted, doc="``effect().adjusted`` (two arms).")
    stratified = property(lambda self: self.effect().stratified, doc="``effect().stratified`` (two arms).")
    bayes = property(lambda self: self.effect().bayes, doc="``effect().bayes`` (two arms).")
    looks = property(lambda self: self.effect().looks, doc="``effect().looks`` (two arms).")
    arr_change = property(lambda self: self.effect().arr_change, doc="``effect().arr_change`` (two arms).")
    guardrail = property(lambda self: self.effect().guardrail, doc="``effect().guardrail`` (two arms).")

    def headline(self) -> dict:
        """Front-page items: the pilot, its effect per treatment arm and the decision.

        Returns
        -------
        dict of str to str
            The pilot and its description (with ``label`` for a retrospective comparison), the
            renewal-rate difference of each treatment with the interval the decision reads (at the
            final group-sequential boundary and the multiplicity split, so the page quotes one
            interval per difference), and the decision with its reason.
        """
        label = f" [{self.label}]" if self.label else ""
        out = {"pilot": f"{self.pilot_id}: {self.plan.description}{label}"}
        for e in self.effects.values():
            d = e.decision_interval
            out[f"renewal rate, {e.treatment} - {e.control}"] = (
                f"{100 * d.estimate:+.1f} points ({d.method}: {100 * d.low:+.1f} to {100 * d.high:+.1f})"
            )
        out["decision"] = f"{self.decision.upper()} — {self.reason}"
        return out

    def summary(self) -> pd.DataFrame:
        """The headline numbers as a table (estimate, interval, method), per treatment arm.

        Returns
        -------
        pandas.DataFrame
            Indexed by quantity (suffixed with ``[arm]`` when there are several treatments):
            estimate, low, high, method.
        """
        out = []
        for e in self.effects.values():
            rows = [
                (f"renewal rate difference ({e.treatment} - {e.control})", e.difference),
                ("relative lift in renewal rate", e.lift),
            ]
            if e.adjusted is not None:
                rows.append(("difference adjusted for the pre-period covariate", e.adjusted.adjusted))
            if e.stratified is not None:
                rows.append(("stratified difference across segments", e.stratified.risk_difference))
            if e.arr_change is not None:
                rows.append(("net ARR change at renewal, difference", e.arr_change[0]))
            tag = f" [{e.treatment}]" if len(self.effects) > 1 else ""
            out += [
                {"quantity": q + tag, "estimate": i.estimate, "low": i.low, "high": i.high, "method": i.method}
                for q, i in rows
            ]
        return pd.DataFrame(out).set_index("quantity")

    def comparisons(self) -> pd.DataFrame:
        """One row per treatment arm: difference, test, adjusted p-value and decision.

        Returns
        -------
        pandas.DataFrame
            Indexed by treatment: difference, low, high, p_value, p_adjusted (``adjust_method``),
            decision_low, decision_high (the decision interval), always_valid_low,
            always_valid_high (the confidence sequence), arr_change_p_adjusted (the net ARR change
            test adjusted across arms: Dunnett with several), decision, test (its method).
        """
        rows = [
            {
                "treatment": e.treatment,
                "difference": e.difference.estimate,
                "low": e.difference.low,
                "high": e.difference.high,
                "p_value": e.test.p_value,
                "p_adjusted": e.p_adjusted,
                "decision_low": e.decision_interval.low,
                "decision_high": e.decision_interval.high,
                "always_valid_low": e.always_valid.low if e.always_valid else np.nan,
                "always_valid_high": e.always_valid.high if e.always_valid else np.nan,
                "arr_change_p_adjusted": np.nan if e.arr_p_adjusted is None else e.arr_p_adjusted,
                "decision": e.decision,
                "test": e.test.method,
            }
            for e in self.effects.values()
        ]
        out = pd.DataFrame(rows).set_index("treatment")
        out.attrs["p_adjusted_method"] = self.adjust_method
        return out


def _boundaries(plan: PilotPlan, comparisons: int) -> pd.DataFrame:
    """The plan's O'Brien-Fleming-type boundaries, alpha split equally over the comparisons (Bonferroni)."""
    info = [k / plan.looks for k in range(1, plan.looks + 1)]
    return sequential.spending_boundaries(info, alpha=plan.alpha / comparisons)


def decision_level(plan: PilotPlan, comparisons: int = 1) -> float:
    """Confidence level of the interval the final decision reads: the final boundary's nominal level.

    With ``plan.looks`` planned looks, a test at the final look must reach the final
    O'Brien-Fleming-type boundary (1.993 with three looks at alpha 0.05), not 1.96; the interval
    that matches it has level 1 - nominal p of that boundary. With several treatment arms, alpha
    is split equally over the comparisons with the control (Bonferroni) before the boundaries.

    Parameters
    ----------
    plan : PilotPlan
        Gives ``looks`` and ``alpha``.
    comparisons : int, default 1
        Number of treatment-vs-control comparisons.

    Returns
    -------
    float
        The level, e.g. 0.953747 for three looks at alpha 0.05 (0.95 with one look).

    Raises
    ------
    ParameterError
        If ``comparisons`` is less than 1.
    """
    if comparisons < 1:
        raise ParameterError(f"comparisons must be at least 1, got {comparisons}.")
    final = float(_boundaries(plan, comparisons)["nominal_p"].iloc[-1])
    return round(1.0 - final, 9)


def _decision_method(plan: PilotPlan, comparisons: int) -> str:
    bound = float(_boundaries(plan, comparisons)["z_boundary"].iloc[-1])
    split = f", alpha {plan.alpha:g} split over {comparisons} comparisons (Bonferroni)" if comparisons > 1 else ""
    return f"at the final O'Brien-Fleming-type boundary |z| >= {bound:.3f} of {plan.looks} look(s){split}"


def _look_table(data: pd.DataFrame, plan: PilotPlan, control: str, treatment: str, comparisons: int = 1):
    """Group-sequential view of one treatment vs the control at the planned looks.

    Look ``k`` of ``plan.looks`` happens once ``k / looks`` of the planned outcomes of the two
    arms (every assigned account with a renewal in the window) are known, outcomes becoming known
    in order of renewal date. Boundaries are Lan-DeMets O'Brien-Fleming-type spending at those
    planned information fractions, alpha split over the comparisons; looks not reached yet are
    listed with ``reached`` False.
    """
    data = data[data["arm"].isin([control, treatment])]
    planned = data[data["status"] != "no_renewal_in_window"]
    res = data[data["status"] == "resolved"].sort_values(["end_date", "account_id"])
    n_planned = len(planned)
    if n_planned == 0:
        return pd.DataFrame()
    bounds = _boundaries(plan, comparisons)
    rows = []
    for k, fraction in enumerate(bounds["information"], 1):
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
                "information": float(fraction),
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
        + (f"; alpha split over {comparisons} comparisons" if comparisons > 1 else "")
    )
    return looks


def _guardrail(data: pd.DataFrame, control: str, treatment: str, plan: PilotPlan, level: float) -> dict:
    """Support tickets per account during the pilot, treatment vs control (Welch), and whether it is breached."""
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
    return {
        "metric": "support tickets per account during the pilot",
        "treatment": float(tickets_t.mean()),
        "control": float(tickets_c.mean()),
        "difference": tickets_diff,
        "test": tickets_test,
        "breached": breached,
    }


def _always_valid(data: pd.DataFrame, control: str, treatment: str, alpha: float) -> intervals.Interval | None:
    """Confidence sequence of the renewal-rate difference, tuned for the planned outcomes of the two arms."""
    pair = data[data["arm"].isin([control, treatment])]
    res = pair[pair["status"] == "resolved"]
    t, c = res.loc[res["arm"] == treatment, "renewed"], res.loc[res["arm"] == control, "renewed"]
    if len(t) < 2 or len(c) < 2:
        return None
    p1, p0 = float(t.mean()), float(c.mean())
    se = float(np.sqrt(p1 * (1 - p1) / len(t) + p0 * (1 - p0) / len(c)))
    planned = int((pair["status"] != "no_renewal_in_window").sum())
    return sequential.confidence_sequence(p1 - p0, se, len(res), alpha, planned_n=max(planned, len(res)))


def _overall(effects: dict, srm: intervals.TestResult) -> tuple[str, str]:
    """The pilot's decision from its arms' decisions (one arm: that arm's)."""
    if len(effects) == 1:
        e = next(iter(effects.values()))
        return e.decision, e.reason
    if srm.p_value < SRM_ALPHA:  # every arm stops with the same reason
        return "stop", next(iter(effects.values())).reason
    shipped = [e for e in effects.values() if e.decision == "ship"]
    if shipped:
        best = max(shipped, key=lambda e: e.difference.estimate)
        decision, lead = "ship", f"Ship {best.treatment} (of the arms that beat {best.control}, the largest effect). "
    elif all(e.decision == "stop" for e in effects.values()):
        decision, lead = "stop", "Every treatment arm stops. "
    else:
        decision, lead = "extend", "No arm is ready to ship and not every arm stops. "
    return decision, lead + " ".join(f"{e.treatment}: {e.decision.upper()} — {e.reason}" for e in effects.values())


def readout(
    tables: Tables,
    pilot_id: str,
    grace_days: int,
    level: float = 0.95,
    covariate: str = "utilisation",
    outcomes: pd.DataFrame | None = None,
    control: str | None = None,
    adjust: str = "holm",
    interval: str = "newcombe",
    correction: bool = False,
) -> Readout:
    """Read out a renewal pilot: every treatment arm against the control, and a decision.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    pilot_id : str
        The pilot.
    grace_days : int
        Grace period of the churn definition.
    level : float
        Confidence level of every reported interval.
    covariate : str
        Pre-period metric for regression adjustment (CUPED / ANCOVA).
    outcomes : pandas.DataFrame, optional
        Extra outcomes by account_id (must all be assigned accounts).
    control : str, optional
        The control arm of a pilot without a stored plan (never guessed; see ``plan_of``).
    adjust : {"holm", "bonferroni", "fdr_bh"}, default "holm"
        Multiplicity correction of the p-values across the treatment-vs-control comparisons.
    interval : {"newcombe", "wald"}, default "newcombe"
        Interval of the renewal-rate difference (Newcombe hybrid score or Wald).
    correction : bool, default False
        Yates / CMH continuity correction of the chi-square tests.

    Returns
    -------
    Readout
        Counts and sample-ratio check, per-arm renewal rates (Wilson), and per treatment arm
        (``effects``) the difference and relative lift, the automatically chosen test with its
        adjusted p-value, the covariate-adjusted difference, the stratified (Mantel-Haenszel)
        estimate with per-segment effects (Holm), the Bayesian beta-binomial view, the
        group-sequential looks, net ARR change (Welch), the support-ticket guardrail and a
        decision (ship / extend / stop) with its reason. The decision reads the difference at
        ``decision_level`` (final O'Brien-Fleming-type boundary, alpha split over the arms).

    Raises
    ------
    ParameterError
        For an unknown pilot, a pilot with fewer than two arms, no stored plan and no control
        named, an assignment that does not match its plan (other arms, another seed, accounts not
        in the arm the seed gives them, another SHA-256: see ``integrity.check_integrity``),
        outcomes of unassigned accounts, an arm without a resolved renewal yet, or a covariate
        column that is not numeric or is constant.
    """
    rec = assignment_of(tables, pilot_id)
    plan = plan_of(tables, pilot_id, control)
    notes = [f"{RETROSPECTIVE_LABEL}: the start was before the data's end."] if plan.retrospective else []
    notes += check_integrity(rec, plan)
    data = pilot_outcomes(tables, pilot_id, grace_days, outcomes, control)
    control, treatments = plan.control, list(plan.treatments)
    m = len(treatments)
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
    empty = [a for a in plan.arms if not (res["arm"] == a).any()]
    if empty:
        raise ParameterError(
            f"pilot {pilot_id!r} has no resolved renewal in arm(s) {empty} yet; read it out after the window closes."
        )
    with_covariate = covariate in res and res[covariate].notna().sum() > 10
    complete = with_covariate and bool(res[covariate].notna().all())
    options: dict[str, Any] = {"level": level, "adjust": adjust, "interval": interval, "correction": correction}
    compared = experiments.compare_arms(
        res,
        "arm",
        "renewed",
        control,
        treatments,
        strata="stratum" if res["stratum"].dropna().unique().size > 1 else None,
        covariate=covariate if complete else None,
        outcome_kind="binary",
        **options,
    )
    per_arm = compared.arms.set_index("arm")[["units", "successes", "estimate", "low", "high", "method"]].rename(
        columns={"units": "accounts", "successes": "renewed", "estimate": "rate"}
    )
    counts_of = {a: (int(x), int(n)) for a, x, n in zip(per_arm.index, per_arm["renewed"], per_arm["accounts"])}
    partial = None
    if with_covariate and not complete:
        ok = res[res[covariate].notna()]
        partial = experiments.compare_arms(
            ok, "arm", "renewed", control, treatments, covariate=covariate, outcome_kind="binary", **options
        )
        notes.append(
            f"covariate {covariate} missing for {len(res) - len(ok)} account(s): adjusted estimate uses the rest."
        )
    arr = None
    if res["arr_change"].notna().all():
        arr = experiments.compare_arms(
            res,
            "arm",
            "arr_change",
            control,
            treatments,
            level=level,
            adjust="dunnett" if m > 1 else adjust,
            outcome_kind="numeric",
        )
    final = not data["status"].isin(["inside_grace", "not_yet_due"]).any()
    d_level, d_method = decision_level(plan, m), _decision_method(plan, m)
    effects = {}
    for t in treatments:
        c = compared.contrast(t)
        if c.bayes is None:  # compare_arms gives a binary outcome its beta-binomial view
            raise RuntimeError("compare_arms returned no Bayesian view of a binary outcome; report this as a bug.")
        lift = c.lift
        if np.isnan(lift.estimate):  # an arm without a single renewal: the ratio is undefined
            lift = intervals.Interval(np.nan, np.nan, np.nan, level, "undefined (an arm has no renewal)")
        at = intervals.difference_of_proportions(*counts_of[t], *counts_of[control], d_level, interval)
        at = replace(at, method=f"{at.method}, {d_method}")
        looks = _look_table(data, plan, control, t, m)
        guard = _guardrail(data, control, t, plan, level)
        decision, reason = decide(at, srm, guard, c.bayes, plan, looks, final=final)
        if plan.retrospective:
            reason = (
                f"{RETROSPECTIVE_LABEL}: the arms were not randomised before the outcome, so this is not a "
                f"causal effect. {reason}"
            )
        effects[t] = Effect(
            t,
            control,
            c.difference,
            at,
            lift,
            c.test,
            c.p_adjusted,
            partial.contrast(t).adjusted if partial is not None else c.adjusted,
            c.stratified,
            c.bayes,
            looks,
            (arr.contrast(t).difference, arr.contrast(t).test) if arr is not None else None,
            guard,
            decision,
            reason,
            _always_valid(data, control, t, plan.alpha / m),
            arr.contrast(t).p_adjusted if arr is not None else None,
        )
    decision, reason = _overall(effects, srm)
    return Readout(
        pilot_id, plan, data, counts, srm, per_arm, effects, compared.adjust_method, decision, reason, notes, compared
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
    ci = f"{points(diff.estimate)} ({diff.method}: {points(diff.low)} to {points(diff.high)})"
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
            f"change of {points(plan.min_worthwhile)}."
        )
    return "extend", (
        f"Inconclusive: {ci}, {prob}. The interval still includes no effect and effects worth "
        "having; enrol more accounts or run another renewal window."
    )
