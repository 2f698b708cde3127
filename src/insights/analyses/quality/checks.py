"""Data-quality profile of the raw tables: what an analyst checks before trusting numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.data import contract
from insights.data.loading import Tables, data_start
from insights.data.validation import Violation, violations_frame
from insights.metrics import churn
from insights.stats.rates import churn_rate

#: The date column that places each table's rows in time.
DATE_COLUMNS = {
    "accounts": "created_at",
    "contracts": "start_date",
    "users": "invited_at",
    "usage_monthly": "month",
    "support_tickets": "created_at",
    "surveys": "responded_at",
    "cs_activities": "date",
    "integrations": "connected_at",
    "pilot_assignments": "assigned_at",
    "usage_events": "ts",
}


def row_counts(tables: Tables) -> pd.DataFrame:
    """Rows, key and date range per table.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.

    Returns
    -------
    pandas.DataFrame
        Indexed by table, columns rows, accounts (distinct account_id), key, first, last.
    """
    out = []
    for name, frame in tables.frames.items():
        date_col = DATE_COLUMNS.get(name)
        dates = frame[date_col] if date_col in frame else pd.Series(dtype="datetime64[ns]")
        out.append(
            {
                "table": name,
                "rows": len(frame),
                "accounts": frame["account_id"].nunique() if "account_id" in frame else None,
                "key": "+".join(contract.TABLES[name].key) or "(none)",
                "first": dates.min(),
                "last": dates.max(),
            }
        )
    return pd.DataFrame(out).set_index("table")


def monthly_coverage(tables: Tables) -> pd.DataFrame:
    """Rows per calendar month for each dated table (months as rows, tables as columns).

    Parameters
    ----------
    tables : Tables
        Validated raw tables; accounts and pilot assignments are left out.

    Returns
    -------
    pandas.DataFrame
        Indexed by month (``YYYY-MM``, from the first usage month to the data end), one integer
        column per dated table.
    """
    series = {}
    for name, frame in tables.frames.items():
        col = DATE_COLUMNS.get(name)
        if col not in frame or name in ("accounts", "pilot_assignments") or frame.empty:
            continue
        series[name] = frame[col].dt.to_period("M").value_counts()
    cov = pd.DataFrame(series).sort_index().fillna(0).astype(int)
    first = data_start(tables.frames).to_period("M")
    cov = cov[(cov.index >= first) & (cov.index <= tables.as_of.to_period("M"))]
    cov.index = cov.index.astype(str)
    cov.index.name = "month"
    return cov


def missingness(tables: Tables) -> pd.DataFrame:
    """Missing values per contract column: count, share, and whether the contract allows them.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.

    Returns
    -------
    pandas.DataFrame
        One row per contract column present: table, column, missing (count), share, allowed
        (the contract lets it be null).
    """
    out = []
    for name, frame in tables.frames.items():
        for col in contract.TABLES[name].columns:
            if col.name in frame:
                missing = int(frame[col.name].isna().sum())
                out.append(
                    {
                        "table": name,
                        "column": col.name,
                        "missing": missing,
                        "share": missing / len(frame) if len(frame) else 0.0,
                        "allowed": col.nullable,
                    }
                )
    return pd.DataFrame(out)


def consistency_warnings(tables: Tables, grace_days: int) -> pd.DataFrame:
    """Cross-table checks that are not contract violations but deserve a look.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    grace_days : int
        Grace period of the churn definition (for usage after a churn).

    Returns
    -------
    pandas.DataFrame
        Columns check, count, examples (account ids), one row per check, zero counts included.
    """
    accounts = tables.accounts["account_id"]
    contracts = tables.contracts
    usage = tables.usage_monthly
    outcomes = churn.contract_outcomes(contracts, grace_days, tables.as_of)
    checks: dict[str, pd.Series] = {}
    checks["accounts without any contract"] = accounts[~accounts.isin(contracts["account_id"])]
    checks["accounts under contract with no usage rows"] = pd.Series(  # none to check without usage data
        sorted(set(contracts["account_id"]) - set(usage["account_id"])) if not usage.empty else [], dtype="str"
    )
    # usage in months that no contract term covers (e.g. after churn, or a missing term); the usage x
    # terms join holds integer codes and month numbers only (at 200,000 accounts: 11 million rows)
    codes, _ = pd.factorize(pd.concat([usage["account_id"], contracts["account_id"]], ignore_index=True))
    terms = pd.DataFrame(
        {
            "acc": codes[len(usage) :],
            "first": _month_number(contracts["start_date"]),
            "last": _month_number(contracts["end_date"]),
        }
    )
    joined = pd.DataFrame({"acc": codes[: len(usage)], "period": _month_number(usage["month"])}).reset_index()
    joined = joined.merge(terms, on="acc", how="left")
    covered = np.zeros(len(usage), dtype=bool)
    covered[joined.loc[(joined["period"] >= joined["first"]) & (joined["period"] <= joined["last"]), "index"]] = True
    del joined
    u = usage[["account_id", "month"]].reset_index(drop=True).reset_index()  # "index": the usage row's position
    checks["usage months outside every contract term"] = u.loc[~covered, "account_id"]
    checks["contract terms with zero ARR"] = contracts.loc[contracts["arr"] == 0, "account_id"]
    churned = outcomes.loc[outcomes["outcome"] == churn.CHURNED, ["account_id", "churn_date"]]
    late = churned.merge(u, on="account_id")
    late = late[(late["month"] > late["churn_date"]) & ~covered[late["index"].to_numpy()]]
    checks["usage after a churn (account not back under contract)"] = late.drop_duplicates("index")["account_id"]
    unknown = tables.cs_activities.loc[~tables.cs_activities["type"].isin(contract.KNOWN_ACTIVITY_TYPES), "type"]
    checks["cs_activities of a type the analysis does not use"] = unknown
    rows = [
        {"check": name, "count": len(values), "examples": ", ".join(map(str, pd.unique(values)[:5]))}
        for name, values in checks.items()
    ]
    return pd.DataFrame(rows)


def _month_number(dates: pd.Series) -> np.ndarray:
    """Months since year 0 (``year * 12 + month``; NaN for a missing date), ordered as the calendar months."""
    return (dates.dt.year * 12 + dates.dt.month).to_numpy(dtype=float, na_value=np.nan)


def renewal_outcomes_by_quarter(tables: Tables, grace_days: int) -> pd.DataFrame:
    """Contract terms ending per quarter by outcome (renewed / churned / open), with the logo churn rate.

    Parameters
    ----------
    tables : Tables
        Validated raw tables.
    grace_days : int
        Grace period of the churn definition.

    Returns
    -------
    pandas.DataFrame
        Indexed by quarter (``"2026Q3"``), columns renewed, churned, open, settled
        (every term ending in the quarter is settled: ``insights.metrics.churn.settled``) and
        logo_churn_rate (churned / (renewed + churned), only for settled quarters: renewals
        show up at once but churns only after the grace period, so the rate of a quarter with
        unsettled terms would be biased low).
    """
    out = churn.contract_outcomes(tables.contracts, grace_days, tables.as_of)
    out = out[out["end_date"] <= tables.as_of + pd.offsets.QuarterEnd(0)]
    out = out.assign(quarter=out["end_date"].dt.to_period("Q").astype(str), churned=churn.churned_flag(out["outcome"]))
    counts = out.pivot_table(index="quarter", columns="outcome", values="contract_id", aggfunc="count", fill_value=0)
    for col in (churn.RENEWED, churn.CHURNED, churn.OPEN):
        if col not in counts:
            counts[col] = 0
    counts = counts[[churn.RENEWED, churn.CHURNED, churn.OPEN]]
    rates = churn_rate(
        out, outcome="churned", by="quarter", settled="settled", order=counts.index, total=None, complete_only=True
    )
    counts["settled"] = rates["unsettled"].to_numpy() == 0
    counts["logo_churn_rate"] = rates["rate"].to_numpy()
    counts.columns.name = None
    return counts


def violations_table(violations: list[Violation]) -> pd.DataFrame:
    """Contract violations as a table (empty when the data is clean).

    Parameters
    ----------
    violations : list of Violation
        Contract violations found when loading.

    Returns
    -------
    pandas.DataFrame
        One row per violation: table, column, rule, count, examples (comma-separated).
    """
    return violations_frame(violations)


def headline(violations: list[Violation], warnings: pd.DataFrame, tables: Tables) -> dict:
    """Front-page items of the data-quality notebook.

    Parameters
    ----------
    violations : list of Violation
        Contract violations found when loading.
    warnings : pandas.DataFrame
        Output of ``consistency_warnings``.
    tables : Tables
        Validated raw tables.

    Returns
    -------
    dict of str to str
        Label -> text: violation count, data end, accounts and contract terms, the warnings with a
        non-zero count.
    """
    flagged = warnings[warnings["count"] > 0]
    return {
        "contract violations": str(len(violations)),
        "data runs to": f"{tables.as_of:%Y-%m-%d}",
        "accounts / contract terms": f"{len(tables.accounts):,} / {len(tables.contracts):,}",
        "consistency warnings": "; ".join(f"{c} ({n})" for c, n in zip(flagged["check"], flagged["count"])) or "none",
    }
