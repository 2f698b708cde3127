"""Contract metrics of an account on an observation date ``t``: the term in force, tenure, growth.

contract_id, renewal_date
    The term in force on the day before ``t`` (``insights.metrics.terms.current_terms``) and its
    end date, the account's next renewal.
arr, seats
    Of that term.
tenure_years
    Years from the account's creation to ``t``.
revenue_growth
    ARR now over the ARR of the term in force on the day before ``t`` minus
    ``Windows.revenue_growth_months``, minus 1 (NaN without a term then).
days_to_renewal
    Days from ``t`` to renewal_date.
"""

from __future__ import annotations

import pandas as pd

from insights.metrics.features.windows import Windows
from insights.metrics.terms import TERM_COLUMNS, current_terms
from insights.stats.table_checks import require_columns

#: Columns of ``contract_metrics``, in order.
CONTRACT_COLUMNS = ("contract_id", "renewal_date", "arr", "seats", "tenure_years", "revenue_growth", "days_to_renewal")


def contract_metrics(
    contracts: pd.DataFrame, account_table: pd.DataFrame, t, accounts=None, windows: Windows = Windows()
) -> pd.DataFrame:
    """Contract metrics of the accounts under contract on the day before ``t``.

    Parameters
    ----------
    contracts : pandas.DataFrame
        Contract terms: contract_id, account_id, start_date, end_date, arr, seats.
    account_table : pandas.DataFrame
        Accounts: account_id, created_at.
    t : date-like
        Observation date; only terms in force before it are read.
    accounts : list-like, optional
        Restrict to these accounts (those not under contract the day before ``t`` are dropped).
    windows : Windows
        Look-back windows; this family uses ``revenue_growth_months``.

    Returns
    -------
    pandas.DataFrame
        Indexed by account_id (the accounts under contract, sorted), columns ``CONTRACT_COLUMNS``
        (see the module docstring). This index is the set of accounts of a snapshot.

    Raises
    ------
    ParameterError
        If a table lacks a column this function reads.
    """
    require_columns(contracts, (*TERM_COLUMNS, "arr", "seats"), what="the contracts table")
    require_columns(account_table, ("account_id", "created_at"), what="the accounts table")
    t = pd.Timestamp(t).normalize()
    day = pd.Timedelta(days=1)
    running = current_terms(contracts, t - day).set_index("account_id")
    if accounts is not None:
        running = running.reindex(pd.Index(accounts, name="account_id")).dropna(subset=["contract_id"])
    ids = running.index
    out = pd.DataFrame(index=ids)
    out["contract_id"] = running["contract_id"]
    out["renewal_date"] = running["end_date"]
    out["arr"] = running["arr"].astype(float)
    out["seats"] = running["seats"].astype(float)
    created = account_table.set_index("account_id")["created_at"].reindex(ids)
    out["tenure_years"] = (t - created).dt.days / 365.25
    earlier = t - pd.DateOffset(months=windows.revenue_growth_months)
    prior = current_terms(contracts, earlier - day).set_index("account_id")
    out["revenue_growth"] = out["arr"] / prior["arr"].reindex(ids).astype(float) - 1
    out["days_to_renewal"] = (out["renewal_date"] - t).dt.days.astype(float)
    return out
