"""Seeded demo data: a realistic B2B SaaS customer base with a known truth.

``generate`` returns every raw table of the data contract plus the ground truth;
``write_demo`` writes them as CSV files and ``ground_truth.json``. The same
``DemoSpec`` gives byte-identical files on any day.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from insights.data.output_files import write_csv
from insights.data.raw_files import GROUND_TRUTH_FILE
from insights.demo.accounts import make_accounts
from insights.demo.activity import (
    coverage,
    make_activities,
    make_integrations,
    make_surveys,
    make_tickets,
    make_usage,
    make_users,
)
from insights.demo.drivers import simulate_drivers
from insights.demo.lifecycle import simulate_lifecycle
from insights.demo.spec import DemoSpec, rng_streams
from insights.demo.truth import build_truth
from insights.errors import ParameterError

__all__ = ["GROUND_TRUTH_FILE", "DemoSpec", "generate", "write_demo"]

_STREAMS = (
    "accounts",
    "drivers",
    "lifecycle",
    "pilot",
    "users",
    "usage",
    "tickets",
    "surveys",
    "activities",
    "integrations",
)


def _ids(prefix: str, n: int, width: int = 7) -> list[str]:
    return [f"{prefix}{i:0{width}d}" for i in range(1, n + 1)]


def _numbered(frame: pd.DataFrame, id_col: str, prefix: str, order: list[str]) -> pd.DataFrame:
    frame = frame.sort_values(order, kind="stable").reset_index(drop=True)
    frame.insert(0, id_col, _ids(prefix, len(frame)))
    return frame


def generate(spec: DemoSpec | None = None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Generate every raw table and the ground truth.

    Parameters
    ----------
    spec : DemoSpec, optional
        Size, seed and calendar (defaults: 2,000 accounts, seed 7, history to 2026-09-30).

    Returns
    -------
    tables : dict of pandas.DataFrame
        accounts, contracts, users, usage_monthly, support_tickets, surveys,
        cs_activities, integrations and pilot_assignments, in contract columns.
    truth : dict
        The ground truth (see ``insights.demo.truth.build_truth``).
    """
    spec = spec or DemoSpec()
    rng = rng_streams(spec.seed, _STREAMS)
    accounts = make_accounts(spec, rng["accounts"])
    x = simulate_drivers(spec, accounts, rng["drivers"])
    pilot_seed = int(rng["pilot"].integers(1, 2**31 - 1))
    terms, pilot = simulate_lifecycle(spec, accounts, x, rng["lifecycle"], rng["pilot"], pilot_seed)
    terms = terms[terms["start_date"] <= spec.window_end]
    cov = coverage(spec, accounts, terms)
    trait = x.mean(axis=1)
    ids = accounts["account_id"].to_numpy()

    contracts = terms.copy()
    contract_ids = pd.Series(_ids("C", len(contracts)), index=contracts.index)
    contracts.insert(0, "contract_id", contract_ids.to_numpy())
    contracts["account_id"] = ids[contracts["account"]]

    users = _numbered(make_users(spec, accounts, cov, trait, rng["users"]), "user_id", "U", ["account", "invited_at"])
    usage = make_usage(spec, accounts, cov, x, users, rng["usage"])
    tickets = _numbered(make_tickets(spec, cov, x, rng["tickets"]), "ticket_id", "T", ["account", "created_at"])
    surveys = _numbered(make_surveys(spec, cov, x, rng["surveys"]), "response_id", "R", ["account", "responded_at"])
    activities = _numbered(
        make_activities(spec, accounts, cov, x, terms, rng["activities"]),
        "activity_id",
        "X",
        ["account", "date", "type"],
    )
    integrations = make_integrations(spec, accounts, cov, trait, rng["integrations"])
    for frame in (users, usage, tickets, surveys, activities, integrations, pilot):
        frame["account_id"] = ids[frame["account"]]

    tables = {
        "accounts": accounts[
            ["account_id", "name", "industry", "region", "country", "line_of_business", "employees", "created_at"]
        ],
        "contracts": contracts[["contract_id", "account_id", "start_date", "end_date", "arr", "seats", "plan"]],
        "users": users[["user_id", "account_id", "role", "invited_at", "activated_at"]],
        "usage_monthly": usage[
            ["account_id", "month", "active_users", "activated_seats", "events", "distinct_features"]
        ],
        "support_tickets": tickets[["ticket_id", "account_id", "created_at", "priority", "csat"]],
        "surveys": surveys[["response_id", "account_id", "responded_at", "nps", "value_score"]],
        "cs_activities": activities[["activity_id", "account_id", "date", "type"]],
        "integrations": integrations.sort_values(["account", "connected_at", "integration"], kind="stable")[
            ["account_id", "integration", "connected_at", "disconnected_at"]
        ],
        "pilot_assignments": pilot[["pilot_id", "account_id", "arm", "stratum", "assigned_at", "seed"]],
    }
    for name in ("support_tickets", "surveys"):
        col = "csat" if name == "support_tickets" else "value_score"
        tables[name] = tables[name].assign(**{col: tables[name][col].astype("Int64")})
    truth = build_truth(spec, accounts, terms, pilot, contract_ids)
    return {k: v.reset_index(drop=True) for k, v in tables.items()}, truth


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    write_csv(out, path, sanitise=False, float_format="%.2f")  # raw data, read back as it is


def _pilot_plan(spec: DemoSpec, record: pd.DataFrame) -> str:
    """The stored plan of the demo pilot, as ``insights pilot assign`` would write it."""
    from insights.analyses.pilots.assignment import PilotPlan, canonical_record, plan_document
    from insights.demo.spec import PILOT_DESCRIPTION

    first, last = spec.pilot_window
    plan = PilotPlan(
        pilot_id=spec.pilot_id,
        description=PILOT_DESCRIPTION,
        assigned_at=str(spec.pilot_assigned_at.date()),
        window=(str(first.date()), str(last.date())),
        seed=int(record["seed"].iloc[0]),
        stratify_by="segment",
        max_abs_smd=0.0,
        assignment_sha256=canonical_record(record)[1],  # drawn by the generator, so checked by digest only
    )
    return plan_document(plan, attempts=1, balance=pd.DataFrame())


def write_demo(out_dir: str | os.PathLike, spec: DemoSpec | None = None, events: bool = False) -> dict:
    """Write a demo dataset into ``out_dir`` (which must hold no raw tables yet).

    Files are written to a temporary folder first and moved into place at the end,
    so an interrupted run leaves nothing half-written.

    Parameters
    ----------
    out_dir : path
    spec : DemoSpec, optional
    events : bool
        Also write the raw product-usage events as ``usage_events.parquet``
        (``insights.demo.events``; they aggregate back to ``usage_monthly`` exactly). The other
        files are the same with or without it.

    Returns
    -------
    dict
        The ground truth.

    Raises
    ------
    ParameterError
        If ``out_dir`` already holds raw tables (raw data is never overwritten).
    """
    from insights.data.loading import has_data

    spec = spec or DemoSpec()
    out = Path(out_dir).expanduser().resolve()
    if out.is_dir() and (has_data(out) or (out / GROUND_TRUTH_FILE).exists()):
        raise ParameterError(
            f"{out} already holds raw data; demo data is only written into an empty folder "
            "(raw data is never overwritten). Choose another --out or empty it yourself."
        )
    tables, truth = generate(spec)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=out))
    try:
        for name, frame in tables.items():
            if name == "pilot_assignments":
                (tmp / "pilots").mkdir()
                for pilot_id, part in frame.groupby("pilot_id", sort=True):
                    _write_csv(part, tmp / "pilots" / f"{pilot_id}.csv")
                    (tmp / "pilots" / f"{pilot_id}.json").write_text(_pilot_plan(spec, part))
            else:
                _write_csv(frame, tmp / f"{name}.csv")
        (tmp / GROUND_TRUTH_FILE).write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
        if events:
            from insights.demo.events import EVENTS_FILE, write_events

            write_events(spec, tables, tmp / EVENTS_FILE)
        for item in sorted(tmp.iterdir()):
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return truth
