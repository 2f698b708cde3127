"""CSV action lists as one Excel workbook, a sheet per list, every cell text.

The workbook is written directly as Office Open XML (a zip of a few XML parts, with
inline strings), which takes about a second for the 50,000-account lists where
pandas' ``to_excel`` through openpyxl took 50 s and openpyxl's write-only mode 30 s.
Excel, LibreOffice, openpyxl and ``pandas.read_excel`` read it. Cells hold the CSV
fields as text (ids keep leading zeros, nothing is reinterpreted as a number or a
date); empty fields are empty cells; the header row is bold and frozen. Characters XML 1.0
does not allow are dropped, and a field longer than Excel's cell limit (32,767 characters) is cut
there in the workbook (the CSV keeps it whole).
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # not allowed in XML 1.0
#: Excel keeps at most this many characters in a cell; longer fields are cut (the CSV keeps them whole).
MAX_CELL = 32_767
#: Sheet names Excel reserves for itself.
_RESERVED = {"history"}
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
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
    'state="frozen"/></sheetView></sheetViews><sheetData>'
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


def _cell(ref: str, value: str, style: int) -> str:
    if value == "":
        return ""
    text = escape(_ILLEGAL.sub("", value)[:MAX_CELL])
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}" t="inlineStr" s="{style}"><is><t{space}>{text}</t></is></c>'


def _sheet_xml(path: Path):
    yield _SHEET_HEAD
    letters: list[str] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.reader(fh), 1):
            while len(letters) < len(row):
                letters.append(column_letter(len(letters)))
            style = 1 if i == 1 else 2
            yield f'<row r="{i}">' + "".join(_cell(f"{c}{i}", v, style) for c, v in zip(letters, row)) + "</row>"
    yield "</sheetData></worksheet>"


def write_workbook(csvs: list[Path], out: Path) -> Path:
    """Write one ``.xlsx`` with a sheet per CSV file (sheet name = file stem), every cell text.

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
