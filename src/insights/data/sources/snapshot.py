"""Writes a mapped source as a folder of contract tables under ``data/processed/sources/<hash>/``.

Each table is streamed chunk by chunk from its source, mapped (``transform``) and appended to a
Parquet file of text columns, so a large warehouse table is never held in memory whole (nor twice).
The folder is named by the SHA-256 of what was written: another mapping or other source rows give
another folder, hence other keys in the typed-table cache and another report fingerprint. Nothing is
ever written beside the user's files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd

from insights.data import paths
from insights.data.output_files import stale_temporary, temporary_name
from insights.data.raw_files import PILOTS_FOLDER
from insights.data.sources import readers, warehouse
from insights.data.sources.spec import MappingProblem, SourceMapping, TableMapping, problem
from insights.data.sources.transform import ChunkMapper
from insights.errors import InsightsError, MappingError

FOLDER = "sources"
KEEP = 3  # snapshots kept; older ones are removed when a new one is written


def snapshots_root() -> Path:
    """Folder of every mapped snapshot.

    Returns
    -------
    pathlib.Path
        ``<processed>/sources`` (it need not exist).
    """
    return paths.processed_dir() / FOLDER


def _text_schema(frame: pd.DataFrame):
    import pyarrow as pa

    return pa.schema([(c, pa.string()) for c in frame.columns])


def _write_table(mapping: TableMapping, source: SourceMapping, eng, out: Path, problems: list[MappingProblem]) -> None:
    """Stream one table from its source into ``out/<table>.parquet`` (pilots: one file per pilot)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    mapper = ChunkMapper(mapping)
    writer = None
    pilots: list[pd.DataFrame] = []
    seen = False
    try:
        for chunk in readers.chunks(mapping, source.chunk_rows, eng):
            if not seen:
                seen = True
                problems += mapper.check_header(list(chunk.columns))  # then map what exists, to find more
            mapped = mapper.apply(chunk)
            if mapping.table == "pilot_assignments":
                pilots.append(mapped)
                continue
            if writer is None:
                writer = pq.ParquetWriter(out / f"{mapping.table}.parquet", _text_schema(mapped))
            writer.write_table(pa.Table.from_pandas(mapped, schema=writer.schema, preserve_index=False))
    except InsightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreadable file or a failing query is the user's source
        problems.append(
            problem(
                mapping.table,
                "—",
                "cannot read the source",
                "fix the file or query",
                (warehouse.scrub(warehouse.reason(exc), source.url),),
            )
        )
        return
    finally:
        if writer is not None:
            writer.close()
    if not seen:
        problems.append(problem(mapping.table, "—", "no file to read", "put CSV or Parquet files into the folder"))
        return
    problems += mapper.problems()
    if pilots:
        _write_pilots(pd.concat(pilots, ignore_index=True), out, mapping.table, problems)


def _write_pilots(frame: pd.DataFrame, out: Path, table: str, problems: list[MappingProblem]) -> None:
    """One Parquet file per pilot under ``pilots/``, as ``insights pilot assign`` keeps them."""
    if frame.empty:
        return
    if "pilot_id" not in frame.columns:
        problems.append(
            problem(table, "pilot_id", "no pilot_id column", "map `columns: pilot_id:` to your pilot column")
        )
        return
    folder = out / PILOTS_FOLDER
    folder.mkdir(exist_ok=True)
    for pilot_id, rows in frame.groupby("pilot_id", sort=True):
        name = str(pilot_id)
        if not name or name.startswith(".") or "/" in name or "\\" in name:
            problems.append(problem(table, "pilot_id", "not usable as a file name", "rename the pilot", (repr(name),)))
            continue
        rows.reset_index(drop=True).to_parquet(folder / f"{name}.parquet", index=False)


def _tables(source: SourceMapping, eng) -> list[TableMapping]:
    """The tables to write: the mapped ones, plus same-named database tables when there is a database."""
    from insights.data.sources.spec import MAPPABLE

    listed = list(source.tables.values())
    if eng is None:
        return listed
    extra = [
        TableMapping(table=name, query=warehouse.table_query(name))
        for name in MAPPABLE
        if name not in source.tables and warehouse.has_table(eng, name)
    ]
    return listed + extra


def copy_recorded_pilots(out: Path, records: bool = True) -> list[Path]:
    """Copy what ``insights pilot assign`` recorded (``<raw>/pilots/``) into a snapshot folder.

    A pilot assignment is a decision the tool records in the raw folder (its only write there): the
    record and its plan (``<id>.json``: control, seed, the record's SHA-256), which the readout
    checks the record against. A mapping that does not map ``pilot_assignments`` itself gets the
    records and plans; one that maps it (a table in the warehouse) gets the plans.

    Parameters
    ----------
    out : pathlib.Path
        The snapshot folder being written.
    records : bool
        Also copy the assignment records (False when the mapping maps ``pilot_assignments``).

    Returns
    -------
    list of pathlib.Path
        The copies made (none when no pilot is recorded).
    """
    from insights.data.raw_files import table_files

    folder = paths.raw_dir() / PILOTS_FOLDER
    files = table_files(paths.raw_dir(), "pilot_assignments") if records else []
    plans = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if files or plans:
        (out / PILOTS_FOLDER).mkdir(exist_ok=True)
    return [Path(shutil.copyfile(f, out / PILOTS_FOLDER / f.name)) for f in [*files, *plans]]


def _readable(mapping: TableMapping, eng) -> bool:
    """Whether the table's source exists (parse() reported it otherwise)."""
    given = [mapping.file, mapping.folder, mapping.query]
    if sum(x is not None for x in given) != 1:
        return False
    if mapping.query is not None:
        return eng is not None
    return (mapping.file is not None and mapping.file.is_file()) or (
        mapping.folder is not None and mapping.folder.is_dir()
    )


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f.relative_to(folder).as_posix().encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def materialise(source: SourceMapping, known: list[MappingProblem] | None = None) -> Path:
    """Read, map and write every table of ``source``; return the folder of contract tables.

    Parameters
    ----------
    source : SourceMapping
        A parsed mapping (``insights.data.sources.spec.parse_file``).
    known : list of MappingProblem, optional
        Problems already found in the mapping's content; they are reported together with those
        found while reading (every table whose source exists is read), so one report lists every problem.

    Returns
    -------
    pathlib.Path
        ``<processed>/sources/<sha256 of the written files>/`` holding ``<table>.parquet`` (text
        columns) and ``pilots/<pilot_id>.parquet``; an identical earlier snapshot is reused.

    Raises
    ------
    MappingError
        With every problem found in any table (source columns not found, values left unmapped,
        dates not in the format, unreadable sources); nothing is kept then.
    ParameterError
        If the database URL is unusable.
    """
    root = snapshots_root()
    root.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(root / "snapshot")  # created with the usual permissions, unlike mkdtemp's 0700
    tmp.mkdir()
    problems: list[MappingProblem] = list(known or [])
    eng = warehouse.engine(source.url) if source.url else None
    try:
        try:
            tables = _tables(source, eng)
        except Exception as exc:  # noqa: BLE001 - the database cannot be reached with these credentials
            raise MappingError(
                [
                    problem(
                        "—",
                        "source",
                        "cannot connect to the database",
                        "check the URL, PGPASSWORD or ~/.pgpass, and that the server runs",
                        (warehouse.scrub(warehouse.reason(exc), source.url),),
                    )
                ],
                source.where,
            ) from None
        for mapping in (m for m in tables if _readable(m, eng)):
            _write_table(mapping, source, eng, tmp, problems)
        copy_recorded_pilots(tmp, records="pilot_assignments" not in {m.table for m in tables})
        if problems:
            raise MappingError(problems, source.where)
        final = root / _digest(tmp)
        if final.is_dir():
            os.utime(final)  # most recently used: kept by the pruning below
        else:
            try:
                os.replace(tmp, final)
            except OSError:  # written meanwhile by another process
                if not final.is_dir():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if eng is not None:
            eng.dispose()
    _prune(root, keep=final)
    return final


def _prune(root: Path, keep: Path) -> None:
    for item in root.iterdir():  # snapshots half-written by processes that were killed
        if stale_temporary(item):
            shutil.rmtree(item, ignore_errors=True)
    entries = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in entries[KEEP - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
