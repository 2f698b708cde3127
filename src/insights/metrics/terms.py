"""The current term: which contract term of an account is in force on a date.

Every analysis that reads an account's ARR, seats or renewal date "as of" a date reads it from
the term this module picks: a term is in force from its ``start_date`` to its ``end_date``
(both inclusive); when several terms of an account are in force (a renewal signed before the
old term ended, an overlapping add-on), the one that started last counts, and among terms
starting on the same day the larger ``contract_id``. The usage engines' SQL
(``insights.metrics.usage.definitions``) applies the same rule to calendar months.
"""

from __future__ import annotations

import pandas as pd

from insights.errors import ParameterError

#: Columns ``current_terms`` reads.
TERM_COLUMNS = ("contract_id", "account_id", "start_date", "end_date")


def current_terms(contracts: pd.DataFrame, on, until=None) -> pd.DataFrame:
    """The contract term of each account in force on ``on`` (or at any day from ``on`` to ``until``).

    Parameters
    ----------
    contracts : pandas.DataFrame
        Contract terms with at least contract_id, account_id, start_date and end_date
        (datetime64, dates without a time of day).
    on : date-like
        The date (first day of the period when ``until`` is given).
    until : date-like, optional
        Last day of the period (inclusive). A term counts when it is in force on at least one
        day of ``on .. until``; the default is the single day ``on``.

    Returns
    -------
    pandas.DataFrame
        One row per account with a term in force: the rows of ``contracts`` (all their columns,
        original index), the term that started last winning (ties: the larger contract_id),
        sorted by account_id.

    Raises
    ------
    ParameterError
        If a column is missing or ``until`` is before ``on``.
    """
    missing = [c for c in TERM_COLUMNS if c not in contracts.columns]
    if missing:
        raise ParameterError(
            f"current_terms needs the contract columns {missing}; pass the contracts table "
            "(insights.data.loading.load_tables)."
        )
    first = pd.Timestamp(on)
    last = first if until is None else pd.Timestamp(until)
    if last < first:
        raise ParameterError(f"the period ends ({last:%Y-%m-%d}) before it starts ({first:%Y-%m-%d}).")
    running = contracts[(contracts["start_date"] <= last) & (contracts["end_date"] >= first)]
    running = running.sort_values(["account_id", "start_date", "contract_id"], kind="stable")
    return running.groupby("account_id", sort=False).tail(1)
