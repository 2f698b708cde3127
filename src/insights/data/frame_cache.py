"""A cache of derived tables (a report's snapshots), keyed by everything they are computed from.

Three notebooks of the report (health, risk, drivers) start from the same account snapshots;
at 200,000 accounts building them takes half a minute per notebook. The first notebook to
build them stores them here as Parquet, the others load them in a second.

An entry is ``<processed>/derived/<name>-<key>.parquet`` (``insights.data.paths.processed_dir()``).
The caller gives the parts the table depends on (the typed-table cache key of the raw data, the
dates, the settings, the bytes of config files) and the source files of the code that computes
it; the key is the SHA-256 of both, so a changed input, setting, config file or line of that
code gives another key, never a stale table. Entries are written atomically (a reader never
sees half a file; two writers of one key write the same table) and only the latest ``KEEP``
entries of a name are kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from insights.data import paths
from insights.data.output_files import stale_temporary, write_atomic

FOLDER = "derived"
KEEP = 3  # entries kept per name; older ones are removed when a new one is stored


def cache_key(parts: dict, code: Iterable[Path]) -> str:
    """The key of a derived table: SHA-256 of its inputs and of the code that computes it.

    Parameters
    ----------
    parts : dict
        Everything the table depends on besides code, as JSON-serialisable values (dates as text).
    code : iterable of pathlib.Path
        Source files of the code that computes it (read as bytes, in the given order).

    Returns
    -------
    str
        Hex SHA-256.

    Raises
    ------
    TypeError
        If ``parts`` is not JSON-serialisable.
    """
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
    for path in code:
        digest.update(str(path.name).encode() + Path(path).read_bytes())
    return digest.hexdigest()


def _path(name: str, key: str) -> Path:
    return paths.processed_dir() / FOLDER / f"{name}-{key}.parquet"


def read(name: str, key: str) -> pd.DataFrame | None:
    """The stored table ``name`` under ``key``, or None when there is none (or it cannot be read).

    Parameters
    ----------
    name : str
        What the table is, e.g. ``"snapshots"``.
    key : str
        From ``cache_key``.

    Returns
    -------
    pandas.DataFrame or None
    """
    path = _path(name, key)
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError):
        return None


def store(name: str, key: str, frame: pd.DataFrame) -> Path:
    """Store ``frame`` as table ``name`` under ``key`` (atomically) and prune older entries of ``name``.

    Parameters
    ----------
    name : str
        What the table is, e.g. ``"snapshots"``.
    key : str
        From ``cache_key``.
    frame : pandas.DataFrame
        The table; it must read back equal from Parquet (the caller checks what it relies on).

    Returns
    -------
    pathlib.Path
        The entry written.
    """
    path = _path(name, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, frame.to_parquet())  # bytes: the whole table is in memory anyway
    entries = sorted(path.parent.glob(f"{name}-*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in entries if p != path][KEEP - 1 :]:
        old.unlink(missing_ok=True)
    for item in path.parent.iterdir():  # files half-written by processes that were killed
        if stale_temporary(item):
            item.unlink(missing_ok=True)
    return path
