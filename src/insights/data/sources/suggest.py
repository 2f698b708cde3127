"""``insights sources suggest``: read the headers of export files and propose a mapping file to edit.

Each file is matched to the contract table whose columns its headers resemble most (names compared
after lower-casing and dropping punctuation, against the contract name and common export names such as
"Account Name" or "Close Date", with ``difflib`` for the rest). Each contract column then gets the
closest header, one header per column. From a sample of rows the proposal also guesses the CSV
separator, the date format and value maps for columns with a fixed vocabulary (ticket priority,
activity type). Row filters, constants and ARR units are left to the user; the proposal says so.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from insights.data import contract
from insights.data.contract import DATE, DATETIME, MONTH
from insights.data.sources.spec import MAPPABLE
from insights.errors import ParameterError

#: A header at least this similar to a name of a contract column is proposed for it.
MIN_SCORE = 0.75
SAMPLE_ROWS = 2000
DATE_FORMATS = (
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%y",
)
_ACCOUNT = ("account id", "account", "organization id", "organisation id", "org id", "company id", "customer id")

#: Names exports commonly use for a contract column (beyond the column's own name).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "account_id": _ACCOUNT,
        "name": ("account name", "company name", "company", "organization name", "organization", "customer name"),
        "industry": ("vertical", "sector"),
        "region": ("billing region", "sales region", "territory", "geo"),
        "country": ("billing country", "country code"),
        "line_of_business": ("business unit", "department", "lob"),
        "employees": ("number of employees", "employee count", "headcount", "company size"),
        "created_at": ("created date", "created", "customer since", "account created"),
        "csm": ("account owner", "owner", "customer success manager", "csm owner"),
    },
    "contracts": {
        "contract_id": ("opportunity id", "subscription id", "deal id", "contract number"),
        "account_id": _ACCOUNT,
        "start_date": ("contract start date", "term start", "subscription start", "start"),
        "end_date": ("contract end date", "term end", "subscription end", "end", "renewal date"),
        "arr": ("amount", "annual recurring revenue", "acv", "annual contract value", "annual value"),
        "seats": ("licenses", "licences", "quantity", "seat count"),
        "plan": ("product", "edition", "tier", "product name"),
    },
    "users": {
        "user_id": ("user", "contact id"),
        "account_id": _ACCOUNT,
        "role": ("user role", "title", "permission"),
        "invited_at": ("invited", "invite date", "created"),
        "activated_at": ("activated", "activation date", "first login"),
    },
    "usage_monthly": {"account_id": _ACCOUNT, "month": ("period", "usage month")},
    "support_tickets": {
        "ticket_id": ("ticket", "case id", "case number", "ticket number", "request id"),
        "account_id": (*_ACCOUNT, "organization", "organisation", "requester organization"),
        "created_at": ("created", "created date", "opened", "date opened", "submitted"),
        "priority": ("severity", "urgency"),
        "csat": ("satisfaction", "satisfaction rating", "satisfaction score", "csat score"),
    },
    "surveys": {
        "response_id": ("response", "submission id"),
        "account_id": _ACCOUNT,
        "responded_at": ("submitted at", "response date", "submitted", "date"),
        "nps": ("nps score", "likelihood to recommend", "recommend score"),
        "value_score": ("value", "perceived value"),
    },
    "cs_activities": {
        "activity_id": ("task id", "activity", "event id"),
        "account_id": _ACCOUNT,
        "date": ("activity date", "completed date", "due date", "completed"),
        "type": ("activity type", "task type", "category"),
    },
    "integrations": {
        "account_id": _ACCOUNT,
        "integration": ("app", "connector", "integration name"),
        "connected_at": ("connected", "installed", "install date"),
        "disconnected_at": ("disconnected", "uninstalled", "uninstall date"),
    },
    "pilot_assignments": {"account_id": _ACCOUNT, "arm": ("group", "variant"), "assigned_at": ("assigned",)},
}
#: Words in a file name that point at a table.
FILE_HINTS = {
    "accounts": ("account", "compan", "customer", "organi"),
    "contracts": ("contract", "opportunit", "subscription", "deal"),
    "support_tickets": ("ticket", "case", "helpdesk", "support"),
    "cs_activities": ("activit", "task"),
    "surveys": ("survey", "nps", "response"),
    "users": ("user",),
    "usage_monthly": ("usage",),
    "integrations": ("integration",),
}
#: Source values that mean a priority whatever they are called.
PRIORITY_WORDS = {"p1": "urgent", "p2": "high", "p3": "normal", "p4": "low", "medium": "normal", "critical": "urgent"}


def normalise(name: str) -> str:
    """A column name compared loosely: lower case, words separated by single spaces.

    Parameters
    ----------
    name : str
        A header or contract column name.

    Returns
    -------
    str
        E.g. ``"Close Date"`` and ``"close_date"`` both give ``"close date"``.
    """
    return " ".join(re.sub(r"[^0-9a-z]+", " ", str(name).lower()).split())


def column_score(header: str, table: str, column: str) -> float:
    """How much ``header`` looks like contract column ``table.column`` (1.0 for a known name).

    Parameters
    ----------
    header : str
        A source column name.
    table, column : str
        A contract table and one of its columns.

    Returns
    -------
    float
        1.0 for the column's own name or a listed synonym, else the best ``difflib`` ratio against them.
    """
    h = normalise(header)
    names = [normalise(column), *SYNONYMS.get(table, {}).get(column, ())]
    if h in names:
        return 1.0
    return max(difflib.SequenceMatcher(None, h, n).ratio() for n in names)


@dataclass
class Proposal:
    """The proposed mapping of one file.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    table : str
        The contract table it is proposed for.
    columns : dict of str to str
        Contract column -> header (only where they differ).
    scores : dict of str to float
        Contract column -> similarity of its header.
    missing : list of str
        Contract columns no header matched.
    unused : list of str
        Headers not proposed for any column.
    sep : str
        The CSV separator found.
    date_format : str or None
        The format every date column parses with (None: ISO 8601, or no date column).
    value_maps : dict of str to dict
        Contract column -> proposed value map.
    notes : list of str
        Things to check (dates in several formats, ...).
    """

    path: Path
    table: str
    columns: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    sep: str = ","
    date_format: str | None = None
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _sample(path: Path) -> tuple[pd.DataFrame, str]:
    """The first rows of a CSV or Parquet file as text, and its CSV separator."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        batch = next(pq.ParquetFile(path).iter_batches(batch_size=SAMPLE_ROWS), None)
        frame = batch.to_pandas() if batch is not None else pq.read_schema(path).empty_table().to_pandas()
        return frame.astype("string"), ","
    with path.open(encoding="utf-8", newline="") as fh:
        head = fh.readline()
    try:
        sep = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    frame = pd.read_csv(path, sep=sep, dtype=str, nrows=SAMPLE_ROWS, keep_default_na=False, na_values=[""])
    return frame, sep


def _distinct(path: Path, sep: str, column: str) -> pd.Series:
    """Every distinct value of one column of the whole file (read a chunk at a time)."""
    from insights.data.sources.readers import file_chunks

    seen: set[str] = set()
    for chunk in file_chunks(path, 100_000, sep=sep):
        seen.update(chunk[column].dropna().astype(str))
    return pd.Series(sorted(seen), dtype="str")


def _assign(headers: list[str], table: str) -> tuple[dict[str, str], dict[str, float]]:
    """Greedy one-to-one matching of contract columns to headers, best pairs first."""
    pairs = sorted(
        ((column_score(h, table, c.name), c.name, h) for c in contract.TABLES[table].columns for h in headers),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    chosen: dict[str, str] = {}
    scores: dict[str, float] = {}
    for score, col, header in pairs:
        if score < MIN_SCORE or col in chosen or header in chosen.values():
            continue
        chosen[col], scores[col] = header, score
    return chosen, scores


def _table_score(path: Path, headers: list[str], table: str) -> float:
    _, scores = _assign(headers, table)
    needed = [c for c in contract.TABLES[table].columns if not c.optional]
    score = sum(scores.get(c.name, 0.0) for c in needed) / len(needed)
    stem = normalise(path.stem)
    if any(hint in stem for hint in FILE_HINTS.get(table, ())):
        score += 0.25
    return score


def _date_format(frame: pd.DataFrame, columns: list[str]) -> tuple[str | None, list[str]]:
    """The one format all sampled date values parse with (None for ISO 8601), and notes."""
    values = pd.concat([frame[c].dropna().astype(str).str.strip() for c in columns if c in frame], ignore_index=True)
    values = values[values != ""]
    if values.empty:
        return None, []
    if pd.to_datetime(values, format="ISO8601", errors="coerce").notna().all():
        return None, []
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt, []
    # the dates of one table use several formats, or one this guess does not know
    return None, [f"dates in {', '.join(columns)} are not in one known format; set `date_format:` (e.g. '%d/%m/%Y')"]


def _value_map(values: pd.Series, choices: tuple[str, ...]) -> dict[str, str]:
    """Each distinct value mapped to the closest choice (same words, a known alias, containment or difflib)."""
    out = {}
    spaced = {normalise(c): c for c in choices}
    for value in sorted(values.dropna().astype(str).str.strip().unique()):
        if not value:
            continue
        v = normalise(value)
        if v in spaced:
            out[value] = spaced[v]
        elif v in PRIORITY_WORDS and PRIORITY_WORDS[v] in choices:
            out[value] = PRIORITY_WORDS[v]
        elif any(s in v for s in spaced):
            out[value] = spaced[max((s for s in spaced if s in v), key=len)]
        else:
            match = difflib.get_close_matches(v, list(spaced), n=1, cutoff=MIN_SCORE)
            out[value] = spaced[match[0]] if match else value
    return out


#: Columns with a fixed vocabulary whose values are proposed a map.
VOCABULARIES = {
    ("support_tickets", "priority"): contract.TABLES["support_tickets"].column("priority").allowed or (),
    ("cs_activities", "type"): contract.KNOWN_ACTIVITY_TYPES,
}


def propose(paths: list[Path]) -> list[Proposal]:
    """Propose a contract table and a column mapping for each file.

    Parameters
    ----------
    paths : list of pathlib.Path
        CSV or Parquet exports.

    Returns
    -------
    list of Proposal
        One per file, in the order given; two files are never proposed for the same table (the
        better match keeps it, the other takes its next best).

    Raises
    ------
    ParameterError
        If a file does not exist or cannot be read.
    """
    samples = {}
    for path in paths:
        if not path.is_file():
            raise ParameterError(f"{path} does not exist.")
        try:
            samples[path] = _sample(path)
        except Exception as exc:  # noqa: BLE001 - any reader error is the user's file
            raise ParameterError(f"cannot read {path}: {exc}") from None
    ranked = {
        path: sorted(MAPPABLE, key=lambda t: -_table_score(path, [str(c) for c in frame.columns], t))
        for path, (frame, _) in samples.items()
    }
    scores = {(p, t): _table_score(p, [str(c) for c in samples[p][0].columns], t) for p in paths for t in MAPPABLE}
    taken: dict[str, Path] = {}
    for path, _t in sorted(((p, ranked[p][0]) for p in paths), key=lambda pt: -scores[pt]):
        table = next(t for t in ranked[path] if t not in taken)
        taken[table] = path
    out = []
    for table, path in sorted(taken.items(), key=lambda tp: paths.index(tp[1])):
        frame, sep = samples[path]
        headers = [str(c) for c in frame.columns]
        chosen, col_scores = _assign(headers, table)
        spec = contract.TABLES[table]
        dates = [chosen[c.name] for c in spec.columns if c.kind in (DATE, DATETIME, MONTH) and c.name in chosen]
        date_format, notes = _date_format(frame, dates)
        values = {
            col: _value_map(_distinct(path, sep, chosen[col]), vocabulary)
            for (t, col), vocabulary in VOCABULARIES.items()
            if t == table and col in chosen
        }
        if date_format and "%H" in date_format:
            notes.append("timestamps without an offset are read as UTC; set `timezone:` to the zone they are in")
        out.append(
            Proposal(
                path=path,
                table=table,
                columns={c.name: chosen[c.name] for c in spec.columns if chosen.get(c.name, c.name) != c.name},
                scores=col_scores,
                missing=[c.name for c in spec.columns if c.name not in chosen and not c.optional],
                unused=[h for h in headers if h not in chosen.values()],
                sep=sep,
                date_format=date_format,
                value_maps={c: m for c, m in values.items() if any(k != v for k, v in m.items())},
                notes=notes,
            )
        )
    return out


def _quote(text: str) -> str:
    """A YAML scalar, quoted when plain YAML would read it otherwise."""
    import yaml

    dumped = yaml.safe_dump(text, default_style=None, width=1000).strip()
    return dumped.removesuffix("\n...").strip() if not dumped.startswith("'") else dumped


def render(proposals: list[Proposal], base: Path) -> str:
    """The proposals as a commented mapping file.

    Parameters
    ----------
    proposals : list of Proposal
        From ``propose``.
    base : pathlib.Path
        Folder the mapping file will live in (file paths are written relative to it when possible).

    Returns
    -------
    str
        YAML text: one entry per table with its file, renames (with their similarity), separator, date
        format and value maps, and comments naming contract columns not found and headers not used.
    """
    lines = [
        "# Proposed by `insights sources suggest`: check every line, add row filters (`filter:`),",
        "# `constants:` and the ARR unit (`arr: {currency: ..., multiplier: ...}`) where needed, then run",
        "# `insights validate --sources <this file>`. Keys are explained in docs/sources.md.",
        "tables:",
    ]
    for p in proposals:
        try:
            where = Path(os.path.relpath(p.path.resolve(), base.resolve())).as_posix()
        except ValueError:  # another drive
            where = p.path.resolve().as_posix()
        lines += [f"  {p.table}:", f"    file: {_quote(where)}"]
        if p.sep != ",":
            lines.append(f"    sep: {_quote(p.sep)}")
        if p.columns:
            lines.append("    columns:")
            for col, header in p.columns.items():
                lines.append(f"      {col}: {_quote(header)}  # similarity {p.scores[col]:.2f}")
        if p.date_format:
            lines.append(f"    date_format: {_quote(p.date_format)}")
        for col, vmap in p.value_maps.items():
            lines.append("    values:" if col == next(iter(p.value_maps)) else "")
            lines.append(f"      {col}:")
            lines += [f"        {_quote(k)}: {_quote(v)}" for k, v in vmap.items()]
        if p.missing:
            lines.append(f"    # not found (map them, or set them in `constants:`): {', '.join(p.missing)}")
        if p.unused:
            lines.append(f"    # not used: {', '.join(p.unused)}")
        lines += [f"    # check: {note}" for note in p.notes]
    return "\n".join(line for line in lines if line != "") + "\n"
