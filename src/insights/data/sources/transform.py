"""Maps chunks of a source onto a contract table: filter, rename, constants, value maps, dates, ARR.

The output of every chunk is text, one column per contract column the source provides, exactly
what the contract loader reads from a CSV: the contract's own checks then type and validate it.
Problems (unknown source columns, values left unmapped, dates not in the format) are counted over
all chunks and reported together by ``ChunkMapper.problems``.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from insights.data import contract
from insights.data.contract import DATE, DATETIME, FLOAT, MONTH
from insights.data.sources.spec import MappingProblem, TableMapping, closest, problem

N_EXAMPLES = 5
_OUT_FORMATS = {DATE: "%Y-%m-%d", MONTH: "%Y-%m-%d", DATETIME: "%Y-%m-%dT%H:%M:%S"}


def as_text(series: pd.Series) -> pd.Series:
    """A column as text: missing stays missing, everything else is ``str(value)``.

    Parameters
    ----------
    series : pandas.Series
        A source column of any type (text from CSV; numbers, dates or decimals from Parquet or SQL).

    Returns
    -------
    pandas.Series
        ``str`` values (stripped of surrounding blanks) with missing values where the input was missing.
    """
    missing = series.isna()
    text = series.astype("str")  # str(value) per value, vectorised; missing values stay missing
    if not pd.api.types.is_numeric_dtype(series):
        text = text.str.strip()
    return text.where(~missing)


def _format_date_column(text: pd.Series, kind: str, fmt: str | None, zone: str | None) -> tuple[pd.Series, pd.Series]:
    """Parse dates written as ``fmt`` (ISO 8601 if None), move timestamps from ``zone`` to UTC, write ISO text.

    Returns the ISO text (the original text where parsing failed) and the mask of failures.
    """
    present = text.notna()
    parsed = pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce", utc=False)
    if getattr(parsed.dt, "tz", None) is not None:  # offsets in the source: those win
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    elif zone is not None:
        timed = present & text.str.contains(":", regex=False).fillna(False)  # a time of day: a timestamp
        if timed.any():
            moved = (
                parsed[timed]
                .dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
                .dt.tz_convert("UTC")
                .dt.tz_localize(None)
            )
            parsed = parsed.astype("datetime64[ns]")
            parsed[timed] = moved
    bad = present & parsed.isna()
    out = parsed.dt.strftime(_OUT_FORMATS[kind]).where(~bad, text)
    return out.astype("str").where(present), bad


class ChunkMapper:
    """Applies one ``TableMapping`` to chunk after chunk, counting problems across them.

    Parameters
    ----------
    mapping : TableMapping
        How the table is made.
    """

    def __init__(self, mapping: TableMapping):
        self.mapping = mapping
        self.spec = contract.TABLES[mapping.table]
        self._unmapped: dict[str, Counter] = {col: Counter() for col in mapping.value_maps}
        self._bad_dates: dict[str, Counter] = {}
        self._header: list[str] | None = None

    def check_header(self, columns: list[str]) -> list[MappingProblem]:
        """Problems with the source's columns: every column the mapping names must exist.

        Parameters
        ----------
        columns : list of str
            The source's columns (from its first chunk).

        Returns
        -------
        list of MappingProblem
            One per source column named in ``columns:`` or ``filter:`` that the source lacks.
        """
        self._header = [str(c) for c in columns]
        out = []
        for src, key in self.mapping.source_columns.items():
            if src not in self._header:
                out.append(
                    problem(
                        self.mapping.table,
                        key.removeprefix("columns."),
                        "source column not found",
                        f"fix `{key}: {src}`; {closest(src, self._header)}",
                        (repr(src),),
                    )
                )
        return out

    def _column(self, chunk: pd.DataFrame, name: str) -> pd.Series | None:
        m = self.mapping
        if name in m.constants:
            return pd.Series(m.constants[name], index=chunk.index, dtype="str")
        source = m.columns.get(name, name)
        return as_text(chunk[source]) if source in chunk.columns else None

    def apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """The chunk as contract columns of text (rows filtered, columns renamed, values mapped).

        Parameters
        ----------
        chunk : pandas.DataFrame
            Rows of the source, with the columns ``check_header`` saw.

        Returns
        -------
        pandas.DataFrame
            One ``str`` column per contract column the source provides, in contract order.
        """
        m = self.mapping
        for src, kept in m.keep.items():
            if src not in chunk.columns:  # reported by check_header
                continue
            chunk = chunk[as_text(chunk[src]).isin(kept).to_numpy()]
        out: dict[str, pd.Series] = {}
        for col in self.spec.columns:
            values = self._column(chunk, col.name)
            if values is None:
                continue
            if col.name in m.value_maps:
                vmap = m.value_maps[col.name]
                known = values.isin(list(vmap)) | values.isna()
                self._unmapped[col.name].update(values[~known].tolist())
                values = values.map(vmap).where(known, values).astype("str")
            if col.kind in _OUT_FORMATS and (m.date_format or m.timezone) and col.name not in m.constants:
                values, bad = _format_date_column(values, col.kind, m.date_format, m.timezone)
                if bad.any():
                    self._bad_dates.setdefault(col.name, Counter()).update(values[bad].tolist())
            if col.kind == FLOAT and col.name == "arr" and m.arr_multiplier != 1.0:
                numbers = pd.to_numeric(values, errors="coerce") * m.arr_multiplier
                values = as_text(numbers).where(numbers.notna(), values)
            out[col.name] = values
        return pd.DataFrame(out, index=chunk.index).reset_index(drop=True)

    def problems(self) -> list[MappingProblem]:
        """Values left unmapped and dates not in the format, counted over every chunk so far.

        Returns
        -------
        list of MappingProblem
            One per column with such values; the examples are the most frequent values with counts.
        """
        m = self.mapping
        out = []
        for col, counts in self._unmapped.items():
            if counts:
                out.append(
                    problem(
                        m.table,
                        col,
                        "value not in the value map",
                        f"add each value under `values: {col}:` (map it to null to leave it empty)",
                        tuple(f"{v!r} x{n}" for v, n in counts.most_common(N_EXAMPLES)),
                        sum(counts.values()),
                    )
                )
        for col, counts in self._bad_dates.items():
            out.append(
                problem(
                    m.table,
                    col,
                    f"date not in format {m.date_format or 'ISO 8601'}",
                    "fix `date_format:` (a strptime format) or the values",
                    tuple(f"{v!r} x{n}" for v, n in counts.most_common(N_EXAMPLES)),
                    sum(counts.values()),
                )
            )
        return out
