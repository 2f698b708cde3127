"""Pilot integrity: the assignment read out is the one that was drawn and recorded.

A readout refuses an assignment record that does not match its plan: arms other than the plan's
(an arm renamed ``Treatment``, an arm added or lost), accounts whose arm is not the one the plan's
seed gives them (rows swapped, even with the arm counts unchanged), another seed, or a record
whose SHA-256 differs from the one the plan stored when the record was written.
"""

from __future__ import annotations

import pandas as pd

from insights.analyses.pilots.assignment import PilotPlan, canonical_record, rederive
from insights.errors import ParameterError

#: How many differing accounts a message names before it says "and N more".
NAMED_ACCOUNTS = 10


def _named(ids: list) -> str:
    shown = ", ".join(map(str, ids[:NAMED_ACCOUNTS]))
    return shown + (f" and {len(ids) - NAMED_ACCOUNTS} more" if len(ids) > NAMED_ACCOUNTS else "")


def check_arms(record: pd.DataFrame, plan: PilotPlan) -> None:
    """Refuse a record whose arms are not the plan's arms, naming expected and found arms.

    Parameters
    ----------
    record : pandas.DataFrame
        The pilot's assignment record (column ``arm``).
    plan : PilotPlan
        Its stored plan.

    Raises
    ------
    ParameterError
        If an arm of the record is not in the plan or an arm of the plan has no account; the
        message lists the plan's arms (and its control) and the record's arms.
    """
    found = sorted(map(str, pd.unique(record["arm"])))
    expected = list(plan.arms)
    unexpected = [a for a in found if a not in expected]
    empty = [a for a in expected if a not in found]
    if unexpected or empty:
        parts = []
        if unexpected:
            parts.append(f"arm(s) {unexpected} are not in the plan")
        if empty:
            parts.append(f"plan arm(s) {empty} have no account")
        raise ParameterError(
            f"the assignment of pilot {plan.pilot_id!r} does not match its plan: expected arms {expected} "
            f"(control {plan.control!r}), found {found}; " + "; ".join(parts) + ". Arm names are compared "
            "exactly (case matters): restore the recorded assignment file instead of renaming arms."
        )


def check_integrity(record: pd.DataFrame, plan: PilotPlan) -> list[str]:
    """Check an assignment record against its plan; refuse any mismatch.

    In order: the arms (``check_arms``); the seed column against ``plan.seed``; when the plan
    records its ``draw``, the arms re-derived from the seed (``assignment.rederive``) against the
    recorded ones; and the SHA-256 of the record's canonical text against ``plan.assignment_sha256``.

    Parameters
    ----------
    record : pandas.DataFrame
        The pilot's rows of ``pilot_assignments`` (``assignment.RECORD_COLUMNS``).
    plan : PilotPlan
        Its stored plan.

    Returns
    -------
    list of str
        Notes on what was verified and what could not be (a plan without a draw or a digest).

    Raises
    ------
    ParameterError
        On any mismatch, naming the differing arms, seeds or accounts.
    """
    check_arms(record, plan)
    seeds = record["seed"].astype("int64")
    other_seed = record.loc[seeds != plan.seed, "account_id"].astype(str).tolist()
    if other_seed:
        raise ParameterError(
            f"the assignment of pilot {plan.pilot_id!r} records another seed than its plan ({plan.seed}) "
            f"for {len(other_seed)} account(s): {_named(sorted(other_seed))}. The record was changed after "
            "it was drawn; restore it."
        )
    verified = []
    if plan.draw is not None:
        drawn = rederive(plan, record)
        recorded = record.set_index("account_id")["arm"].astype(str)
        recorded.index = recorded.index.astype(str)
        drawn.index = drawn.index.astype(str)
        differ = sorted(recorded.index[recorded.reindex(drawn.index).to_numpy() != drawn.to_numpy()])
        if differ:
            detail = ", ".join(f"{a} ({recorded[a]}, drawn {drawn[a]})" for a in differ[:NAMED_ACCOUNTS])
            more = f" and {len(differ) - NAMED_ACCOUNTS} more" if len(differ) > NAMED_ACCOUNTS else ""
            raise ParameterError(
                f"the assignment of pilot {plan.pilot_id!r} does not match the draw its seed gives "
                f"(seed {plan.seed}, draw {plan.draw}): {len(differ)} account(s) are in another arm: "
                f"{detail}{more}. The record was changed after it was drawn; restore it."
            )
        verified.append(f"re-derived from seed {plan.seed} (draw {plan.draw})")
    if plan.assignment_sha256:
        _, digest = canonical_record(record)
        if digest != plan.assignment_sha256:
            why = (
                "the arms match the seed's draw, so another column (stratum, date, pilot id) or the set of "
                "accounts changed"
                if plan.draw is not None
                else "this plan does not record its draw, so the changed accounts cannot be named"
            )
            raise ParameterError(
                f"the assignment of pilot {plan.pilot_id!r} is not the one recorded: its SHA-256 is "
                f"{digest[:12]}…, the plan stored {plan.assignment_sha256[:12]}… ({why}). Restore the "
                "recorded assignment file."
            )
        verified.append("SHA-256 matches the plan")
    if not verified:
        return [
            f"the plan of pilot {plan.pilot_id!r} records neither its draw nor the record's SHA-256, so the "
            "assignment could not be verified."
        ]
    return [f"assignment verified: {'; '.join(verified)}."]
