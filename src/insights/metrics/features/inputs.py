"""The check every metric family runs on the tables it is given."""

from __future__ import annotations

import pandas as pd

from insights.errors import ParameterError


def require_columns(frame: pd.DataFrame, columns, table: str) -> None:
    """Raise a clear error unless ``frame`` has every one of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table handed to a metric function.
    columns : iterable of str
        Columns the function reads.
    table : str
        The contract name of the table (e.g. ``"surveys"``), used in the message.

    Raises
    ------
    ParameterError
        Naming the missing columns and the table they belong to.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"the {table} table lacks column(s) {missing}; pass the {table} table of "
                             "insights.data.loading.load_tables (or rename your columns to the data contract).")
