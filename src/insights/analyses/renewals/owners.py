"""Account owners: the ``csm`` column on the worklist, and one list per owner (a book of business each).

The owner is the optional ``csm`` column of ``accounts`` (``insights.data.contract``; mapped like any
other column with a source mapping). Without it, lists are left exactly as they are.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from insights.analyses.renewals.pipeline import write_csv
from insights.errors import ParameterError

OWNER = "csm"
#: Owner of accounts whose ``csm`` is empty, in the split lists.
UNASSIGNED = "unassigned"
#: Sub-folder of the output folder holding the per-owner lists.
FOLDER = "by_owner"


def with_owner(frame: pd.DataFrame, accounts: pd.DataFrame, key: str = "account_id") -> pd.DataFrame:
    """``frame`` with the account owner as a ``csm`` column right after ``key`` (when the data has owners).

    Parameters
    ----------
    frame : pandas.DataFrame
        A list of accounts (the worklist) with ``key``.
    accounts : pandas.DataFrame
        The accounts table (``account_id`` and, optionally, ``csm``).
    key : str
        The column of ``frame`` holding account ids.

    Returns
    -------
    pandas.DataFrame
        A copy with ``csm`` (missing for accounts without an owner); ``frame`` itself when ``accounts``
        has no ``csm`` column.

    Raises
    ------
    ParameterError
        If ``frame`` lacks ``key``.
    """
    if OWNER not in accounts.columns:
        return frame
    if key not in frame.columns:
        raise ParameterError(
            f"the list has no column {key!r} to look the owner up by; it has {', '.join(frame.columns)}."
        )
    owners = accounts.set_index("account_id")[OWNER]
    out = frame.drop(columns=[OWNER], errors="ignore")
    out.insert(list(out.columns).index(key) + 1, OWNER, out[key].map(owners))
    return out


def owner_file_name(owner: str) -> str:
    """A file-name-safe form of an owner's name (letters, digits, ``-``, ``_`` and ``.``).

    Parameters
    ----------
    owner : str
        The owner as in the data, e.g. ``"Maria García"``.

    Returns
    -------
    str
        E.g. ``"Maria_García"``; ``"owner"`` if nothing usable is left.
    """
    name = re.sub(r"[^\w.-]+", "_", str(owner).strip(), flags=re.UNICODE).strip("._")
    return name or "owner"


def split_by_owner(
    frame: pd.DataFrame, out_dir: str | os.PathLike, stem: str, force: bool = False, float_format: str = "%.12g"
) -> dict[str, Path]:
    """Write one CSV per owner, ``<out_dir>/by_owner/<stem>__<owner>.csv``, each that owner's rows in order.

    Accounts without an owner go to ``<stem>__unassigned.csv``. Written with
    ``insights.analyses.renewals.pipeline.write_csv``, as the full list is.

    Parameters
    ----------
    frame : pandas.DataFrame
        A list of accounts with a ``csm`` column (see ``with_owner``).
    out_dir : str or os.PathLike
        The folder of the full list.
    stem : str
        Name of the list, e.g. ``"worklist"``.
    force : bool
        Replace existing files.
    float_format : str
        Format of floats (default: up to 12 significant digits, so ARR is never shown in
        scientific notation; round the frame first, e.g. ``insights.analyses.renewals.worklist.rounded``).

    Returns
    -------
    dict of str to pathlib.Path
        Owner -> file written; empty when ``frame`` has no ``csm`` column.

    Raises
    ------
    ParameterError
        If two owners' names give the same file name, or a file exists and ``force`` is False.
    """
    if OWNER not in frame.columns:
        return {}
    owners = frame[OWNER].astype("string").fillna(UNASSIGNED).str.strip().replace("", UNASSIGNED)
    names = {owner: owner_file_name(owner) for owner in sorted(owners.unique())}
    clashes = pd.Series(names).groupby(lambda o: names[o].casefold()).size()
    if (clashes > 1).any():
        same = sorted(o for o in names if clashes[names[o].casefold()] > 1)
        raise ParameterError(f"owners {', '.join(map(repr, same))} give the same file name; rename one in the data.")
    folder = Path(out_dir) / FOLDER
    return {
        owner: write_csv(
            frame[owners.to_numpy() == owner],
            folder / f"{stem}__{names[owner]}.csv",
            force=force,
            float_format=float_format,
        )
        for owner in names
    }
