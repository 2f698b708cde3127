"""The source mapping file: its keys, read and checked into ``SourceMapping`` (every problem at once).

The layout (documented in ``docs/sources.md``)::

    source: $WAREHOUSE_URL          # optional: a SQLAlchemy URL, or $VAR to read it from the environment
    chunk_rows: 100000              # optional: rows read at a time
    tables:
      contracts:                    # a contract table
        file: crm/subscriptions.csv # or folder: ..., or query: SELECT ...
        columns: {contract_id: Subscription ID, account_id: Account ID}   # contract column: your column
        values: {plan: {Gold: enterprise}}                                # contract column: {yours: contract}
        constants: {seats: 10}                                            # contract column: one value
        filter: {Stage: [Closed Won]}                                     # your column: values of rows kept
        date_format: "%m/%d/%Y"     # strptime format of every date column (default ISO 8601)
        timezone: America/New_York  # zone of timestamps without offset (converted to UTC)
        arr: {currency: EUR, multiplier: 1.08}                            # contracts only
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from insights.data import contract
from insights.data.config_files import read_mapping
from insights.data.validation import Violation
from insights.errors import ConfigError, MappingError

TOP_KEYS = ("source", "chunk_rows", "tables")
TABLE_KEYS = (
    "file",
    "folder",
    "query",
    "columns",
    "values",
    "constants",
    "filter",
    "date_format",
    "timezone",
    "arr",
    "sep",
    "encoding",
)
ARR_KEYS = ("currency", "multiplier")
DEFAULT_CHUNK_ROWS = 100_000
#: Tables a mapping can fill (raw events are summarised by ``insights usage-monthly`` from files).
MAPPABLE = tuple(name for name in contract.TABLES if name != "usage_events")


@dataclass(frozen=True)
class MappingProblem(Violation):
    """A mistake in a source mapping, reported like a contract violation, with its fix.

    Attributes
    ----------
    fix : str
        What to change in the mapping file.
    """

    fix: str = ""


@dataclass(frozen=True)
class TableMapping:
    """How one contract table is made from a source.

    Attributes
    ----------
    table : str
        The contract table.
    file, folder : pathlib.Path or None
        A CSV/Parquet file, or a folder of them (absolute).
    query : str or None
        A SQL query run on the mapping's ``source``.
    columns : dict of str to str
        Contract column -> source column (contract columns not listed keep their own name).
    value_maps : dict of str to dict
        Contract column (the file's ``values``) -> {source value: contract value or None}; every
        value present must be listed.
    constants : dict of str to str
        Contract column -> one value for every row.
    keep : dict of str to tuple of str
        Source column -> the values of the rows kept (``filter``).
    date_format : str or None
        ``strptime`` format of the date columns; None means ISO 8601.
    timezone : str or None
        Time zone of timestamps written without an offset; they are converted to UTC.
    arr_currency : str or None
        Currency of the source ARR (recorded; the multiplier converts it).
    arr_multiplier : float
        Source ARR times this is ARR in the contract's unit.
    sep, encoding : str
        CSV separator and text encoding.
    """

    table: str
    file: Path | None = None
    folder: Path | None = None
    query: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    value_maps: dict[str, dict[str, str | None]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    keep: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_format: str | None = None
    timezone: str | None = None
    arr_currency: str | None = None
    arr_multiplier: float = 1.0
    sep: str = ","
    encoding: str = "utf-8"

    @property
    def source_columns(self) -> dict[str, str]:
        """Every source column the mapping reads, with the key that names it (for messages)."""
        out = {src: f"columns.{col}" for col, src in self.columns.items()}
        out.update(dict.fromkeys(self.keep, "filter"))
        return out


@dataclass(frozen=True)
class SourceMapping:
    """A checked source mapping.

    Attributes
    ----------
    path : pathlib.Path or None
        The mapping file (None for a bare database URL).
    url : str or None
        SQLAlchemy URL of the database (may hold a password only when it came from the
        environment or the command line; never print it, use ``insights.data.sources.warehouse.masked``).
    tables : dict of str to TableMapping
        The tables the mapping lists.
    chunk_rows : int
        Rows read at a time.
    """

    path: Path | None
    url: str | None
    tables: dict[str, TableMapping]
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    @property
    def where(self) -> str:
        """The mapping file, or the database, for messages (no password)."""
        if self.path is not None:
            return str(self.path)
        from insights.data.sources.warehouse import masked

        return masked(self.url or "")


def problem(table: str, column: str, rule: str, fix: str, examples: tuple[str, ...] = (), count: int = 1):
    """A ``MappingProblem`` (argument order that reads well at the call sites).

    Parameters
    ----------
    table, column, rule : str
        Where and what (``"—"`` as column for table-level problems).
    fix : str
        What to change.
    examples : tuple of str
        Offending values (with counts where useful).
    count : int
        How many rows or occurrences.

    Returns
    -------
    MappingProblem
    """
    return MappingProblem(table, column, rule, count, examples, fix)


def closest(name: str, choices: list[str]) -> str:
    """A hint naming the closest choice to ``name`` (difflib), or listing the choices.

    Parameters
    ----------
    name : str
        What the user wrote.
    choices : list of str
        What exists.

    Returns
    -------
    str
        ``"did you mean 'X'?"`` or ``"choose from: a, b, ..."``.
    """
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if match:
        return f"did you mean {match[0]!r}?"
    return "choose from: " + ", ".join(choices)


def _text(value: Any) -> str:
    """A YAML scalar as the text the source holds (YAML reads ``Yes`` as True and ``01`` as 1)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unknown_keys(where: str, column: str, given: dict, allowed: tuple[str, ...]) -> list[MappingProblem]:
    return [
        problem(where, column, "unknown key", f"remove {key!r} or {closest(str(key), list(allowed))}", (str(key),))
        for key in given
        if key not in allowed
    ]


def _columns_of(table: str) -> list[str]:
    return contract.TABLES[table].column_names


def _mapping_of(name: str, key: str, value: Any, problems: list[MappingProblem]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(problem(name, key, "not a mapping", f"write `{key}:` as `name: value` lines"))
        return {}
    return value


def _contract_keys(name: str, key: str, given: dict, problems: list[MappingProblem]) -> dict:
    """Keep the entries whose key is a contract column of ``name``; report the others."""
    columns = _columns_of(name)
    out = {}
    for col, value in given.items():
        if col not in columns:
            problems.append(
                problem(name, str(col), f"unknown contract column in `{key}`", closest(str(col), columns), (str(col),))
            )
        else:
            out[col] = value
    return out


def _table(name: str, item: Any, base: Path, has_url: bool, problems: list[MappingProblem]) -> TableMapping | None:
    if not isinstance(item, dict):
        problems.append(
            problem(name, "—", "not a mapping", "give the table `file:`, `folder:` or `query:` and its keys")
        )
        return None
    problems += _unknown_keys(name, "—", item, TABLE_KEYS)
    given = [k for k in ("file", "folder", "query") if item.get(k)]
    if len(given) != 1:
        problems.append(
            problem(name, "—", "needs exactly one source", "give one of `file:`, `folder:` or `query:`", tuple(given))
        )
    file = folder = None
    if item.get("file"):
        file = (base / str(item["file"])).expanduser().resolve()
        if not file.is_file():
            problems.append(problem(name, "—", "file not found", f"fix the path (relative to {base})", (str(file),)))
    if item.get("folder"):
        folder = (base / str(item["folder"])).expanduser().resolve()
        if not folder.is_dir():
            problems.append(
                problem(name, "—", "folder not found", f"fix the path (relative to {base})", (str(folder),))
            )
    if item.get("query") and not has_url:
        problems.append(
            problem(name, "—", "query without a database", "add `source: <SQLAlchemy URL>` or pass --source URL")
        )
    columns = _contract_keys(name, "columns", _mapping_of(name, "columns", item.get("columns"), problems), problems)
    constants = _contract_keys(
        name, "constants", _mapping_of(name, "constants", item.get("constants"), problems), problems
    )
    both = sorted(set(columns) & set(constants))
    if both:
        problems.append(problem(name, both[0], "both renamed and constant", "keep it in `columns` or in `constants`"))
    values: dict[str, dict[str, str | None]] = {}
    raw_values = _contract_keys(name, "values", _mapping_of(name, "values", item.get("values"), problems), problems)
    for col, vmap in raw_values.items():
        if not isinstance(vmap, dict) or not vmap:
            problems.append(
                problem(name, col, "value map is not a mapping", "write `your value: contract value` lines")
            )
            continue
        values[col] = {_text(k): (None if v is None else _text(v)) for k, v in vmap.items()}
        allowed = contract.TABLES[name].column(col).allowed
        wrong = sorted({v for v in values[col].values() if v is not None and allowed and v not in allowed})
        if wrong:
            problems.append(
                problem(
                    name,
                    col,
                    "maps to a value the contract does not allow",
                    f"use one of {', '.join(allowed or ())}",
                    tuple(wrong),
                )
            )
    keep: dict[str, tuple[str, ...]] = {}
    for src, kept in _mapping_of(name, "filter", item.get("filter"), problems).items():
        kept_list = kept if isinstance(kept, list) else [kept]
        keep[str(src)] = tuple(_text(v) for v in kept_list)
    date_format = item.get("date_format")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        problems.append(
            problem(name, "—", "bad date_format", "give a strptime format such as '%m/%d/%Y'", (str(date_format),))
        )
        date_format = None
    timezone = item.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                problem(name, "—", "unknown time zone", "use an IANA name such as 'Europe/Berlin'", (str(timezone),))
            )
            timezone = None
    currency, multiplier = None, 1.0
    arr = item.get("arr")
    if arr is not None:
        if name != "contracts":
            problems.append(problem(name, "—", "`arr` outside contracts", "move `arr:` under `contracts`"))
        elif not isinstance(arr, dict):
            problems.append(problem(name, "arr", "not a mapping", "write `arr: {currency: EUR, multiplier: 1.08}`"))
        else:
            problems += _unknown_keys(name, "arr", arr, ARR_KEYS)
            currency = None if arr.get("currency") is None else str(arr["currency"])
            raw = arr.get("multiplier", 1)
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not raw > 0:
                problems.append(
                    problem(
                        name, "arr", "bad multiplier", "give a number > 0 (source ARR x multiplier = ARR)", (str(raw),)
                    )
                )
            else:
                multiplier = float(raw)
    return TableMapping(
        table=name,
        file=file,
        folder=folder,
        query=str(item["query"]) if item.get("query") else None,
        columns={c: _text(s) for c, s in columns.items()},
        value_maps=values,
        constants={c: _text(v) for c, v in constants.items()},
        keep=keep,
        date_format=date_format,
        timezone=None if timezone is None else str(timezone),
        arr_currency=currency,
        arr_multiplier=multiplier,
        sep=str(item.get("sep", ",")),
        encoding=str(item.get("encoding", "utf-8")),
    )


def parse(data: dict, path: Path | None, url: str | None = None) -> tuple[SourceMapping, list[MappingProblem]]:
    """Check a mapping's content and build the ``SourceMapping``, collecting every problem.

    Parameters
    ----------
    data : dict
        The parsed YAML.
    path : pathlib.Path or None
        The file it came from (relative paths in it are taken from its folder; None: the working directory).
    url : str, optional
        A database URL given on the command line; it replaces the file's ``source``.

    Returns
    -------
    mapping : SourceMapping
        Usable only when ``problems`` is empty.
    problems : list of MappingProblem
        Unknown keys, tables or columns, missing files, bad formats, zones or multipliers, and a
        password written into the file's URL.
    """
    from insights.data.sources.warehouse import has_password

    where = path.name if path is not None else "mapping"
    problems = _unknown_keys(where, "—", data, TOP_KEYS)
    file_url = data.get("source")
    if url is None and file_url is not None:
        text = str(file_url).strip()
        if text.startswith("$"):
            url = os.environ.get(text[1:])
            if not url:
                problems.append(
                    problem(where, "source", "environment variable not set", f"export {text[1:]}=<SQLAlchemy URL>")
                )
        elif has_password(text):
            problems.append(
                problem(
                    where,
                    "source",
                    "password in the mapping file",
                    "remove it: use PGPASSWORD, ~/.pgpass, or `source: $VAR` with the URL in an environment variable",
                )
            )
        else:
            url = text
    chunk_rows = data.get("chunk_rows", DEFAULT_CHUNK_ROWS)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        problems.append(problem(where, "chunk_rows", "not a whole number >= 1", "give rows per chunk, e.g. 100000"))
        chunk_rows = DEFAULT_CHUNK_ROWS
    tables_raw = data.get("tables") or {}
    if not isinstance(tables_raw, dict):
        problems.append(problem(where, "tables", "not a mapping", "list tables as `accounts:`, `contracts:`, ..."))
        tables_raw = {}
    base = path.parent if path is not None else Path.cwd()
    tables: dict[str, TableMapping] = {}
    for name, item in tables_raw.items():
        if name not in MAPPABLE:
            problems.append(problem(str(name), "—", "unknown table", closest(str(name), list(MAPPABLE)), (str(name),)))
            continue
        table = _table(name, item, base, url is not None, problems)
        if table is not None:
            tables[name] = table
    return SourceMapping(path=path, url=url, tables=tables, chunk_rows=chunk_rows), problems


def parse_file(path: Path | None, url: str | None = None) -> tuple[SourceMapping, list[MappingProblem]]:
    """Read a mapping file and check its content; a bare URL (no file) maps every table to its namesake.

    Parameters
    ----------
    path : pathlib.Path or None
        The mapping file; None for a database URL alone.
    url : str, optional
        Database URL from the command line (overrides the file's ``source``).

    Returns
    -------
    mapping : SourceMapping
        The mapping (``insights.data.sources.snapshot.materialise`` still reads every table whose
        source exists, to report the problems of the data along with these).
    problems : list of MappingProblem
        Every problem of the content (see ``parse``).

    Raises
    ------
    ConfigError
        If the file is not valid YAML, not a mapping, or maps no table and names no database.
    """
    data = read_mapping(path, required=True, purpose="where your tables come from") if path is not None else {}
    mapping, problems = parse(data, path, url)
    if not problems and not mapping.tables and mapping.url is None:
        raise ConfigError(f"{path} maps no table: list them under `tables:` (see docs/sources.md).")
    return mapping, problems


def load_mapping(path: Path | None, url: str | None = None) -> SourceMapping:
    """Read a mapping file that must be free of problems (``parse_file``, raising on any).

    Parameters
    ----------
    path, url
        As in ``parse_file``.

    Returns
    -------
    SourceMapping

    Raises
    ------
    ConfigError
        If the file is not valid YAML or not a mapping.
    MappingError
        With every problem of its content.
    """
    mapping, problems = parse_file(path, url)
    if problems:
        raise MappingError(problems, mapping.where)
    return mapping
