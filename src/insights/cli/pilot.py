"""``insights pilot design | assign | readout``: the pilot workflow without a notebook."""

from __future__ import annotations

import zlib

import typer

from insights.cli.common import echo_frame as _echo_frame
from insights.cli.common import parse_date_option
from insights.cli.common import user_errors as _user_errors

# pandas is imported in the commands that use it, so that loading the command line stays quick

pilot_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain errors, as the main app
    help="Design, assign and read out A/B pilots of CS playbooks.",
)


DATA_HELP = (
    "Raw data folder, source mapping file or database URL (default: config/sources.yaml if it exists, else data/raw)."
)


def _tables(data: str | None):
    from insights import context as dataset

    tables = dataset.load(data)
    if dataset.is_demo(tables.data_dir):
        typer.echo(f"note: {tables.data_dir} holds DEMO DATA, generated, not a real customer base.", err=True)
    return tables


@pilot_app.command("design")
@_user_errors
def design_cmd(
    mde: float = typer.Option(0.05, help="Smallest renewal-rate increase to detect (absolute, 0.05 = 5 points)."),
    start: str | None = typer.Option(None, help="Pilot start (default: the day after the data ends)."),
    quarters: int = typer.Option(4, help="Longest window to consider, in quarters."),
    alpha: float = typer.Option(0.05, help="Two-sided significance level."),
    power: float = typer.Option(0.8, help="Power."),
    treatments: int = typer.Option(1, help="Treatment arms, each compared with the control (alpha is split)."),
    data: str | None = typer.Option(None, help=DATA_HELP),
):
    """Baselines, accounts renewing per window, and what a pilot can detect.\f

    Parameters
    ----------
    mde, start, quarters, alpha, power, treatments
        The pilot design asked for (``insights.analyses.pilots.design.design_table``).
    data : str or None
        Raw data folder, source mapping file or database URL (default: ``config/sources.yaml`` if it
        exists, else ``data/raw``).
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    import pandas as pd

    from insights.analyses.pilots import design
    from insights.data.settings import load_settings

    begin = parse_date_option(start, "--start")
    tables = _tables(data)
    grace = load_settings().grace_days
    begin = begin if begin is not None else tables.as_of + pd.Timedelta(days=1)
    typer.echo(f"Renewal baselines (last 4 quarters before {min(begin, tables.as_of):%Y-%m-%d}):")
    _echo_frame(design.renewal_baselines(tables, min(begin, tables.as_of), grace).drop(columns="method"))
    table = design.design_table(tables, begin, mde, grace, alpha, power, quarters, treatments=treatments)
    typer.echo(f"\nPilot starting {begin:%Y-%m-%d}, target MDE {mde:.1%} ({table.attrs['method']}):")
    _echo_frame(table.set_index(["segment", "quarters"]).drop(columns="window_end"))
    typer.echo("\nImplied duration:")
    _echo_frame(design.implied_duration(table))


@pilot_app.command("assign")
@_user_errors
def assign_cmd(
    pilot_id: str = typer.Argument(..., help="New pilot id (lower-case, digits, _ or -)."),
    window_end: str = typer.Option(..., "--window-end", help="Last renewal date that counts for the pilot."),
    description: str = typer.Option("", help="The playbook being piloted."),
    start: str | None = typer.Option(None, help="Assignment date (default: the day after the data ends)."),
    segment: list[str] | None = typer.Option(None, "--segment", help="Only these segments (repeatable)."),
    seed: int | None = typer.Option(None, help="Random seed (default: derived from the pilot id)."),
    arm: list[str] | None = typer.Option(
        None, "--arm", help="A treatment arm's name (repeatable for several arms; default: one arm 'treatment')."
    ),
    control: str = typer.Option("control", help="Name of the control arm."),
    treatment_share: float | None = typer.Option(
        None, help="Share of accounts in the treatment arm, one treatment only (0.5, 1/3, 2/3...; default equal arms)."
    ),
    retrospective: bool = typer.Option(
        False, "--retrospective", help="Allow a start before the data's end: recorded as a non-randomised comparison."
    ),
    max_smd: float = typer.Option(0.1, help="Re-randomise until every |SMD| is at most this (0 = off)."),
    looks: int = typer.Option(3, help="Planned looks for group-sequential monitoring."),
    min_worthwhile: float = typer.Option(0.02, help="Smallest renewal-rate change worth shipping."),
    data: str | None = typer.Option(None, help=DATA_HELP),
):
    """Randomise renewing accounts within segment and record the assignment (never re-drawn).\f

    Parameters
    ----------
    pilot_id, window_end, description, start, segment, seed, arm, control, treatment_share, max_smd, looks
        The ``insights.analyses.pilots.assignment.PilotPlan`` and who is eligible (see each option's help).
    min_worthwhile, retrospective
        Smallest change worth shipping; whether a start before the data's end is accepted (labelled
        as a retrospective, non-randomised comparison).
    data : str or None
        Raw data folder, source mapping file or database URL (default: ``config/sources.yaml`` if it exists, else
        ``data/raw``). With a mapping, the record is written to ``data/raw/pilots/``, from which
        mapped runs read recorded pilots (``insights.data.sources.snapshot.copy_recorded_pilots``).

    Raises
    ------
    PilotExistsError
        If the pilot is already assigned.
    ParameterError
        If the start is before the data's end without ``--retrospective``, or the arms or shares
        are invalid.
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    import pandas as pd

    from insights.analyses.pilots import assignment
    from insights.analyses.pilots.covariates import pre_period
    from insights.data import paths
    from insights.data.sources.locate import locate
    from insights.errors import ParameterError

    begin, last = parse_date_option(start, "--start"), parse_date_option(window_end, "--window-end")
    tables = _tables(data)
    # the record goes to the raw folder read; with a source mapping, to data/raw (which the mapping reads pilots from)
    origin = locate(data)
    record_dir = origin.folder if origin.folder is not None else paths.raw_dir()
    begin = begin if begin is not None else tables.as_of + pd.Timedelta(days=1)
    if begin <= tables.as_of and not retrospective:
        raise ParameterError(
            f"--start {begin:%Y-%m-%d} is not after the data's end ({tables.as_of:%Y-%m-%d}): outcomes up to then "
            "are already in the data, so a split of accounts now is a retrospective comparison, not a randomised "
            "pilot. Start after the data's end, or pass --retrospective to record it labelled as non-randomised."
        )
    if pilot_id in assignment.existing_pilots(record_dir) or pilot_id in set(tables.pilot_assignments["pilot_id"]):
        raise assignment.PilotExistsError(f"pilot {pilot_id!r} is already assigned; an assignment is never re-drawn.")
    seed = seed if seed is not None else zlib.crc32(pilot_id.encode()) % (2**31)
    treatments = tuple(arm) if arm else ("treatment",)
    if treatment_share is not None and len(treatments) > 1:
        raise ParameterError("--treatment-share is for one treatment arm; several arms get equal shares.")
    if treatment_share is not None and not 0 < treatment_share < 1:
        raise ParameterError(f"--treatment-share must be between 0 and 1, got {treatment_share}.")
    if treatment_share is not None:
        shares: tuple[float, ...] = (1 - treatment_share, treatment_share)
        ratio = f"1:{round(treatment_share / (1 - treatment_share), 6):g}"
    else:
        shares = tuple([1 / (len(treatments) + 1)] * (len(treatments) + 1))
        ratio = ":".join(["1"] * len(shares))
    plan = assignment.PilotPlan(
        pilot_id=pilot_id,
        description=description or "(not described)",
        assigned_at=str(begin.date()),
        window=(str(begin.date()), str(last.date())),
        arms=(control, *treatments),
        shares=shares,
        control=control,
        retrospective=retrospective,
        looks=looks,
        min_worthwhile=min_worthwhile,
        seed=seed,
        max_abs_smd=max_smd,
    )
    plan.validate()
    accounts = assignment.eligible_accounts(tables.contracts, begin, last, segment)
    covariates = pre_period(tables, begin, accounts["account_id"])
    drawn = assignment.draw(plan, accounts, covariates)
    path = assignment.record(drawn, record_dir)
    if retrospective:
        typer.echo(
            f"{assignment.RETROSPECTIVE_LABEL}: the start is before the data's end, so no effect read from it "
            "is causal."
        )
    typer.echo(
        f"Assigned {len(drawn.record)} accounts to arms {', '.join(plan.arms)} (control {control!r}; ratio {ratio}, "
        f"seed {seed}, {drawn.attempts} draw(s)) to {path}"
    )
    _echo_frame(drawn.record.groupby(["stratum", "arm"]).size().unstack(fill_value=0))
    for t in plan.treatments:
        typer.echo(f"\nBalance, {t} vs {control} (standardised mean differences):")
        _echo_frame(assignment.balance_table(drawn.record, covariates, control, t))


@pilot_app.command("readout")
@_user_errors
def readout_cmd(
    pilot_id: str = typer.Argument(..., help="Pilot id."),
    level: float = typer.Option(0.95, help="Confidence level of intervals."),
    control: str | None = typer.Option(None, help="Control arm, only for a pilot without a stored plan."),
    adjust: str = typer.Option("holm", help="Correction across treatment arms: holm, bonferroni or fdr_bh."),
    interval: str = typer.Option("newcombe", help="Interval of the difference: newcombe or wald."),
    continuity_correction: bool = typer.Option(
        False, "--continuity-correction", help="Yates / CMH continuity correction of the chi-square tests."
    ),
    data: str | None = typer.Option(None, help=DATA_HELP),
):
    """Read out a pilot: every arm against the control with named intervals, per segment, and the decision.\f

    Parameters
    ----------
    pilot_id : str
        An assigned pilot.
    level : float
        Confidence level of the intervals.
    control, adjust, interval, continuity_correction
        Options of ``insights.analyses.pilots.readout.readout``.
    data : str or None
        Raw data folder, source mapping file or database URL (default: ``config/sources.yaml`` if it
        exists, else ``data/raw``).
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    from insights.analyses.pilots.readout import readout
    from insights.data.settings import load_settings

    tables = _tables(data)
    r = readout(
        tables,
        pilot_id,
        load_settings().grace_days,
        level=level,
        control=control,
        adjust=adjust,
        interval=interval,
        correction=continuity_correction,
    )
    if r.label:
        typer.echo(f"*** {r.label} ***")
    typer.echo(f"Pilot {pilot_id}: {r.plan.description}")
    typer.echo(f"Arms: control {r.plan.control!r}; treatments {', '.join(map(repr, r.effects))}")
    typer.echo(f"Sample ratio check: {r.srm.method}, p = {r.srm.p_value:.3g}")
    _echo_frame(r.per_arm)
    typer.echo("")
    _echo_frame(r.summary())
    if len(r.effects) > 1:
        typer.echo(f"\nEvery arm vs {r.plan.control!r} (p adjusted: {r.adjust_method}):")
        _echo_frame(r.comparisons().drop(columns="test"))
    for e in r.effects.values():
        head = f"\n[{e.treatment} vs {e.control}] " if len(r.effects) > 1 else "\n"
        typer.echo(f"{head}Test: {e.test.method}, p = {e.test.p_value:.3g}, adjusted p = {e.p_adjusted:.3g}")
        if e.arr_change is not None:
            d, t = e.arr_change
            typer.echo(
                f"Net ARR change: {d.estimate:,.0f} ({d.method}: {d.low:,.0f} to {d.high:,.0f}); {t.method}, "
                f"p = {t.p_value:.3g}, adjusted p = {e.arr_p_adjusted:.3g}"
            )
        if e.always_valid is not None:
            cs = e.always_valid
            typer.echo(f"Always valid: {cs.method}: {100 * cs.low:+.1f} to {100 * cs.high:+.1f} points")
        typer.echo(
            f"Bayesian: {e.bayes.method}; P(arm better) = {e.bayes.prob_treatment_better:.3f}, "
            f"expected loss if shipped = {e.bayes.expected_loss_treatment:.4f}"
        )
        if e.stratified is not None:
            st = e.stratified
            typer.echo(f"{st.cmh.method}: p = {st.cmh.p_value:.3g}")
            odds = st.odds_ratio
            typer.echo(f"{odds.method}: {odds.estimate:.3f} ({odds.low:.3f} to {odds.high:.3f})")
            typer.echo("By segment:")
            _echo_frame(st.per_stratum.set_index("stratum"))
            typer.echo(f"Homogeneity: {st.breslow_day.method}, p = {st.breslow_day.p_value:.3g}")
    for note in r.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"\nDECISION: {r.decision.upper()} — {r.reason}")


@pilot_app.command("target")
@_user_errors
def target_cmd(
    pilot_id: str = typer.Argument(..., help="Pilot id."),
    treatment: str | None = typer.Option(None, help="Treatment arm (default: the plan's first)."),
    level: float = typer.Option(0.95, help="Confidence level of intervals."),
    seed: int = typer.Option(7, help="Seed of the cross-fitting folds and the bootstrap (7, as the report)."),
    top: int = typer.Option(20, help="Accounts of the ranked list to print."),
    out: str | None = typer.Option(None, help="Also write the ranked list as this CSV file."),
    data: str | None = typer.Option(None, help=DATA_HELP),
):
    """Who should get the piloted play next: heterogeneity tests, policy values in ARR and CSM hours, ranked list.\f

    Parameters
    ----------
    pilot_id : str
        An assigned pilot with known outcomes.
    treatment, level, seed
        Options of ``insights.analyses.pilots.targeting.analyse``.
    top : int
        Rows of the ranked list printed.
    out : str or None
        CSV file for the whole ranked list (``insights.data.output_files.write_csv``; never overwritten).
    data : str or None
        Raw data folder, source mapping file or database URL (default: ``config/sources.yaml`` if it
        exists, else ``data/raw``).
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    from insights.analyses.pilots import targeting
    from insights.data.output_files import write_csv
    from insights.data.settings import load_settings

    tables = _tables(data)
    r = targeting.analyse(tables, pilot_id, load_settings().grace_days, treatment=treatment, level=level, seed=seed)
    cfg = r.config
    typer.echo(f"Pilot {pilot_id}: {r.treatment} vs {r.control}, {len(r.frame)} accounts with a known outcome.")
    typer.echo(f"Uplift: {r.method}, on the accounts' snapshot just before the assignment.")
    typer.echo(f"\n{r.verdict}\n")
    typer.echo(f"Heterogeneity test: {r.blp.test.method}, p = {r.blp.test.p_value:.3g}")
    typer.echo(f"Effect by group of predicted uplift ({r.gates['method'].iloc[0]}):")
    _echo_frame(r.gates.drop(columns="method").set_index("group"))
    typer.echo(f"\nPolicies (cost per play: {cfg.csm_hours_per_play:g} CSM hours x {cfg.cost_per_csm_hour:,.0f}):")
    cols = ["policy", "plays", "csm_hours", "renewal_rate", "arr_gain", "arr_gain_low", "arr_gain_high", "net_arr_gain"]
    _echo_frame(r.policies[cols].set_index("policy"))
    typer.echo(f"({r.policies['method'].iloc[0]})")
    ranked = targeting.ranked_accounts(tables, r)
    typer.echo(f"\nAccounts renewing in the next {cfg.window_days} days, by expected uplift x ARR (top {top}):")
    _echo_frame(
        ranked.head(top).set_index("rank")[
            ["account_id", "segment", "renewal_date", "arr", "expected_uplift", "expected_arr"]
        ]
    )
    typer.echo(f"note: {targeting.CAVEAT}")
    if out is not None:
        write_csv(ranked, out)
        typer.echo(f"Ranked list ({len(ranked)} accounts) written to {out}")
