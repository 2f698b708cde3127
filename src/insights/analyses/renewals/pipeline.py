"""The renewal pipeline of a quarter and the CSM action list.

Three questions every CS leader asks each quarter: which accounts renew this quarter,
how many of them are in a save play, and how many asked to cancel — in counts and
ARR, by segment. The action list turns the answers (with health, coverage and
benchmark concerns) into rows a CSM can work from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.analyses.segments import rules as segments
from insights.data.loading import Tables
from insights.data.output_files import write_csv  # noqa: F401 - the notebooks call renewals.write_csv
from insights.errors import ParameterError
from insights.metrics import churn
from insights.metrics.periods import Quarter, parse_quarter
from insights.stats.rates import TOTAL

UPCOMING = "upcoming"  # renewal date after the data ends


def renewals_in_quarter(
    tables: Tables, quarter: str | Quarter, grace_days: int, save_play_days: int = 120, cancellation_days: int = 180
) -> pd.DataFrame:
    """Every contract term whose renewal date (end date) falls in ``quarter``.

    An account is *in a save play* when a ``save_play`` activity is dated within
    ``save_play_days`` before its renewal date; it *requested cancellation* when a
    ``cancellation_request`` is dated within ``cancellation_days`` before it. Only
    activities up to the data end count.

    Parameters
    ----------
    tables : Tables
        Validated raw tables (contracts, accounts, cs_activities).
    quarter : str or Quarter
        E.g. ``"2024Q4"``.
    grace_days : int
        Grace period of the churn definition.
    save_play_days, cancellation_days : int
        Look-back windows before the renewal date for a save play and a cancellation request.

    Returns
    -------
    pandas.DataFrame
        account_id, name, contract_id, renewal_date, arr, seats, segment (tier of the
        term's ARR), in_save_play, cancellation_requested, status (renewed, churned,
        open — inside the grace period — or upcoming — after the data end).
    """
    q = parse_quarter(quarter)
    terms = churn.contract_outcomes(tables.contracts, grace_days, tables.as_of)
    terms = terms[(terms["end_date"] >= q.start) & (terms["end_date"] <= q.end)].copy()
    terms["status"] = np.where(terms["end_date"] > tables.as_of, UPCOMING, terms["outcome"])
    terms["segment"] = segments.value_tier(terms["arr"]).to_numpy()
    act = tables.cs_activities
    for col, kind, days in (
        ("in_save_play", "save_play", save_play_days),
        ("cancellation_requested", "cancellation_request", cancellation_days),
    ):
        a = act[act["type"] == kind][["account_id", "date"]].merge(
            terms[["contract_id", "account_id", "end_date"]], on="account_id"
        )
        a = a[(a["date"] <= a["end_date"]) & (a["date"] > a["end_date"] - pd.Timedelta(days=days))]
        terms[col] = terms["contract_id"].isin(set(a["contract_id"]))
    names = tables.accounts.set_index("account_id")["name"]
    terms["name"] = terms["account_id"].map(names)
    cols = [
        "account_id",
        "name",
        "contract_id",
        "end_date",
        "arr",
        "seats",
        "segment",
        "in_save_play",
        "cancellation_requested",
        "status",
    ]
    return (
        terms[cols]
        .rename(columns={"end_date": "renewal_date"})
        .sort_values(["renewal_date", "account_id"])
        .reset_index(drop=True)
    )


def pipeline_summary(renewals: pd.DataFrame) -> pd.DataFrame:
    """Counts and ARR by segment (and in total): renewing, in save play, cancellation requested, outcomes.

    Parameters
    ----------
    renewals : pandas.DataFrame
        Output of ``renewals_in_quarter``.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment (every tier) plus ``TOTAL``; columns renewing, renewing_arr, in_save_play,
        save_play_arr, cancellation_requested, cancellation_arr, and per status the
        count and ARR (renewed, churned, open, upcoming).
    """

    def block(part: pd.DataFrame) -> dict:
        row = {
            "renewing": len(part),
            "renewing_arr": part["arr"].sum(),
            "in_save_play": int(part["in_save_play"].sum()),
            "save_play_arr": part.loc[part["in_save_play"], "arr"].sum(),
            "cancellation_requested": int(part["cancellation_requested"].sum()),
            "cancellation_arr": part.loc[part["cancellation_requested"], "arr"].sum(),
        }
        for status in (churn.RENEWED, churn.CHURNED, churn.OPEN, UPCOMING):
            row[status] = int((part["status"] == status).sum())
            row[f"{status}_arr"] = part.loc[part["status"] == status, "arr"].sum()
        return row

    rows = {seg: block(renewals[renewals["segment"] == seg]) for seg in segments.tier_names()}
    rows[TOTAL] = block(renewals)
    return pd.DataFrame.from_dict(rows, orient="index")


def concerns(scored: pd.DataFrame, components, low: float = 20.0) -> pd.Series:
    """Per row, the components scored at or below ``low`` (bottom of the segment), comma-separated.

    Parameters
    ----------
    scored : pandas.DataFrame
        Rows with ``<component>_score`` columns (``insights.analyses.health.score.score``).
    components : iterable of str
        Components to check; those without a score column are skipped.
    low : float
        Score (0-100 within the segment) at or below which a component is a concern.

    Returns
    -------
    pandas.Series of str
        Same index as ``scored``; empty string when nothing is low.
    """
    parts = []
    for comp in components:
        col = f"{comp}_score"
        if col in scored:
            parts.append(np.where(scored[col] <= low, comp, ""))
    if not parts:
        return pd.Series("", index=scored.index)
    joined = [", ".join(p for p in row if p) for row in zip(*parts)]
    return pd.Series(joined, index=scored.index)


def action_list(accounts: pd.DataFrame, renewing_within_days: int = 120) -> pd.DataFrame:
    """Rows a CSM can work from, most urgent first, each with a suggested next action.

    Parameters
    ----------
    accounts : pandas.DataFrame
        One row per account under contract: account_id, name, segment, arr,
        renewal_date, days_to_renewal, health, band, growth_potential, coverage,
        save_play_active, cancellation_requested and optionally concerns (text).
    renewing_within_days : int
        An account whose renewal is 0 to this many days away is renewing soon.

    Returns
    -------
    pandas.DataFrame
        The same rows with ``action`` and ``priority`` (higher = sooner), sorted.

    Raises
    ------
    ParameterError
        If a needed column is missing (the message lists them).

    Notes
    -----
    The suggested action follows, in order: cancellation requested -> executive save
    call; red and renewing soon without a save play -> start a save play; renewing soon
    -> renewal conversation; growth potential within 6 months -> expansion conversation;
    high-touch -> QBR; otherwise the tier's cadence.
    """
    need = [
        "account_id",
        "arr",
        "days_to_renewal",
        "band",
        "coverage",
        "save_play_active",
        "cancellation_requested",
        "growth_potential",
    ]
    missing = [c for c in need if c not in accounts.columns]
    if missing:
        raise ParameterError(f"action list needs columns {missing}.")
    a = accounts.copy()
    soon = a["days_to_renewal"].between(0, renewing_within_days)
    red = a["band"] == "red"
    asked = a["cancellation_requested"].astype(bool)
    in_play = a["save_play_active"].astype(bool)
    if "growth_horizon_months" in a:
        growth6 = a["growth_horizon_months"].astype("Float64").le(6).fillna(False).astype(bool)
    else:  # without the horizon column, fall back to the configured rule name
        growth6 = a["growth_potential"].astype("string").str.contains("within 6 months", na=False)
    a["action"] = np.select(
        [asked, red & soon & ~in_play, red & soon, soon, growth6, a["coverage"] == "high-touch"],
        [
            "executive save call (cancellation requested)",
            "start a save play",
            "continue the save play",
            "renewal conversation",
            "expansion conversation",
            "QBR",
        ],
        default=np.where(a["coverage"] == "mid-touch", "pooled check-in", "tech-touch nurture"),
    )
    risk = a["band"].map({"red": 3.0, "amber": 2.0, "green": 1.0}).fillna(1.0)
    urgency = np.where(soon, 2.0, 1.0) + asked.astype(float) * 2
    a["priority"] = np.log10(a["arr"].clip(lower=1)) * risk * urgency
    return a.sort_values(["priority", "account_id"], ascending=[False, True]).reset_index(drop=True)


def headline(this_quarter: pd.DataFrame, next_quarter: pd.DataFrame, quarter, next_q) -> dict:
    """Front-page items: this quarter's renewals and next quarter's pipeline (``pipeline_summary`` rows).

    Parameters
    ----------
    this_quarter, next_quarter : pandas.DataFrame
        ``pipeline_summary`` of the quarter and of the next one (their ``TOTAL`` rows are used).
    quarter, next_q : str or Quarter
        The two quarters, as they appear in the labels.

    Returns
    -------
    dict of str to str
        Label -> text: renewals due, outcomes so far, save plays and cancellation requests this
        quarter, and next quarter's pipeline.
    """
    a, b = pd.Series(this_quarter.loc[TOTAL], dtype=float), pd.Series(next_quarter.loc[TOTAL], dtype=float)
    money = lambda v: f"${v / 1e6:,.2f}M"  # noqa: E731
    return {
        f"renewals due {quarter}": f"{int(a['renewing'])} accounts, {money(a['renewing_arr'])} ARR",
        f"outcome so far ({quarter})": f"{int(a['renewed'])} renewed, {int(a['churned'])} churned "
        f"({money(a['churned_arr'])}), {int(a['open'])} inside the grace period",
        f"in a save play / asked to cancel ({quarter})": (
            f"{int(a['in_save_play'])} / {int(a['cancellation_requested'])}"
        ),
        f"renewals due {next_q}": f"{int(b['renewing'])} accounts, {money(b['renewing_arr'])} ARR; "
        f"{int(b['in_save_play'])} in a save play, {int(b['cancellation_requested'])} "
        "asked to cancel",
    }
