"""Switching cost of an account on an observation date ``t``: a composite with its components kept.

integrations
    Integrations connected before ``t`` and not disconnected before ``t``.
admins
    Admin users invited before ``t``.
data_volume
    log(1 + usage events summed over the last ``Windows.data_volume_months`` complete months);
    0 without usage.
switching_cost
    Mean of the standardised components integrations, admins, tenure_years (a contract metric,
    ``insights.metrics.features.contract``) and data_volume, each standardised (z-score,
    population SD) across the accounts measured together, i.e. those of one observation date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.metrics.features.usage import complete_months
from insights.metrics.features.windows import Windows
from insights.stats.table_checks import require_columns

#: Components of the switching-cost composite.
SWITCHING_COMPONENTS = ("integrations", "admins", "tenure_years", "data_volume")
#: Columns of ``switching_metrics``.
SWITCHING_COLUMNS = ("integrations", "admins", "data_volume", "switching_cost")


def _zscore(x: pd.Series) -> pd.Series:
    sd = x.std(ddof=0)
    return (x - x.mean()) / sd if sd and np.isfinite(sd) else x * 0.0


def switching_metrics(
    integrations: pd.DataFrame,
    users: pd.DataFrame,
    usage_monthly: pd.DataFrame,
    terms: pd.DataFrame,
    t,
    windows: Windows = Windows(),
) -> pd.DataFrame:
    """Integrations, admins, data volume and the switching-cost composite on ``t``.

    Parameters
    ----------
    integrations : pandas.DataFrame
        account_id, connected_at, disconnected_at (nullable).
    users : pandas.DataFrame
        account_id, role, invited_at.
    usage_monthly : pandas.DataFrame
        account_id, month, events.
    terms : pandas.DataFrame
        The accounts' contract metrics (``insights.metrics.features.contract.contract_metrics``),
        indexed by account_id with a tenure_years column; its index gives the accounts, which are
        also the population the components are standardised over.
    t : date-like
        Observation date; nothing dated on or after it is read.
    windows : Windows
        Look-back windows; this family uses ``data_volume_months``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``terms``, columns ``SWITCHING_COLUMNS`` (see the module docstring). A component
        that is constant across the accounts contributes 0 to the composite.

    Raises
    ------
    ParameterError
        If a table lacks a column this function reads.
    """
    require_columns(integrations, ("account_id", "connected_at", "disconnected_at"), what="the integrations table")
    require_columns(users, ("account_id", "role", "invited_at"), what="the users table")
    require_columns(usage_monthly, ("account_id", "month", "events"), what="the usage_monthly table")
    require_columns(terms, ("tenure_years",), what="the contract metrics (output of contract_metrics)")
    t = pd.Timestamp(t).normalize()
    ids = terms.index
    out = pd.DataFrame(index=ids)
    gone = integrations["disconnected_at"]
    live = integrations[(integrations["connected_at"] < t) & (gone.isna() | (gone >= t))]
    out["integrations"] = live.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    admins = users[(users["invited_at"] < t) & (users["role"] == "admin")]
    out["admins"] = admins.groupby("account_id").size().reindex(ids).fillna(0).astype(float)
    volume = complete_months(usage_monthly, t, windows.data_volume_months)
    events = volume.groupby("account_id")["events"].sum().astype(float).reindex(ids).fillna(0.0)
    out["data_volume"] = np.log1p(events)  # log1p(0) = 0: accounts without usage stay at 0
    components = out.assign(tenure_years=terms["tenure_years"])
    parts = pd.concat([_zscore(components[c]) for c in SWITCHING_COMPONENTS], axis=1)
    out["switching_cost"] = parts.mean(axis=1)
    return out
