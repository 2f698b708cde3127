"""The renewal pipeline of a quarter.

Three questions every CS leader asks each quarter: which accounts renew this quarter,
how many of them are in a save play, and how many asked to cancel — in counts and
ARR, by segment. ``pipeline_with_risk`` adds each renewal's health, risk and next action from
the CSM worklist (``insights.analyses.renewals.worklist``).
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


#: Status of an upcoming renewal (after the data end), in the order they are decided.
ASKED_TO_CANCEL, IN_SAVE_PLAY, RENEWED_EARLY = "asked to cancel", "in save play", "renewed early"
#: Columns the pipeline takes from the worklist.
RISK_COLUMNS = ("health", "band", "p_churn", "expected_arr_at_risk", "next_action", "due_date")


def pipeline_status(renewals: pd.DataFrame, tables: Tables, grace_days: int) -> pd.Series:
    """A status a CS leader reads for each renewal of ``renewals_in_quarter``.

    A renewal decided by the data end keeps its outcome (renewed, churned, open). An upcoming one
    is, in this order: *asked to cancel* (a cancellation request before it), *in save play*,
    *renewed early* (a successor term is already signed), else *upcoming*.

    Parameters
    ----------
    renewals : pandas.DataFrame
        Output of ``renewals_in_quarter``.
    tables : Tables
        The tables it was built from (contracts, for the successor terms).
    grace_days : int
        Grace period of the churn definition.

    Returns
    -------
    pandas.Series of str
        Same index as ``renewals``.

    Raises
    ------
    ParameterError
        If a column of ``renewals_in_quarter`` is missing.
    """
    need = ["contract_id", "status", "in_save_play", "cancellation_requested"]
    missing = [c for c in need if c not in renewals.columns]
    if missing:
        raise ParameterError(f"the renewals need columns {missing}; build them with renewals_in_quarter.")
    outcomes = churn.contract_outcomes(tables.contracts, grace_days, tables.as_of).set_index("contract_id")
    early = renewals["contract_id"].map(outcomes["outcome"]).eq(churn.RENEWED).to_numpy(dtype=bool)
    upcoming = (renewals["status"] == UPCOMING).to_numpy()
    status = np.select(
        [
            upcoming & renewals["cancellation_requested"].to_numpy(dtype=bool),
            upcoming & renewals["in_save_play"].to_numpy(dtype=bool),
            upcoming & early,
        ],
        [ASKED_TO_CANCEL, IN_SAVE_PLAY, RENEWED_EARLY],
        default=renewals["status"].astype(str).to_numpy(),
    )
    return pd.Series(status, index=renewals.index, name="status")


def pipeline_with_risk(renewals: pd.DataFrame, tables: Tables, grace_days: int, work: pd.DataFrame) -> pd.DataFrame:
    """The renewal pipeline as CS works it: each renewal with its status, health, risk and next action.

    Parameters
    ----------
    renewals : pandas.DataFrame
        Output of ``renewals_in_quarter``.
    tables : Tables
        The tables it was built from.
    grace_days : int
        Grace period of the churn definition.
    work : pandas.DataFrame
        The worklist of every account under contract
        (``insights.analyses.renewals.worklist.build`` with ``window_days=None``).

    Returns
    -------
    pandas.DataFrame
        The renewals with ``status`` from ``pipeline_status`` and, per account, health, band,
        p_churn, expected_arr_at_risk, next_action and due_date (missing for an account the
        worklist does not hold, e.g. one whose term already ended).

    Raises
    ------
    ParameterError
        If the worklist lacks account_id or one of ``RISK_COLUMNS``.
    """
    missing = [c for c in ("account_id", *RISK_COLUMNS) if c not in work.columns]
    if missing:
        raise ParameterError(f"the worklist needs columns {missing}; build it with worklist.build(window_days=None).")
    out = renewals.copy()
    out["status"] = pipeline_status(renewals, tables, grace_days)
    per_account = work.drop_duplicates("account_id").set_index("account_id")
    for col in RISK_COLUMNS:
        out[col] = out["account_id"].map(per_account[col])
    return out


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
