"""``insights pilot design | assign | readout``: the pilot workflow without a notebook."""

from __future__ import annotations

import zlib
from pathlib import Path

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


def _tables(data: Path | None):
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
    data: Path | None = typer.Option(None, help="Raw data folder (default: data/raw)."),
):
    """Baselines, accounts renewing per window, and what a pilot can detect.\f

    Parameters
    ----------
    mde, start, quarters, alpha, power
        The pilot design asked for (``insights.analyses.pilots.design.design_table``).
    data : pathlib.Path or None
        Raw data folder (default ``data/raw``).
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
    table = design.design_table(tables, begin, mde, grace, alpha, power, quarters)
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
    treatment_share: float = typer.Option(0.5, help="Share of accounts in the treatment arm (0.5, 1/3, 2/3...)."),
    max_smd: float = typer.Option(0.1, help="Re-randomise until every |SMD| is at most this (0 = off)."),
    looks: int = typer.Option(3, help="Planned looks for group-sequential monitoring."),
    min_worthwhile: float = typer.Option(0.02, help="Smallest renewal-rate change worth shipping."),
    data: Path | None = typer.Option(None, help="Raw data folder (default: data/raw)."),
):
    """Randomise renewing accounts within segment and record the assignment (never re-drawn).\f

    Parameters
    ----------
    pilot_id, window_end, description, start, segment, seed, treatment_share, max_smd, looks, min_worthwhile
        The ``insights.analyses.pilots.assignment.PilotPlan`` and who is eligible (see each option's help).
    data : pathlib.Path or None
        Raw data folder (default ``data/raw``).

    Raises
    ------
    PilotExistsError
        If the pilot is already assigned.
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    import pandas as pd

    from insights.analyses.pilots import assignment
    from insights.analyses.pilots.covariates import pre_period

    begin, last = parse_date_option(start, "--start"), parse_date_option(window_end, "--window-end")
    tables = _tables(data)
    begin = begin if begin is not None else tables.as_of + pd.Timedelta(days=1)
    if pilot_id in assignment.existing_pilots(tables.data_dir):
        raise assignment.PilotExistsError(f"pilot {pilot_id!r} is already assigned; an assignment is never re-drawn.")
    seed = seed if seed is not None else zlib.crc32(pilot_id.encode()) % (2**31)
    shares = (1 - treatment_share, treatment_share)
    plan = assignment.PilotPlan(
        pilot_id=pilot_id,
        description=description or "(not described)",
        assigned_at=str(begin.date()),
        window=(str(begin.date()), str(last.date())),
        shares=shares,
        looks=looks,
        min_worthwhile=min_worthwhile,
        seed=seed,
        max_abs_smd=max_smd,
    )
    plan.validate()
    ratio = round(treatment_share / (1 - treatment_share), 6)
    accounts = assignment.eligible_accounts(tables.contracts, begin, last, segment)
    covariates = pre_period(tables, begin, accounts["account_id"])
    drawn = assignment.draw(plan, accounts, covariates)
    path = assignment.record(drawn, tables.data_dir)
    typer.echo(
        f"Assigned {len(drawn.record)} accounts (ratio 1:{ratio:g}, seed {seed}, {drawn.attempts} draw(s)) to {path}"
    )
    _echo_frame(drawn.record.groupby(["stratum", "arm"]).size().unstack(fill_value=0))
    typer.echo("\nBalance (standardised mean differences):")
    _echo_frame(drawn.balance)


@pilot_app.command("readout")
@_user_errors
def readout_cmd(
    pilot_id: str = typer.Argument(..., help="Pilot id."),
    level: float = typer.Option(0.95, help="Confidence level of intervals."),
    data: Path | None = typer.Option(None, help="Raw data folder (default: data/raw)."),
):
    """Read out a pilot: effect with named intervals, per segment, and the decision.\f

    Parameters
    ----------
    pilot_id : str
        An assigned pilot.
    level : float
        Confidence level of the intervals.
    data : pathlib.Path or None
        Raw data folder (default ``data/raw``).
    """  # noqa: D301, D400 - "\f" (after the summary\'s period) ends the text typer shows in --help
    from insights.analyses.pilots.readout import readout
    from insights.data.settings import load_settings

    tables = _tables(data)
    r = readout(tables, pilot_id, load_settings().grace_days, level=level)
    typer.echo(f"Pilot {pilot_id}: {r.plan.description}")
    typer.echo(f"Sample ratio check: {r.srm.method}, p = {r.srm.p_value:.3g}")
    _echo_frame(r.per_arm)
    typer.echo("")
    _echo_frame(r.summary())
    typer.echo(f"\nTest: {r.test.method}, p = {r.test.p_value:.3g}")
    typer.echo(
        f"Bayesian: {r.bayes.method}; P(playbook better) = {r.bayes.prob_treatment_better:.3f}, "
        f"expected loss if shipped = {r.bayes.expected_loss_treatment:.4f}"
    )
    if r.stratified is not None:
        typer.echo("\nBy segment:")
        _echo_frame(r.stratified.per_stratum.set_index("stratum"))
        typer.echo(f"Homogeneity: {r.stratified.breslow_day.method}, p = {r.stratified.breslow_day.p_value:.3g}")
    for note in r.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"\nDECISION: {r.decision.upper()} — {r.reason}")
