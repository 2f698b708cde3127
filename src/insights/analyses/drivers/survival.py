"""Time to churn: Kaplan-Meier retention by segment, log-rank test, Cox model, C-index, PH check.

The statistics are the generic ones of ``insights.stats.survival``; this module builds the
survival tables from the customer data and names the results in retention words.

Two survival tables, both derived from contract terms with the churn definition of
``insights.metrics.churn``:

- ``lifetimes``: one row per account, time from the account's creation to its first churn in the
  data, censored at the last day a churn can be known (data end minus the grace period). Accounts
  created before the history starts are left-truncated: they enter the risk set at the history
  start (``entry``), so the curves are not biased towards long-lived accounts.
- ``cox_rows``: one row per account, its first complete snapshot (drivers measured strictly
  before the observation date), time from that date to churn, censored as above. Covariates
  never come from after the time origin.

Times are in months (365.25 / 12 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.analyses.segments.rules import value_tier
from insights.data.loading import Tables
from insights.errors import ParameterError
from insights.metrics import churn
from insights.metrics.snapshots import DRIVERS
from insights.stats import survival
from insights.stats.survival import CoxResult

DAYS_PER_MONTH = 365.25 / 12


def _months(delta: pd.Series) -> pd.Series:
    return delta.dt.days / DAYS_PER_MONTH


def _first_churn(tables: Tables, grace_days: int) -> tuple[pd.DataFrame, pd.Timestamp]:
    events = churn.churn_events(tables.contracts, grace_days, tables.as_of)
    known_until = churn.settled_until(grace_days, tables.as_of)
    return events, known_until


def lifetimes(tables: Tables, grace_days: int = 30, tiers=None) -> pd.DataFrame:
    """Account lifetimes from creation to first churn, left-truncated at the history start.

    Parameters
    ----------
    tables : Tables
        Validated raw tables (contracts, accounts).
    grace_days : int
        Grace period of the churn definition; lifetimes are known until ``as_of - grace_days``.
    tiers : list of Tier, optional
        Contract-value tiers; default ``config/segments.yaml``.

    Returns
    -------
    pandas.DataFrame
        account_id, segment (contract-value tier of the account's first term in the data),
        entry (months from creation to the history start, 0 if created later), time (months from
        creation to churn or censoring), churned (0/1).

    Raises
    ------
    ParameterError
        If the contracts table is empty.
    """
    c = tables.contracts.sort_values(["account_id", "start_date"])
    if c.empty:
        raise ParameterError("the contracts table is empty: no lifetime to measure.")
    history_start = c["start_date"].min()
    first = c.groupby("account_id").head(1).set_index("account_id")
    events, known_until = _first_churn(tables, grace_days)
    first_churn = events.sort_values("churn_date").groupby("account_id")["churn_date"].first()
    acc = tables.accounts.set_index("account_id").loc[first.index]
    created = acc["created_at"]
    end = first_churn.reindex(first.index)
    churned = end.notna() & (end <= known_until)
    stop = end.where(churned, known_until)
    out = pd.DataFrame(
        {
            "account_id": first.index,
            "segment": value_tier(first["arr"], tiers).to_numpy(),
            "entry": np.maximum(_months(history_start - created).to_numpy(), 0.0),
            "time": _months(stop - created).to_numpy(),
            "churned": churned.astype(int).to_numpy(),
        }
    )
    out = out[out["time"] > out["entry"]].reset_index(drop=True)
    return out


#: Retention words of this module for the columns of ``insights.stats.survival.kaplan_meier``.
_RETENTION_NAMES = {"survival": "retention", "n": "accounts", "events": "churns", "median_time": "median_lifetime"}
#: Months at which ``kaplan_meier`` reports retention.
HORIZONS = (12, 24)


@dataclass
class RetentionCurves:
    """Kaplan-Meier retention by group (``kaplan_meier``).

    The curves and summary of ``insights.stats.survival.kaplan_meier`` in retention words.

    Attributes
    ----------
    curves : pandas.DataFrame
        group, time (months; a first row at 0 with retention 1), retention, low, high (pointwise 95%
        CI, log-log, Greenwood SE), at_risk.
    summary : pandas.DataFrame
        Per group: accounts, churns, median_lifetime (months, NaN if retention never falls to 50%),
        retention_12m, retention_12m_low/high, retention_24m, retention_24m_low/high, method.
    log_rank : dict
        statistic, df, p, method (NaN statistic and p with a single group).
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    log_rank: dict


def kaplan_meier(life: pd.DataFrame, group: str = "segment") -> RetentionCurves:
    """Kaplan-Meier retention per group with left truncation, and a log-rank test across the groups.

    ``insights.stats.survival.kaplan_meier`` and ``log_rank`` on the lifetimes (``time``,
    ``churned``, ``entry``), in retention words: S(t) is ``retention``, reported at
    ``HORIZONS`` months.

    Parameters
    ----------
    life : pandas.DataFrame
        Output of ``lifetimes`` (entry, time, churned and the group column).
    group : str
        Column with one curve per value.

    Returns
    -------
    RetentionCurves

    Raises
    ------
    ParameterError
        If the group column or a lifetime column is missing, or a lifetime is not after its entry.
    """
    if group not in life:
        raise ParameterError(f"lifetimes lack the group column {group!r}.")
    km = survival.kaplan_meier(life, "time", "churned", entry="entry", group=group, horizons=HORIZONS)
    names = dict(_RETENTION_NAMES)
    for m in HORIZONS:
        names.update({f"survival_{m}{end}": f"retention_{m}m{end}" for end in ("", "_low", "_high")})
    if life[group].nunique() < 2:
        lr = {"statistic": np.nan, "df": 0, "p": np.nan, "method": "log-rank test (needs 2+ groups)"}
    else:
        lr = survival.log_rank(life, "time", "churned", group, entry="entry")
    return RetentionCurves(km.curves.rename(columns=names), km.summary.rename(columns=names), lr)


# --------------------------------------------------------------------------- Cox model


def cox_rows(snap: pd.DataFrame, tables: Tables, grace_days: int = 30, drivers=DRIVERS) -> pd.DataFrame:
    """One row per account: its first complete snapshot and the time from then to churn (months).

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots (account_id, obs_date, tenure_years, the drivers, optionally segment).
    tables : Tables
        Validated raw tables, for the churn events.
    grace_days : int
        Grace period of the churn definition; follow-up ends at ``as_of - grace_days``.
    drivers : sequence of str
        Driver columns; a snapshot missing any of them is skipped.

    Returns
    -------
    pandas.DataFrame
        account_id, obs_date, segment (if in ``snap``), tenure_years, the drivers, ``z_<driver>``
        (standardised over these rows, depth log-transformed), time, churned.
    """
    from insights.analyses.drivers.ranking import standardise

    cols = ["account_id", "obs_date", "tenure_years", *drivers] + (["segment"] if "segment" in snap else [])
    rows = snap[cols].dropna(subset=list(drivers)).sort_values(["account_id", "obs_date"])
    rows = rows.groupby("account_id").head(1).reset_index(drop=True)
    events, known_until = _first_churn(tables, grace_days)
    ev = events.merge(rows[["account_id", "obs_date"]], on="account_id")
    first_churn = ev[ev["churn_date"] >= ev["obs_date"]].groupby("account_id")["churn_date"].min()
    end = rows["account_id"].map(first_churn)
    churned = end.notna() & (end <= known_until)
    rows["time"] = _months(end.where(churned, known_until) - rows["obs_date"])
    rows["churned"] = churned.astype(int)
    rows = rows[rows["time"] > 0].reset_index(drop=True)
    return pd.concat([rows, standardise(rows, drivers)], axis=1)


def driver_cox(snap: pd.DataFrame, tables: Tables, grace_days: int = 30, drivers=DRIVERS) -> CoxResult:
    """Cox model of time to churn on the standardised drivers, tenure and contract-value tier.

    Rows are ``cox_rows`` (first complete snapshot per account); covariates are named after the
    drivers (hazard ratio per +1 SD), ``tenure_years`` and ``segment[<tier>]`` (first tier =
    reference); a covariate constant over the rows is left out. The fit, Harrell's C and the PH
    check are ``insights.stats.survival.cox_ph``.

    Parameters
    ----------
    snap : pandas.DataFrame
        Snapshots (``insights.metrics.snapshots.build``), optionally with a ``segment`` column.
    tables : insights.data.loading.Tables
        The typed tables (contracts give the churn dates).
    grace_days : int
        Grace period of the churn definition.
    drivers : sequence of str
        Driver columns of ``snap``.

    Returns
    -------
    insights.stats.survival.CoxResult

    Raises
    ------
    ParameterError
        If the drivers are collinear or the rows hold too few churns (``cox_ph``).
    """
    rows = cox_rows(snap, tables, grace_days, drivers)
    X = rows[[f"z_{d}" for d in drivers]].set_axis(list(drivers), axis=1)
    X["tenure_years"] = rows["tenure_years"].astype(float)
    if "segment" in rows:
        levels = sorted(rows["segment"].dropna().unique())
        for s in levels[1:]:
            X[f"segment[{s}]"] = (rows["segment"] == s).astype(float)
    X = X.loc[:, X.std(ddof=0) > 0]
    data = pd.concat([X, rows[["time", "churned"]]], axis=1)
    return survival.cox_ph(data, "time", "churned", list(X.columns))
