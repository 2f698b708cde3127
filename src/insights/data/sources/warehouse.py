"""SQL sources through SQLAlchemy: URLs without secrets in sight, and queries read in chunks.

Credentials come from the environment (``PGPASSWORD``, ``PGUSER``, ...) or ``~/.pgpass``, which
libpq reads itself; a URL is shown only with its password masked, and error messages are
scrubbed of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd

from insights.errors import ParameterError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

#: SQLAlchemy drivers used for a bare dialect name (psycopg 3 is the one installed).
DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def _url(url: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise ParameterError(
            "the database source is not a SQLAlchemy URL (like postgresql://user@host:5432/dbname)."
        ) from None


def is_url(text: str) -> bool:
    """Whether ``text`` looks like a database URL (``dialect://...``) rather than a path.

    Parameters
    ----------
    text : str
        A data source as given.

    Returns
    -------
    bool
    """
    head, sep, _ = str(text).partition("://")
    return bool(sep) and head.replace("+", "").isalnum() and head.lower() != "file"


def has_password(url: str) -> bool:
    """Whether a URL carries a password.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL.

    Returns
    -------
    bool
    """
    return _url(url).password is not None


def masked(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages and the manifest.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL.

    Returns
    -------
    str
    """
    return _url(url).render_as_string(hide_password=True)


def scrub(text: str, url: str | None) -> str:
    """``text`` with the URL's password (if any) replaced by ``***``.

    Parameters
    ----------
    text : str
        A message, e.g. a driver's error.
    url : str or None
        The URL whose password must not appear.

    Returns
    -------
    str
    """
    if not url:
        return text
    password = _url(url).password
    return text.replace(str(password), "***") if password else text


def reason(exc: BaseException) -> str:
    """The useful part of a driver's error: the server's message (after ``FATAL:``) or the last line.

    Parameters
    ----------
    exc : BaseException
        An error raised while connecting or querying.

    Returns
    -------
    str
        At most 200 characters (not yet scrubbed of a password: see ``scrub``).
    """
    text = str(getattr(exc, "orig", None) or exc).strip()
    if "FATAL:" in text:
        text = text.rsplit("FATAL:", 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` (``postgresql://`` uses psycopg 3).

    Parameters
    ----------
    url : str
        A SQLAlchemy URL; user, host and password may come from the environment or ``~/.pgpass``.

    Returns
    -------
    sqlalchemy.engine.Engine

    Raises
    ------
    ParameterError
        If the URL does not parse or its driver is not installed.
    """
    from sqlalchemy import create_engine

    parsed = _url(url)
    parsed = parsed.set(drivername=DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))
    try:
        return create_engine(parsed, hide_parameters=True)
    except Exception as exc:  # noqa: BLE001 - a missing driver or a bad option is the user's URL
        raise ParameterError(f"cannot use {masked(url)}: {scrub(str(exc), url)}") from None


def has_table(eng: Engine, name: str) -> bool:
    """Whether the database holds a table or view called ``name`` (default schema).

    Parameters
    ----------
    eng : sqlalchemy.engine.Engine
        The database.
    name : str
        A table name.

    Returns
    -------
    bool
    """
    from sqlalchemy import inspect

    inspector = inspect(eng)
    return inspector.has_table(name) or name in inspector.get_view_names()


def table_query(name: str) -> str:
    """The query that reads a whole table called like a contract table.

    Parameters
    ----------
    name : str
        A contract table name (letters and underscores only).

    Returns
    -------
    str
        ``SELECT * FROM "<name>"``.
    """
    return f'SELECT * FROM "{name}"'


def query_chunks(eng: Engine, query: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Run ``query`` and yield its rows ``chunk_rows`` at a time (server-side cursor).

    Only one chunk is in memory at a time; the first chunk (possibly empty) carries the columns.

    Parameters
    ----------
    eng : sqlalchemy.engine.Engine
        The database.
    query : str
        A SQL query.
    chunk_rows : int
        Rows per chunk.

    Yields
    ------
    pandas.DataFrame
        The next rows, as the driver returns them (dates as dates, numbers as numbers).
    """
    from sqlalchemy import text

    with eng.connect() as conn:
        streaming = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows)
        # pandas builds each chunk from the driver's rows in C (3x faster than from SQLAlchemy Row objects);
        # a query without rows still gives one empty chunk with its columns
        yield from pd.read_sql_query(text(query), streaming, chunksize=chunk_rows)
