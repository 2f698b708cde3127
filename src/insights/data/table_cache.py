"""A cache of validated, typed raw tables, keyed by the content hash of the raw files.

Validating the raw tables (read every CSV as text, type each column, check the whole
contract) takes about a second for the 2,000-account demo and twenty at 50,000
accounts. The report runner validates once, then stores the typed tables here as
Parquet; every notebook of the report loads them back in a fraction of that time.

An entry lives in ``<processed>/tables/<key>/`` (``insights.data.paths.processed_dir()``,
never under the raw folder). Its key is the SHA-256 of

* the SHA-256 of every non-hidden file under the raw folder, linked folders included (so any
  changed, added or removed byte gives another key; the loader skips hidden files too),
* the source of the modules that read, type and check the tables (``contract``,
  ``validation``, ``loading``, ``raw_files`` and this one) and the pandas, pyarrow, numpy and pandera versions.

An entry is written only for tables that met the whole contract, so a hit also means
"no violations" for exactly these bytes under exactly this code. The one rule that depends on
the day (no recorded date after today) only accepts more as days pass, so an entry stays
valid; a validation with an explicit as-of date does not use the cache. It is written into a
temporary folder and renamed into place, so a reader never sees half an entry; only
the most recent ``KEEP`` entries are kept. Only the default load (``usage_events`` not
loaded) is cached.

Hashing 300 MB of raw files takes about a second, so the runner also records, in
``<processed>/tables/folders/<hash of the folder path>.json``, the hashes it computed
with each file's size and modification time; a notebook's look-up reuses them while
all of those are unchanged (``known_hashes``) and hashes the files otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from insights.data import paths
from insights.data.output_files import stale_temporary, temporary_name, write_atomic

FOLDER = "tables"
META = "meta.json"
KEEP = 3  # entries kept; older ones are removed when a new one is stored
_CODE = ("contract.py", "validation.py", "loading.py", "raw_files.py", "table_cache.py")


def _files(data_dir: Path) -> list[Path]:
    """Every non-hidden file below ``data_dir``, following links to folders (as the loader does)."""
    out: list[Path] = []
    for root, dirs, files in os.walk(data_dir, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out += [Path(root) / f for f in files if not f.startswith(".") and (Path(root) / f).is_file()]
    return sorted(out)


def input_hashes(data_dir: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of every file under ``data_dir`` by relative path (sorted; hidden files skipped).

    Parameters
    ----------
    data_dir : path
        The raw data folder.

    Returns
    -------
    dict
        ``"contracts.csv" -> "9f2c..."``; empty if the folder does not exist.
    """
    data_dir = Path(data_dir)
    out: dict[str, str] = {}
    if not data_dir.is_dir():
        return out
    for f in _files(data_dir):
        digest = hashlib.sha256()
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        out[f.relative_to(data_dir).as_posix()] = digest.hexdigest()
    return out


def file_stats(data_dir: str | os.PathLike) -> dict[str, list[int]]:
    """Size and modification time (ns) of the files ``input_hashes`` reads, by relative path.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The raw data folder.

    Returns
    -------
    dict of str to list of int
        ``relative path -> [size in bytes, mtime in ns]``; empty if the folder does not exist.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return {}
    return {
        f.relative_to(data_dir).as_posix(): [st.st_size, st.st_mtime_ns] for f in _files(data_dir) for st in [f.stat()]
    }


def hashes_and_stats(data_dir: str | os.PathLike) -> tuple[dict[str, str], dict[str, list[int]] | None]:
    """``input_hashes`` and the ``file_stats`` they belong to.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The raw data folder.

    Returns
    -------
    hashes : dict of str to str
        As ``input_hashes``.
    stats : dict of str to list of int or None
        ``file_stats`` taken before hashing, or None if a file changed, appeared or vanished meanwhile.
    """
    before = file_stats(data_dir)
    hashes = input_hashes(data_dir)
    return hashes, (before if file_stats(data_dir) == before and set(before) == set(hashes) else None)


def _pointer(data_dir: Path) -> Path:
    return cache_root() / "folders" / f"{hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()}.json"


def known_hashes(data_dir: str | os.PathLike) -> dict[str, str]:
    """``input_hashes`` of ``data_dir``, without reading the files when the runner just hashed them.

    The runner records, per raw folder, the hashes together with every file's size and
    modification time; while those are all unchanged the recorded hashes are returned
    (a file rewritten in place with the same size and the same nanosecond timestamp
    would go unnoticed). Otherwise the files are hashed.

    Parameters
    ----------
    data_dir : str or os.PathLike
        The raw data folder.

    Returns
    -------
    dict of str to str
        As ``input_hashes``.
    """
    try:
        memo = json.loads(_pointer(Path(data_dir)).read_text())
        if memo["stats"] == file_stats(data_dir):
            return memo["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return input_hashes(data_dir)


def cache_key(hashes: dict[str, str]) -> str:
    """The entry name for raw files with these content hashes (see the module docstring).

    Parameters
    ----------
    hashes : dict of str to str
        ``input_hashes`` of the raw folder.

    Returns
    -------
    str
        Hex SHA-256 of the hashes, the checking libraries' versions and the loading code.
    """
    from importlib.metadata import version  # the checking libraries' versions, without importing them

    libraries = {name: version(name) for name in ("pandas", "pyarrow", "numpy", "pandera")}
    digest = hashlib.sha256(json.dumps({"inputs": hashes, **libraries}, sort_keys=True).encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        digest.update(name.encode() + (here / name).read_bytes())
    return digest.hexdigest()


def cache_root() -> Path:
    """Folder of all entries.

    Returns
    -------
    pathlib.Path
        ``<processed>/tables`` (it need not exist).
    """
    return paths.processed_dir() / FOLDER


def entry(hashes: dict[str, str]) -> Path | None:
    """The complete entry for these inputs.

    Parameters
    ----------
    hashes : dict of str to str
        ``input_hashes`` of the raw folder.

    Returns
    -------
    pathlib.Path or None
        The entry folder if it holds its metadata file; None for empty inputs or no such entry.
    """
    if not hashes:
        return None
    folder = cache_root() / cache_key(hashes)
    return folder if (folder / META).is_file() else None


def read(
    data_dir: str | os.PathLike, hashes: dict[str, str] | None = None
) -> tuple[dict[str, pd.DataFrame], pd.Timestamp, set[str]] | None:
    """The cached typed tables of ``data_dir``, or None when they are not cached.

    Parameters
    ----------
    data_dir : path
        The raw data folder (only hashed, never written).
    hashes : dict, optional
        Its ``input_hashes``, if already computed.

    Returns
    -------
    (frames, as_of, skipped) or None
        As in ``insights.data.loading.Tables``. An unreadable entry counts as a miss.
    """
    folder = entry(known_hashes(data_dir) if hashes is None else hashes)
    if folder is None:
        return None
    try:
        meta = json.loads((folder / META).read_text())
        frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in meta["tables"]}
    except (OSError, ValueError, KeyError):
        return None
    return frames, pd.Timestamp(meta["as_of"]), set(meta["skipped"])


def store(
    frames: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    skipped: set[str],
    hashes: dict[str, str],
    data_dir: str | os.PathLike | None = None,
    stats: dict[str, list[int]] | None = None,
) -> Path:
    """Write validated typed tables as a cache entry (atomic; an existing entry is left as it is).

    Parameters
    ----------
    frames, as_of, skipped
        From a ``Tables`` that met the whole contract (``include_events=False``).
    hashes : dict
        ``input_hashes`` of the raw folder they were read from.
    data_dir : path, optional
        That folder; with ``stats`` (from ``hashes_and_stats``) its hashes are recorded
        for ``known_hashes``.
    stats : dict, optional
        ``file_stats`` of the folder taken when ``hashes`` were computed.

    Returns
    -------
    pathlib.Path
        The entry's folder.
    """
    root = cache_root()
    final = root / cache_key(hashes)
    if data_dir is not None and stats is not None:
        _remember(Path(data_dir), hashes, stats)
    if (final / META).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    tmp.mkdir()  # the usual permissions, so that others sharing the processed folder can read the entry
    try:
        for name, frame in frames.items():
            frame.to_parquet(tmp / f"{name}.parquet")
        (tmp / META).write_text(
            json.dumps(
                {"tables": list(frames), "as_of": as_of.isoformat(), "skipped": sorted(skipped), "inputs": hashes},
                indent=1,
            )
        )
        try:
            os.replace(tmp, final)
        except OSError:  # another process stored the same entry first
            if not (final / META).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(root, keep=final)
    return final


def _remember(data_dir: Path, hashes: dict[str, str], stats: dict[str, list[int]]) -> None:
    pointer = _pointer(data_dir)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(pointer, json.dumps({"data_dir": str(data_dir), "inputs": hashes, "stats": stats}))


def _prune(root: Path, keep: Path) -> None:
    entries = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep and (p / META).is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in entries[KEEP - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    for item in root.iterdir():  # entries half-written by processes that were killed
        if stale_temporary(item):
            shutil.rmtree(item, ignore_errors=True)
