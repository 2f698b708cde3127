"""The workbook: a sheet per CSV, numbers and dates typed and formatted, filters, frozen header, widths."""

import openpyxl
import pandas as pd
import pytest

from insights.report.workbook import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    column_kind,
    column_letter,
    number_format,
    sheet_names,
    write_workbook,
)


def test_numbers_and_dates_are_typed_and_ids_stay_text(tmp_path):
    first = tmp_path / "worklist.csv"
    first.write_text(
        "account_id,name,arr,p_churn,renewal_date,seats,note,asked\n"
        '00042,"Smith & Sons <Ltd>",1200.50,0.25,2026-11-03,12,,True\n'
        '7,"Ünïcode ""quoted""",,0.5,2026-12-01,3,  leading space,False\n'
        "A9,Third,98765.25,0.125,,1500,x,True\n",
        encoding="utf-8",
    )
    second = tmp_path / "a_very_long_action_list_name_beyond_31.csv"
    second.write_text("x\n1\n", encoding="utf-8")
    out = write_workbook([first, second], tmp_path / "book.xlsx")

    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["worklist", "a_very_long_action_list_name_be"]
    sheet = book["worklist"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["account_id", "name", "arr", "p_churn", "renewal_date", "seats", "note", "asked"]
    nov3 = pd.Timestamp("2026-11-03").to_pydatetime()
    assert rows[1] == ["00042", "Smith & Sons <Ltd>", 1200.5, 0.25, nov3, 12, None, True]
    assert rows[2][:6] == ["7", 'Ünïcode "quoted"', None, 0.5, pd.Timestamp("2026-12-01").to_pydatetime(), 3]
    assert rows[2][6] == "  leading space"
    # types: numbers are numbers, dates are dates, flags TRUE/FALSE, ids text
    assert sheet["A2"].data_type == "s" and sheet["C2"].data_type == "n" and sheet["E2"].is_date
    assert isinstance(sheet["F4"].value, int) and sheet["H2"].data_type == "b"
    assert [sheet[f"H{i}"].value for i in (2, 3, 4)] == [True, False, True]
    # formats: currency, percent, ISO dates, thousands
    assert sheet["C2"].number_format == '"$"#,##0'
    assert sheet["D2"].number_format == "0.0%"
    assert sheet["E2"].number_format == "yyyy-mm-dd"
    assert sheet["F4"].number_format == "#,##0"
    # header bold and frozen, filter over every row, widths from the content
    assert all(c.font.b for c in sheet[1]) and not sheet["A2"].font.b and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:H4"
    widths = {k: v.width for k, v in sheet.column_dimensions.items()}
    assert widths["B"] > widths["F"] >= len("seats") and widths["E"] >= 10
    # the ARR column sums in a spreadsheet: every value is numeric
    arr = [c.value for c in sheet["C"][1:] if c.value is not None]
    assert all(isinstance(v, (int, float)) for v in arr) and sum(arr) == pytest.approx(99965.75)

    frames = pd.read_excel(out, sheet_name=None)
    assert frames["worklist"]["arr"].sum() == pytest.approx(99965.75)
    assert pd.api.types.is_datetime64_any_dtype(frames["worklist"]["renewal_date"])


@pytest.mark.parametrize(
    ("name", "fields", "kind"),
    [
        ("account_id", ["1", "2"], TEXT),
        ("code", ["007", "8"], TEXT),
        ("arr", ["1.5", "-2", "3e5"], NUMBER),
        ("seats", ["1", "", "-20"], INTEGER),
        ("day", ["2026-01-02", "2026-01-03 00:00:00"], DATE),
        ("day", ["2026-01-02", "soon"], TEXT),
        ("empty", ["", ""], TEXT),
        ("flag", ["True", "", "False"], BOOLEAN),
        ("flag", ["TRUE", "false"], BOOLEAN),
        ("flag", ["True", "yes"], TEXT),
        ("flag_id", ["True", "False"], TEXT),
        ("flag", ["1", "0"], INTEGER),
    ],
)
def test_column_kinds(name, fields, kind):
    assert column_kind(name, fields) == kind


def test_number_formats_follow_the_name():
    assert number_format("arr", NUMBER) == "currency"
    assert number_format("expected_arr_at_risk", NUMBER) == "currency"
    assert number_format("renewing_arr", INTEGER) == "currency"
    assert number_format("p_churn", NUMBER) == "percent"
    assert number_format("share_at_risk", NUMBER) == "percent"
    assert number_format("feature_utilisation", NUMBER) == "percent"
    assert number_format("health", NUMBER) == NUMBER
    assert number_format("arr", TEXT) == TEXT
    assert number_format("renewal_date", DATE) == DATE


def test_sheet_names_and_columns():
    assert sheet_names(["a/b", "A_B", "x" * 40, "x" * 40]) == ["a_b", "A_B_2", "x" * 31, "x" * 29 + "_2"]
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_awkward_text_and_names_still_give_a_valid_workbook(tmp_path):
    csv = tmp_path / "History.csv"
    long = "y" * 40_000
    csv.write_text(f"a,b\nx\ufffey\x01,{long}\n", encoding="utf-8")
    out = write_workbook([csv], tmp_path / "book.xlsx")
    book = openpyxl.load_workbook(out)  # well-formed XML
    assert book.sheetnames == ["History_"]  # Excel reserves "History"
    assert book.active["A2"].value == "xy"
    assert book.active["B2"].value == "y" * 32_767
    assert sheet_names(["a" * 30 + "'b", "'quoted'"]) == ["a" * 30, "quoted"]
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert openpyxl.load_workbook(write_workbook([empty], tmp_path / "e.xlsx")).sheetnames == ["empty"]
