"""The action-list workbook: one sheet per CSV, every cell the CSV's text, readable by openpyxl and pandas."""

import openpyxl
import pandas as pd

from insights.report.workbook import column_letter, sheet_names, write_workbook


def test_workbook_keeps_every_field_as_text(tmp_path):
    first = tmp_path / "risk_list.csv"
    first.write_text(
        'account_id,name,arr,note\n00042,"Smith & Sons <Ltd>",1200.50,\n7,"Ünïcode ""quoted""",,  leading space\n',
        encoding="utf-8",
    )
    second = tmp_path / "a_very_long_action_list_name_beyond_31.csv"
    second.write_text("x\n1\n", encoding="utf-8")
    out = write_workbook([first, second], tmp_path / "book.xlsx")

    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["risk_list", "a_very_long_action_list_name_be"]
    sheet = book["risk_list"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [
        ["account_id", "name", "arr", "note"],
        ["00042", "Smith & Sons <Ltd>", "1200.50", None],
        ["7", 'Ünïcode "quoted"', None, "  leading space"],
    ]
    assert all(c.font.b for c in sheet[1]) and not sheet["A2"].font.b
    assert sheet["A2"].data_type == "s" and sheet.freeze_panes == "A2"

    frames = pd.read_excel(out, sheet_name=None, dtype=str, keep_default_na=False)
    expected = pd.read_csv(first, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(frames["risk_list"], expected)


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
