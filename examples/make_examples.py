"""Writes the made-up export files of the two worked examples (seeded: the same bytes every run).

    python examples/make_examples.py

The rows come from the seeded demo generator (300 accounts); only their shape is changed to look like
a CRM export (``crm/``) and a help-desk export (``helpdesk/``). Tables that both examples read in
contract form (product usage, users, integrations, ...) are in ``common/``, as Parquet extracts
(typed columns: the mapping reads those too). The mapping files
(``*/sources.yaml``) are written by hand and are not touched here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from insights.demo import DemoSpec, generate

HERE = Path(__file__).resolve().parent
SPEC = DemoSpec(n_accounts=300, seed=11)
EUR_PER_USD = 1 / 1.08  # the CRM books ARR in euros; the mapping converts back with multiplier 1.08
TASK_TYPES = {
    "onboarding": "Onboarding Call",
    "qbr": "QBR",
    "save_play": "Save Play",
    "cancellation_request": "Cancellation Request",
    "check_in": "Check-in",
    "training": "Training Session",
}
PRIORITIES = {"urgent": "P1 - Urgent", "high": "P2 - High", "normal": "P3 - Normal", "low": "P4 - Low"}
OWNERS = ("Ana López", "Ben Okafor", "Chloé Martin", "Dev Patel")


def _iso(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out


def _us(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%m/%d/%Y")


def _write(frame: pd.DataFrame, path: Path, sep: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _iso(frame).to_csv(path, index=False, sep=sep, float_format="%.2f", lineterminator="\n")


def main() -> None:
    """Write ``common/``, ``crm/`` and ``helpdesk/`` export files."""
    tables, _ = generate(SPEC)
    rng = np.random.default_rng(2026)
    common = HERE / "common"
    common.mkdir(parents=True, exist_ok=True)
    for name in ("users", "usage_monthly", "integrations", "surveys", "accounts", "contracts", "cs_activities"):
        tables[name].to_parquet(common / f"{name}.parquet", index=False)
    tables["support_tickets"].to_parquet(common / "support_tickets.parquet", index=False)

    accounts = tables["accounts"]
    crm_accounts = pd.DataFrame(
        {
            "Account ID": accounts["account_id"],
            "Account Name": accounts["name"],
            "Industry": accounts["industry"],
            "Billing Region": accounts["region"],
            "Billing Country": accounts["country"],
            "Line of Business": accounts["line_of_business"],
            "Employees": accounts["employees"],
            "Created Date": _us(accounts["created_at"]),
            "Account Owner": [OWNERS[i % len(OWNERS)] if i % 11 else "" for i in range(len(accounts))],
        }
    )
    _write(crm_accounts, HERE / "crm" / "Accounts.csv")
    contracts = tables["contracts"]
    won = pd.DataFrame(
        {
            "Opportunity ID": "OPP-" + contracts["contract_id"],
            "Account ID": contracts["account_id"],
            "Contract Start Date": _us(contracts["start_date"]),
            "Contract End Date": _us(contracts["end_date"]),
            "Amount": (contracts["arr"] * EUR_PER_USD).round(2),
            "Licenses": contracts["seats"],
            "Product": contracts["plan"],
            "Stage": "Closed Won",
            "Close Date": _us(contracts["start_date"] - pd.Timedelta(days=14)),
        }
    )
    lost = won.sample(n=12, random_state=3).assign(
        **{"Opportunity ID": lambda f: f["Opportunity ID"] + "-UPSELL", "Stage": "Closed Lost"}
    )
    _write(pd.concat([won, lost]).sort_values("Opportunity ID", kind="stable"), HERE / "crm" / "Opportunities.csv")
    activities = tables["cs_activities"]
    tasks = pd.DataFrame(
        {
            "Task ID": activities["activity_id"].str.replace("X", "TSK-", regex=False),
            "Account ID": activities["account_id"],
            "Due Date": _us(activities["date"]),
            "Type": activities["type"].map(TASK_TYPES).fillna(activities["type"]),
            "Subject": "Call with " + activities["account_id"],
        }
    )
    _write(tasks, HERE / "crm" / "Tasks.csv")

    tickets = tables["support_tickets"]
    minutes = rng.integers(8 * 60, 18 * 60, size=len(tickets))  # office hours, Berlin time
    stamps = tickets["created_at"] + pd.to_timedelta(minutes, unit="min")
    helpdesk = pd.DataFrame(
        {
            "Ticket ID": "#" + tickets["ticket_id"].str.removeprefix("T"),
            "Organization ID": tickets["account_id"],
            "Subject": "Question about the product",
            "Created At": stamps.dt.strftime("%d.%m.%Y %H:%M"),
            "Priority": tickets["priority"].map(PRIORITIES),
            "Satisfaction": tickets["csat"].astype("string").fillna(""),
        }
    )
    _write(helpdesk, HERE / "helpdesk" / "tickets.csv", sep=";")


if __name__ == "__main__":
    main()
