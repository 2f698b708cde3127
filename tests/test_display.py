"""How the notebooks' tables read: no NaN, no scientific notation, blank missing values."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights.data import paths
from insights.display import MISSING, frame_html, points, readable_number, use_readable_tables


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (14_632_077.4, "14,632,077"),
        (-2_982_641.0, "-2,982,641"),
        (1000.0, "1,000"),
        (0.845794, "0.8458"),
        (12.5, "12.5"),
        (3.0, "3"),
        (6.479e-09, "<0.001"),
        (-3.851e-06, ">-0.001"),
        (0.0, "0"),
        (float("nan"), MISSING),
        (None, MISSING),
        (float("inf"), "inf"),
    ],
)
def test_readable_number(value, shown):
    assert readable_number(value) == shown


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_no_float_is_shown_in_scientific_notation(x):
    text = readable_number(x)
    assert not re.search(r"\de[-+]?\d", text) and "nan" not in text.lower()
    if abs(x) >= 0.001:  # what is shown is the number, to four significant digits or whole thousands
        assert float(text.replace(",", "")) == pytest.approx(x, rel=5e-4, abs=0.5)


def test_frame_html_blanks_every_kind_of_missing_value():
    frame = pd.DataFrame(
        {
            "rate": [0.1234567, np.nan],
            "arr": [1.463e7, 2.5e-9],
            "quarters": pd.array([3, pd.NA], dtype="Int64"),
            "when": [pd.Timestamp("2026-09-30"), pd.NaT],
            "name": pd.array(["<b>x</b>", pd.NA], dtype="string"),
        }
    )
    html = frame_html(frame)
    for raw in ("NaN", "NaT", "&lt;NA&gt;", "e+07", "e-09", "<b>x</b>"):
        assert raw not in html
    for shown in ("0.1235", "14,630,000", "&lt;0.001", "<td>3</td>", "2026-09-30", "&lt;b&gt;x&lt;/b&gt;"):
        assert shown in html
    assert frame["rate"].isna().sum() == 1  # the data are not changed


def test_outside_a_notebook_nothing_is_registered():
    assert use_readable_tables() is False


def test_paths_are_shown_relative_to_the_project(tmp_path):
    assert paths.shown(paths.project_root() / "data" / "raw") == "data/raw"
    assert paths.shown(tmp_path) == str(tmp_path)  # your own export keeps its full path


def test_cli_tables_read_like_the_pages(capsys):
    from insights.cli.common import echo_frame

    echo_frame(pd.DataFrame({"x": [0.1234567, 7481253.2, np.nan, 1e-6], "n": [1, 2, 3, 4]}))
    out = capsys.readouterr().out
    assert "0.1235" in out and "7,481,253" in out and "<0.001" in out
    assert "e+" not in out and "e-0" not in out and "NaN" not in out


def test_default_row_numbers_are_left_out_named_indexes_kept():
    rows = frame_html(pd.DataFrame({"policy": ["treat everyone"], "plays": [427]}))
    assert "<th>0</th>" not in rows and "treat everyone" in rows
    named = frame_html(pd.DataFrame({"plays": [427]}, index=pd.Index(["treat everyone"], name="policy")))
    assert "treat everyone" in named and "policy" in named


def test_labels_read_as_words_and_the_data_is_untouched():
    frame = pd.DataFrame({"expected_arr_at_risk": [1.5], "n": [2]}, index=pd.Index(["SMB"], name="contract_segment"))
    html = frame_html(frame)
    assert "expected arr at risk" in html and "contract segment" in html and "_" not in html
    assert list(frame.columns) == ["expected_arr_at_risk", "n"] and frame.index.name == "contract_segment"
    wide = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("p_churn", "low"), ("p_churn", "high")]))
    assert "p churn" in frame_html(wide)


def test_points_are_signed_percentage_points_with_one_decimal():
    assert points(0.026) == "+2.6 points"
    assert points(-0.0449) == "-4.5 points"
    assert points(0.0) == "+0.0 points"
    assert points(1 / 3) == "+33.3 points"
