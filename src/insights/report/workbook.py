"""CSV lists as one Excel workbook, a sheet per list, with typed numbers and dates that sort and sum.

The workbook is written directly as Office Open XML (a zip of a few XML parts, with
inline strings), which takes about a second for the 50,000-account lists where
pandas' ``to_excel`` through openpyxl took 50 s and openpyxl's write-only mode 30 s.
Excel, LibreOffice, openpyxl and ``pandas.read_excel`` read it.

Each column is typed from its CSV fields (``column_kind``): a column whose every non-empty field is
a plain number (no leading zero, so ids such as ``00042`` stay text; no ``_id`` column) is written as
numbers, one whose every field is an ISO date (``2026-11-03``) as dates, one whose every field is
``True`` or ``False`` (any case, as pandas writes booleans) as Excel's TRUE/FALSE cells, anything
else as text (nothing else is reinterpreted). Formats follow the column's name (``number_format``): currency for
ARR and money columns, percent for probabilities, shares and rates, ``yyyy-mm-dd`` for dates,
thousands separators otherwise. The header row is bold and frozen, every sheet has an autofilter
over its rows, and column widths follow the longest field (at most ``MAX_WIDTH``). Empty fields are
empty cells. Characters XML 1.0 does not allow are dropped, and a field longer than Excel's cell
limit (32,767 characters) is cut there in the workbook (the CSV keeps it whole).
"""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # not allowed in XML 1.0
#: Excel keeps at most this many characters in a cell; longer fields are cut (the CSV keeps them whole).
MAX_CELL = 32_767
#: Sheet names Excel reserves for itself.
_RESERVED = {"history"}
#: Widest column, in characters.
MAX_WIDTH = 60
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})( 00:00:00)?")
_MONEY = re.compile(r"(^|_)(arr|price|revenue_arr|loss)(_|$)")
_PERCENT = re.compile(r"^p_|(^|_)(share|rate|utilisation|growth|probability|churn_rate)(_|$)")
_BOOLEAN = {"true": 1, "false": 0}
#: Kinds of column.
TEXT, INTEGER, NUMBER, DATE, BOOLEAN = "text", "integer", "number", "date", "boolean"
#: Style (index into cellXfs of ``_STYLES``) of each format.
_STYLE = {"header": 1, TEXT: 2, INTEGER: 3, NUMBER: 4, "currency": 5, "percent": 6, DATE: 7, BOOLEAN: 0}
_EXCEL_EPOCH = date(1899, 12, 30)
_INVALID_SHEET = re.compile(r"[\[\]:*?/\\]")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{sheets}</sheets>'
    "</workbook>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
    '<Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/></Relationships>'
)
_SHEET_REL = (
    '<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet{n}.xml"/>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="&quot;$&quot;#,##0"/>'
    '<numFmt numFmtId="165" formatCode="0.0%"/><numFmt numFmtId="166" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
    'state="frozen"/></sheetView></sheetViews>'
)


def sheet_names(stems: list[str]) -> list[str]:
    r"""Valid, distinct Excel sheet names for file stems.

    Each name has at most 31 characters, no ``[]:*?/\``, no ``'`` at either end, and is not the
    reserved "History"; a repeated name gets ``_2``, ``_3``, ... (case-insensitively).

    Parameters
    ----------
    stems : list of str
        File stems, in sheet order.

    Returns
    -------
    list of str
        One sheet name per stem, in the same order.
    """
    out: list[str] = []
    for stem in stems:
        base = _INVALID_SHEET.sub("_", stem).strip("'")[:31].strip("'") or "sheet"  # no ' at either end
        if base.lower() in _RESERVED:
            base += "_"
        name, i = base, 2
        while name.lower() in {n.lower() for n in out}:
            suffix = f"_{i}"
            name, i = base[: 31 - len(suffix)] + suffix, i + 1
        out.append(name)
    return out


def column_letter(i: int) -> str:
    """Excel column name of the 0-based column ``i`` (0 -> A, 26 -> AA).

    Parameters
    ----------
    i : int
        Column number, from 0.

    Returns
    -------
    str
        The column's letters.
    """
    name = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        name = chr(65 + rem) + name
    return name


def _text_cell(ref: str, value: str, style: int) -> str:
    if value == "":
        return ""
    text = escape(_ILLEGAL.sub("", value)[:MAX_CELL])
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}" t="inlineStr" s="{style}"><is><t{space}>{text}</t></is></c>'


def column_kind(name: str, fields: list[str]) -> str:
    """How a CSV column is written: ``TEXT``, ``INTEGER``, ``NUMBER``, ``DATE`` or ``BOOLEAN``.

    Parameters
    ----------
    name : str
        The column's header; a name ending in ``_id`` (or ``id``) is always text.
    fields : list of str
        Its fields (empty ones are ignored).

    Returns
    -------
    str
        ``DATE`` when every non-empty field is an ISO date (optionally with a midnight time),
        ``BOOLEAN`` when every one is ``True`` or ``False`` (any case), ``INTEGER`` / ``NUMBER``
        when every one is a plain number without a leading zero (whole numbers only / any), else
        ``TEXT`` (also for a column without a non-empty field).
    """
    values = [f for f in fields if f != ""]
    if not values or name.lower() == "id" or name.lower().endswith("_id"):
        return TEXT
    if all(_DATE.fullmatch(v) for v in values):
        return DATE
    if all(v.lower() in _BOOLEAN for v in values):
        return BOOLEAN
    if all(_NUMBER.fullmatch(v) for v in values):
        return INTEGER if all(re.fullmatch(r"-?\d+", v) for v in values) else NUMBER
    return TEXT


def number_format(name: str, kind: str) -> str:
    """The display format of a typed column, from its name: a key of the styles (see ``_STYLE``).

    Parameters
    ----------
    name : str
        The column's header.
    kind : str
        Its ``column_kind``.

    Returns
    -------
    str
        ``"currency"`` for numbers in a money column (``arr``, ``*_arr``, ``expected_arr_at_risk``,
        ``price...``), ``"percent"`` for probabilities (``p_*``), shares, rates, utilisation and
        growth, else ``kind`` itself (text, integer, number, date).
    """
    if kind in (INTEGER, NUMBER):
        lower = name.lower()
        if _MONEY.search(lower):
            return "currency"
        if _PERCENT.search(lower):
            return "percent"
    return kind


def _typed_cell(ref: str, value: str, kind: str, style: int) -> str:
    if value == "":
        return ""
    if kind == DATE:
        m = _DATE.fullmatch(value)
        assert m is not None  # column_kind checked every field
        serial = (date(int(m[1]), int(m[2]), int(m[3])) - _EXCEL_EPOCH).days
        return f'<c r="{ref}" s="{style}"><v>{serial}</v></c>'
    if kind == BOOLEAN:
        return f'<c r="{ref}" t="b"><v>{_BOOLEAN[value.lower()]}</v></c>'
    if kind in (INTEGER, NUMBER):
        return f'<c r="{ref}" s="{style}"><v>{value}</v></c>'
    return _text_cell(ref, value, style)


def _sheet_xml(path: Path):
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0] if rows else []
    width = max((len(r) for r in rows), default=0)
    columns = [[r[j] if j < len(r) else "" for r in rows[1:]] for j in range(width)]
    names = [header[j] if j < len(header) else "" for j in range(width)]
    kinds = [column_kind(n, c) for n, c in zip(names, columns)]
    styles = [_STYLE[number_format(n, k)] for n, k in zip(names, kinds)]
    letters = [column_letter(j) for j in range(width)]
    yield _SHEET_HEAD
    if width:
        cols = "".join(
            f'<col min="{j + 1}" max="{j + 1}" width="{_width(names[j], columns[j], kinds[j])}" customWidth="1"/>'
            for j in range(width)
        )
        yield f"<cols>{cols}</cols>"
    yield "<sheetData>"
    for i, row in enumerate(rows, 1):
        if i == 1:
            cells = "".join(_text_cell(f"{c}1", v, _STYLE["header"]) for c, v in zip(letters, row))
        else:
            cells = "".join(_typed_cell(f"{letters[j]}{i}", v, kinds[j], styles[j]) for j, v in enumerate(row))
        yield f'<row r="{i}">{cells}</row>'
    yield "</sheetData>"
    if width and rows:
        yield f'<autoFilter ref="A1:{letters[-1]}{len(rows)}"/>'
    yield "</worksheet>"


def _width(name: str, fields: list[str], kind: str) -> int:
    """Column width in characters: the header or the longest field (dates 10, numbers with separators)."""
    longest = max((len(f) for f in fields), default=0)
    if kind == DATE:
        longest = 10
    elif kind == BOOLEAN:
        longest = 5
    elif kind in (INTEGER, NUMBER):
        longest += longest // 3 + 2  # thousands separators, currency sign or decimals
    return int(min(MAX_WIDTH, max(len(name) + 3, longest + 2, 6)))  # + room for the filter button


def write_workbook(csvs: list[Path], out: Path) -> Path:
    """Write one ``.xlsx`` with a sheet per CSV file (sheet name = file stem), numbers and dates typed.

    Parameters
    ----------
    csvs : list of pathlib.Path
        UTF-8 CSV files with a header row, in sheet order.
    out : pathlib.Path
        The workbook to write (replaced if it exists).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    names = sheet_names([p.stem for p in csvs])
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr(
            "[Content_Types].xml",
            _CONTENT_TYPES.format(sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, len(csvs) + 1))),
        )
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr(
            "xl/workbook.xml",
            _WORKBOOK.format(
                sheets="".join(
                    f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
                    for n, name in enumerate(names, 1)
                )
            ),
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            _WORKBOOK_RELS.format(rels="".join(_SHEET_REL.format(n=n) for n in range(1, len(csvs) + 1))),
        )
        book.writestr("xl/styles.xml", _STYLES)
        for n, path in enumerate(csvs, 1):
            with book.open(f"xl/worksheets/sheet{n}.xml", "w") as part:
                buffer: list[str] = []
                for piece in _sheet_xml(path):
                    buffer.append(piece)
                    if len(buffer) >= 2000:
                        part.write("".join(buffer).encode("utf-8"))
                        buffer.clear()
                part.write("".join(buffer).encode("utf-8"))
    return out
