"""Compare the arms of any experiment table: one control, one or more treatments, any arm names.

``compare_arms`` reads a plain DataFrame with one row per randomised unit and compares each
treatment arm with the control, using the two-arm functions of ``intervals``, ``stratified``,
``adjustment`` and ``bayes`` on the rows of that pair of arms:

- binary outcome (0/1 or True/False): Wilson rate per arm; Newcombe risk difference, relative
  lift (Katz log risk-ratio interval), ``compare_proportions`` (chi-square, Barnard or Fisher),
  Beta-Binomial probability that the treatment is better; with ``strata``, the Mantel-Haenszel
  risk difference and odds ratio, the CMH test and Breslow-Day;
- numeric outcome: Student t mean per arm; Welch difference and test, relative lift of means;
- with ``covariate``: the ANCOVA (CUPED-type) effect adjusted for that pre-period column;
- with ``expected_shares``: the sample-ratio-mismatch test over every arm of the table.

With several treatments every p-value is adjusted across the treatment-vs-control comparisons
of the same quantity (Holm by default). Intervals are per comparison, at ``level``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from insights.errors import ParameterError
from insights.stats import experiment_table as table
from insights.stats.adjustment import AdjustedEffect, ancova
from insights.stats.bayes import BayesResult, beta_binomial
from insights.stats.intervals import (
    Interval,
    TestResult,
    compare_proportions,
    difference_of_proportions,
    log_lift_test,
    mean_ci,
    mean_difference,
    proportion_ci,
    relative_lift,
    relative_lift_means,
    sample_ratio_mismatch,
)
from insights.stats.levels import check_level
from insights.stats.stratified import ADJUST_METHODS, StratifiedResult, adjust_pvalues, stratified_proportions

#: Multiplicity corrections of ``compare_arms``: those of ``adjust_pvalues`` and Dunnett's (means only).
COMPARE_ADJUST = {**ADJUST_METHODS, "dunnett": "Dunnett's many-to-one test (scipy.stats.dunnett, pooled variance)"}

#: Seed of scipy's quasi-Monte Carlo integration behind Dunnett's p-values (same data, same p-values).
DUNNETT_SEED = 20261205

#: Columns of ``ArmComparison.comparisons``, one row per (treatment, quantity).
COMPARISON_COLUMNS = (
    "treatment",
    "control",
    "quantity",
    "estimate",
    "low",
    "high",
    "statistic",
    "p_value",
    "p_adjusted",
    "method",
)


@dataclass(frozen=True)
class TreatmentContrast:
    """One treatment arm compared with the control.

    Attributes
    ----------
    treatment, control : object
        The two arms, as they appear in the arm column.
    difference : Interval
        Treatment minus control: Newcombe (or Wald) risk difference (binary) or Welch mean difference.
    lift : Interval
        Relative lift treatment / control - 1, delta method on the log scale; NaN with the reason
        in ``method`` when undefined (no success in an arm, a control mean of 0, means of
        different signs).
    test : TestResult
        Two-sided test of no difference: ``compare_proportions`` (binary) or Welch's t test.
    p_adjusted : float
        ``test.p_value`` adjusted across all treatments (equal to it with one treatment).
    bayes : BayesResult or None
        Beta-Binomial comparison (binary outcomes only).
    adjusted : AdjustedEffect or None
        ANCOVA effect adjusted for the covariate, when one was given.
    stratified : StratifiedResult or None
        Mantel-Haenszel / CMH / Breslow-Day readout, when strata were given (binary only).
    lift_test : TestResult or None
        z test of no lift matching ``lift`` (``log_lift_test``); None when the lift is undefined.
    """

    treatment: Hashable
    control: Hashable
    difference: Interval
    lift: Interval
    test: TestResult
    p_adjusted: float
    bayes: BayesResult | None = None
    adjusted: AdjustedEffect | None = None
    stratified: StratifiedResult | None = None
    lift_test: TestResult | None = None


@dataclass(frozen=True)
class ArmComparison:
    """Every arm of an experiment against its control (see ``compare_arms``).

    Attributes
    ----------
    outcome_kind : str
        ``"binary"`` (proportions) or ``"numeric"`` (means).
    control : object
        The control arm.
    treatments : tuple
        The treatment arms, in the order they were compared.
    arms : pandas.DataFrame
        One row per compared arm, control first: ``arm``, ``role`` ("control" or "treatment"),
        ``units``, ``successes`` (binary) or ``sd`` (numeric), ``estimate`` (rate or mean),
        ``low``, ``high``, ``method`` (Wilson score or Student t interval).
    comparisons : pandas.DataFrame
        Tidy, one row per (treatment, quantity), with the columns ``COMPARISON_COLUMNS``.
        Quantities: "difference", "relative lift", "test", and as they apply "probability
        treatment is better", "adjusted difference", "stratified difference",
        "Mantel-Haenszel odds ratio", "CMH test", "Breslow-Day test". ``p_adjusted`` adjusts
        ``p_value`` across the treatments, quantity by quantity.
    contrasts : dict
        Treatment arm to its ``TreatmentContrast`` (the result objects behind ``comparisons``).
    srm : TestResult or None
        Sample-ratio-mismatch test over every arm of the table, when expected shares were given.
    adjust_method : str
        The multiplicity adjustment behind ``p_adjusted``.
    """

    outcome_kind: str
    control: Hashable
    treatments: tuple
    arms: pd.DataFrame
    comparisons: pd.DataFrame
    contrasts: dict
    srm: TestResult | None
    adjust_method: str

    def contrast(self, treatment=None) -> TreatmentContrast:
        """The comparison of one treatment with the control.

        Parameters
        ----------
        treatment : object, optional
            The treatment arm; may be left out when there is only one.

        Returns
        -------
        TreatmentContrast

        Raises
        ------
        ParameterError
            If ``treatment`` is not one of the compared treatments, or is left out with several.
        """
        if treatment is None:
            if len(self.treatments) != 1:
                raise ParameterError(
                    f"there are {len(self.treatments)} treatments {list(self.treatments)}; name the one you want"
                )
            treatment = self.treatments[0]
        if treatment not in self.contrasts:
            raise ParameterError(f"{treatment!r} is not a compared treatment; they are {list(self.treatments)}")
        return self.contrasts[treatment]


def compare_arms(
    frame: pd.DataFrame,
    arm: Hashable,
    outcome: Hashable,
    control: Hashable,
    treatments: Iterable | None = None,
    *,
    strata: Hashable | None = None,
    covariate: Hashable | None = None,
    expected_shares: dict | None = None,
    level: float = 0.95,
    adjust: str = "holm",
    outcome_kind: str = "auto",
    min_expected: float = 5.0,
    prior: tuple[float, float] = (1.0, 1.0),
    interval: str = "newcombe",
    correction: bool = False,
) -> ArmComparison:
    """Compare every treatment arm of an experiment table with its control.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per randomised unit (account, user, family...).
    arm : hashable
        Column holding each unit's arm; any arm names (strings, numbers, categories).
    outcome : hashable
        Column holding the outcome: 0/1 or True/False (compared as proportions, success = 1)
        or numbers (compared as means). Treatment minus (or over) control throughout.
    control : hashable
        The control arm's value in ``arm``.
    treatments : iterable, optional
        Treatment arms to compare with the control; default every other arm of the table
        (category order for a categorical column, otherwise sorted).
    strata : hashable, optional
        Column of the randomisation strata (blocks), binary outcomes only: adds the
        Mantel-Haenszel risk difference and odds ratio, the CMH test, Breslow-Day and a
        per-stratum table (``TreatmentContrast.stratified``).
    covariate : hashable, optional
        Numeric column measured before assignment (e.g. last year's value of the outcome):
        adds the ANCOVA effect adjusted for it, with HC2 errors, and the CUPED estimate.
    expected_shares : dict, optional
        Planned share of units per arm, one entry for every arm of the table: adds the
        sample-ratio-mismatch test.
    level : float, default 0.95
        Confidence level of every interval (per comparison, not simultaneous).
    adjust : {"holm", "bonferroni", "fdr_bh", "dunnett"}, default "holm"
        Multiplicity adjustment of the p-values across treatments (Holm's step-down and
        Bonferroni control the family-wise error rate; Benjamini-Hochberg the false discovery
        rate). "dunnett" (numeric outcomes only) adjusts the test of means by Dunnett's
        many-to-one procedure (``scipy.stats.dunnett``) and the other quantities by Holm.
    outcome_kind : {"auto", "binary", "numeric"}, default "auto"
        "auto" treats an outcome of only 0s and 1s as binary; "numeric" compares 0/1 as means.
    min_expected : float, default 5.0
        Smallest expected cell count for the chi-square test (``compare_proportions``).
    prior : tuple of float, default (1.0, 1.0)
        Beta prior of each arm's rate for the Bayesian comparison.
    interval : {"newcombe", "wald"}, default "newcombe"
        Interval of a difference of proportions (``difference_of_proportions``).
    correction : bool, default False
        Continuity correction of the chi-square test (Yates) and of the CMH test.

    Returns
    -------
    ArmComparison
        ``arms`` (per-arm summary), ``comparisons`` (tidy table of every treatment vs the
        control, each row naming its method), ``contrasts`` (the result objects), ``srm``.

    Raises
    ------
    ParameterError
        If a column is missing or holds missing values; the control is not an arm of the table;
        the table has a single arm; a treatment arm has no units; the outcome is neither binary
        nor numeric; a numeric outcome has fewer than 2 units in an arm or is constant in both;
        strata are given with a numeric outcome or hold a single stratum; the covariate is not
        numeric, is constant or leaves fewer than 2 units in an arm; ``expected_shares`` does
        not give one share per arm; or ``level``, ``adjust`` or ``min_expected`` is invalid.
    """
    check_level(level)
    if adjust not in COMPARE_ADJUST:
        raise ParameterError(f"adjust must be one of {sorted(COMPARE_ADJUST)}, got {adjust!r}")
    if interval not in ("newcombe", "wald"):
        raise ParameterError(f"interval must be 'newcombe' or 'wald', got {interval!r}")
    table.check_columns(frame, {"arm": arm, "outcome": outcome, "strata": strata, "covariate": covariate})
    kind = table.outcome_kind(frame[outcome], outcome, outcome_kind)
    if adjust == "dunnett" and kind != "numeric":
        raise ParameterError(
            "adjust='dunnett' compares means; for a binary outcome use 'holm', 'bonferroni' or 'fdr_bh'"
        )
    found = table.arm_values(frame[arm], arm)
    (control,), treatments = table.resolve_arms(found, arm, control, treatments)
    compared = [control, *treatments]
    masks = {a: (frame[arm] == a).to_numpy() for a in compared}
    sizes = {a: int(m.sum()) for a, m in masks.items()}
    if kind == "numeric":
        table.check_arm_sizes(sizes, arm, 2, "a comparison of means")
    if strata is not None:
        _check_strata(frame, strata, kind, masks)
    if covariate is not None:
        table.check_arm_sizes(sizes, arm, 2, f"adjusting for covariate {covariate!r}")
        table.check_covariate(frame[covariate][np.logical_or.reduce(list(masks.values()))], covariate)
    srm = _srm(frame[arm], arm, found, control, expected_shares) if expected_shares is not None else None

    y = frame[outcome].to_numpy(dtype=float)
    options = {"interval": interval, "correction": correction}
    arms = _arm_summary({a: y[m] for a, m in masks.items()}, control, kind, level)
    contrasts = {}
    for treatment in treatments:
        pair = frame[masks[control] | masks[treatment]]
        contrasts[treatment] = _contrast(
            pair, arm, outcome, control, treatment, kind, strata, covariate, level, min_expected, prior, options
        )
    if adjust == "dunnett":
        # scipy integrates the multivariate t by randomised quasi-Monte Carlo: a fixed stream keeps it reproducible
        dunnett = stats.dunnett(*(y[masks[t]] for t in treatments), control=y[masks[control]], rng=DUNNETT_SEED)
        p_adjusted = np.asarray(dunnett.pvalue, dtype=float)
        described = f"{COMPARE_ADJUST[adjust]} for the test of means, Holm step-down for the other quantities"
    else:
        p_adjusted = adjust_pvalues([contrasts[t].test.p_value for t in treatments], adjust)
        described = COMPARE_ADJUST[adjust]
    contrasts = {t: replace(contrasts[t], p_adjusted=float(p)) for t, p in zip(treatments, p_adjusted)}
    described = f"{described} across {len(treatments)} treatment-vs-control comparison(s)"
    comparisons = _comparison_table(list(contrasts.values()), adjust, described)
    return ArmComparison(kind, control, tuple(treatments), arms, comparisons, contrasts, srm, described)


# ------------------------------------------------------------------------- pieces


def _check_strata(frame: pd.DataFrame, strata: Hashable, kind: str, masks: dict) -> None:
    if kind != "binary":
        raise ParameterError(
            f"strata= ({strata!r}) is for a binary outcome (Mantel-Haenszel, CMH); for a numeric "
            "outcome compare within each stratum (filter the table) or drop strata="
        )
    used = frame[strata][np.logical_or.reduce(list(masks.values()))]
    if used.nunique() < 2:
        raise ParameterError(
            f"strata column {strata!r} holds a single stratum {list(pd.unique(used))}; a "
            "stratified readout needs at least two. Drop strata="
        )


def _srm(arms: pd.Series, column: Hashable, found: list, control, expected_shares) -> TestResult:
    if not isinstance(expected_shares, dict):
        raise ParameterError(f"expected_shares must be a dict of arm to planned share, got {expected_shares!r}")
    if set(expected_shares) != set(found):
        raise ParameterError(
            f"expected_shares gives arms {sorted(map(str, expected_shares))} but column {column!r} "
            f"holds {found}; give one planned share per arm of the table"
        )
    order = [control, *(a for a in found if a != control)]
    counts = arms.value_counts()
    return sample_ratio_mismatch({a: int(counts.get(a, 0)) for a in order}, {a: expected_shares[a] for a in order})


def _arm_summary(values: dict, control, kind: str, level: float) -> pd.DataFrame:
    rows = []
    for a, y in values.items():
        row = {"arm": a, "role": "control" if a == control else "treatment", "units": int(y.size)}
        if kind == "binary":
            ci = proportion_ci(int(y.sum()), y.size, level)
            row["successes"] = int(y.sum())
        else:
            ci = mean_ci(y, level)
            row["sd"] = float(y.std(ddof=1))
        rows.append({**row, "estimate": ci.estimate, "low": ci.low, "high": ci.high, "method": ci.method})
    return pd.DataFrame(rows)


def _undefined(level: float, why: str) -> Interval:
    return Interval(math.nan, math.nan, math.nan, level, f"undefined ({why})")


def _contrast(
    pair: pd.DataFrame,
    arm,
    outcome,
    control,
    treatment,
    kind: str,
    strata,
    covariate,
    level: float,
    min_expected: float,
    prior,
    options: dict,
) -> TreatmentContrast:
    treated = (pair[arm] == treatment).to_numpy()
    y = pair[outcome].to_numpy(dtype=float)
    y1, y0 = y[treated], y[~treated]
    bayes = stratified = None
    if kind == "binary":
        x1, n1, x0, n0 = int(y1.sum()), y1.size, int(y0.sum()), y0.size
        difference = difference_of_proportions(x1, n1, x0, n0, level, options["interval"])
        lift = (
            relative_lift(x1, n1, x0, n0, level)
            if x1 and x0
            else _undefined(level, "an arm has no success, so the risk ratio is 0 or infinite")
        )
        test = compare_proportions(x1, n1, x0, n0, min_expected=min_expected, correction=options["correction"])
        bayes = beta_binomial(x1, n1, x0, n0, prior)
        if strata is not None:
            stratified = stratified_proportions(
                _stratum_counts(pair, arm, outcome, strata, control, treatment),
                level=level,
                correction=options["correction"],
            )
    else:
        if np.ptp(y1) == 0 and np.ptp(y0) == 0:
            raise ParameterError(
                f"outcome column {outcome!r} is constant within arms {control!r} and {treatment!r}, "
                "so a comparison of means is undefined; check that it is the right column"
            )
        difference, test = mean_difference(y1, y0, level)
        m1, m0 = float(y1.mean()), float(y0.mean())
        lift = (
            relative_lift_means(y1, y0, level)
            if m0 != 0 and m1 / m0 > 0
            else _undefined(level, "the control mean is 0 or the means differ in sign, so the log ratio is undefined")
        )
    adjusted = None
    if covariate is not None:
        adjusted = ancova(y, treated, pair[covariate].to_numpy(dtype=float), level)
    lift_test = log_lift_test(lift) if np.isfinite([lift.estimate, lift.low, lift.high]).all() else None
    return TreatmentContrast(
        treatment, control, difference, lift, test, test.p_value, bayes, adjusted, stratified, lift_test
    )


def _stratum_counts(pair: pd.DataFrame, arm, outcome, strata, control, treatment) -> pd.DataFrame:
    """Successes and units per (stratum, arm), arms relabelled "control" / "treatment"."""
    counts = (
        pair.groupby([strata, arm])[outcome]
        .agg(successes="sum", n="size")
        .reset_index()
        .rename(columns={strata: "stratum", arm: "arm"})
    )
    counts["arm"] = counts["arm"].map({control: "control", treatment: "treatment"})
    return counts


def _rows(c: TreatmentContrast) -> list[dict]:
    """The quantities of one contrast as rows of the tidy comparison table (before adjustment)."""

    def interval(quantity, iv, test=None):
        return {
            "quantity": quantity,
            "estimate": iv.estimate,
            "low": iv.low,
            "high": iv.high,
            "statistic": test.statistic if test else math.nan,
            "p_value": test.p_value if test else math.nan,
            "method": iv.method,
        }

    def test_row(quantity, t):
        return {
            "quantity": quantity,
            "estimate": math.nan,
            "low": math.nan,
            "high": math.nan,
            "statistic": t.statistic,
            "p_value": t.p_value,
            "method": t.method,
        }

    rows = [
        interval("difference", c.difference),
        interval("relative lift", c.lift, c.lift_test),
        test_row("test", c.test),
    ]
    if c.bayes is not None:
        rows.append(
            {
                "quantity": "probability treatment is better",
                "estimate": c.bayes.prob_treatment_better,
                "low": math.nan,
                "high": math.nan,
                "statistic": math.nan,
                "p_value": math.nan,
                "method": c.bayes.method,
            }
        )
    if c.adjusted is not None:
        row = interval("adjusted difference", c.adjusted.adjusted)
        rows.append(
            {
                **row,
                "p_value": c.adjusted.p_value,
                "method": f"{row['method']}; variance reduction {c.adjusted.variance_reduction:.1%} vs "
                "the unadjusted Welch difference",
            }
        )
    if c.stratified is not None:
        s = c.stratified
        rows += [
            interval("stratified difference", s.risk_difference),
            interval("Mantel-Haenszel odds ratio", s.odds_ratio),
            test_row("CMH test", s.cmh),
            test_row("Breslow-Day test", s.breslow_day),
        ]
    return [{"treatment": c.treatment, "control": c.control, **r} for r in rows]


def _comparison_table(contrasts: list[TreatmentContrast], adjust: str, described: str) -> pd.DataFrame:
    out = pd.DataFrame([r for c in contrasts for r in _rows(c)])
    out["p_adjusted"] = math.nan
    for quantity, idx in out.groupby("quantity", sort=False).groups.items():
        if adjust == "dunnett" and quantity == "test":
            out.loc[idx, "p_adjusted"] = [c.p_adjusted for c in contrasts]
        else:
            p = out.loc[idx, "p_value"].to_numpy(dtype=float)
            out.loc[idx, "p_adjusted"] = adjust_pvalues(p, "holm" if adjust == "dunnett" else adjust)
    out = out[list(COMPARISON_COLUMNS)]
    out.attrs["p_adjusted_method"] = described
    return out
