"""Pre-period metrics of pilot accounts, for balance checks and regression adjustment.

They are the snapshot metrics (``insights.metrics.snapshots``) as they stood just before the
assignment date: nothing on or after it is used.
"""

from __future__ import annotations

import pandas as pd

from insights.data.loading import Tables
from insights.data.settings import load_settings
from insights.metrics import snapshots

#: Snapshot metrics used as pre-period covariates.
COVARIATES = ("arr", "seats", "utilisation", "depth", "breadth", "satisfaction", "perceived_value", "support_burden")


def pre_period(tables: Tables, as_of, account_ids=None) -> pd.DataFrame:
    """Pre-period covariates of accounts just before ``as_of``.

    Parameters
    ----------
    tables : Tables
    as_of : date-like
        The assignment date; nothing on or after it is used.
    account_ids : list-like, optional
        Accounts to return (default: every account under contract the day before).

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id with columns ``COVARIATES`` (see ``insights.metrics.snapshots`` for
        their definitions); accounts not under contract get missing values.
    """
    feats = snapshots.features_at(tables, as_of, load_settings().features_available)
    ids = feats.index if account_ids is None else pd.Index(account_ids, name="account_id")
    return feats.reindex(ids)[list(COVARIATES)]
