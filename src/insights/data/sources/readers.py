"""Reads a mapped table's source (file, folder or SQL query) a chunk at a time, never whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from insights.data.raw_files import SUFFIXES

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from insights.data.sources.spec import TableMapping


def source_files(mapping: TableMapping) -> list[Path]:
    """The files a file or folder mapping reads, in order (hidden files skipped).

    Parameters
    ----------
    mapping : TableMapping
        A table mapped from ``file`` or ``folder``.

    Returns
    -------
    list of pathlib.Path
        The file, or the folder's CSV and Parquet files sorted by path; empty for a query.
    """
    if mapping.file is not None:
        return [mapping.file]
    if mapping.folder is not None:
        return sorted(
            p
            for p in mapping.folder.rglob("*")
            if p.is_file()
            and p.suffix in SUFFIXES
            and not any(s.startswith(".") for s in p.relative_to(mapping.folder).parts)
        )
    return []


def file_chunks(path: Path, chunk_rows: int, sep: str = ",", encoding: str = "utf-8") -> Iterator[pd.DataFrame]:
    """Rows of one CSV or Parquet file, ``chunk_rows`` at a time; the first chunk (maybe empty) has the columns.

    CSV cells are read as text (empty cells missing), as the contract loader reads them.

    Parameters
    ----------
    path : pathlib.Path
        A ``.csv`` or ``.parquet`` file (any other suffix is read as CSV).
    chunk_rows : int
        Rows per chunk.
    sep, encoding : str
        CSV separator and encoding.

    Yields
    ------
    pandas.DataFrame
    """
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        reader = pq.ParquetFile(path)
        yielded = False
        for batch in reader.iter_batches(batch_size=chunk_rows):
            yielded = True
            yield batch.to_pandas()
        if not yielded:
            yield reader.schema_arrow.empty_table().to_pandas()
        return
    yielded = False
    with pd.read_csv(
        path, chunksize=chunk_rows, dtype=str, keep_default_na=False, na_values=[""], sep=sep, encoding=encoding
    ) as reader:
        for chunk in reader:
            yielded = True
            yield chunk
    if not yielded:  # a header-only file
        yield pd.read_csv(path, nrows=0, dtype=str, sep=sep, encoding=encoding)


def chunks(mapping: TableMapping, chunk_rows: int, eng: Engine | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a mapped table's source, a chunk at a time.

    Parameters
    ----------
    mapping : TableMapping
        Where the table comes from.
    chunk_rows : int
        Rows per chunk.
    eng : sqlalchemy.engine.Engine, optional
        The database, for a ``query``.

    Yields
    ------
    pandas.DataFrame
        Chunks of the source as read (before any renaming).

    Raises
    ------
    RuntimeError
        For a query without an engine (a programming error: the mapping check reports it first).
    """
    if mapping.query is not None:
        from insights.data.sources.warehouse import query_chunks

        if eng is None:  # parse() reports a query without a database before reading starts
            raise RuntimeError("a query needs a database engine")
        yield from query_chunks(eng, mapping.query, chunk_rows)
        return
    for path in source_files(mapping):
        yield from file_chunks(path, chunk_rows, mapping.sep, mapping.encoding)
