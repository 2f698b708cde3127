"""The executive summary of index.html, written from fixture headline documents carrying every agreed key."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from insights.display import money
from insights.report import headlines, summary
from insights.report.execution import NotebookResult, NotebookSpec
from insights.report.runner import METHOD_PAGE, write_index

TOP = pd.DataFrame(
    {
        "account": [f"Acme {i}" for i in range(12)],
        "owner": ["Ann"] * 12,
        "segment": ["Enterprise"] * 12,
        "arr": [513_000.0 - 1000 * i for i in range(12)],
        "renewal_date": ["2026-11-02"] * 12,
        "expected_arr_at_risk": [120_500.0 - 1000 * i for i in range(12)],
        "reason": ["Few users log in"] * 12,
        "next_action": ["Executive business review"] * 12,
        "due_date": ["2026-10-05"] * 12,
    }
)
SEGMENT_PLAYS = pd.DataFrame(
    {
        "segment": ["SMB", "Mid-Market", "Enterprise"],
        "work_on": ["perceived value", "", ""],
        "in_contention": ["", "breadth, satisfaction", ""],
        "confidence": [0.93, 0.6, None],
        "play": ["Value review", "", ""],
        "pilot_accounts": [640, None, None],
        "pilot_weeks": [26, None, None],
        "pilot_mde_points": [5.0, None, None],
    }
)


def write_fixture(folder, churn=0.134, red_arr=24.9e6, loss_90d=1.61e6) -> None:
    """Headline documents with every value key of the issue-16 agreement."""
    headlines.save(
        folder,
        "02_segmentation",
        "Segmentation",
        {"x": "y"},
        values={
            "churn_rate_trailing_4q": churn,
            "churn_window": "2025Q3 to 2026Q2",
            "accounts_to_lower_engagement": 87,
        },
    )
    headlines.save(
        folder,
        "03_health_and_renewals",
        "Renewals",
        {"x": "y"},
        values={
            "renewals_next_quarter_accounts": 416,
            "renewals_next_quarter_arr": 34.84e6,
            "red_band_arr": red_arr,
            "red_band_accounts": 240,
        },
    )
    headlines.save(
        folder,
        "04_churn_risk",
        "Churn risk",
        {"x": "y"},
        table=TOP.set_index("account"),
        values={
            "arr_renewing_90d": 5.62e6,
            "expected_loss_90d": loss_90d,
            "expected_loss_next_renewal": 14.23e6,
            "accounts_renewing_90d": 301,
            "window_days": 90,
            "backtest_quarter": "2026Q2",
            "backtest_forecast_loss": 1.31e6,
            "backtest_realised_loss": 1.21e6,
        },
    )
    headlines.save(
        folder,
        "05_retention_drivers",
        "Drivers",
        {"x": "y"},
        table=SEGMENT_PLAYS.set_index("segment"),
        values={"drivers_overall_first": "perceived value"},
    )
    headlines.save(
        folder,
        "07_pilot_readout",
        "Pilot",
        {"x": "y"},
        values={
            "pilot_verdict": "Extend: +1.8 points, not yet conclusive.",
            "followup_pilot_accounts": 1240,
            "followup_pilot_weeks": 39,
        },
    )


def texts(parts) -> dict[str, list[str]]:
    return {p.key: [s.text for s in p.sentences] for p in parts}


def test_every_sentence_from_full_fixture(tmp_path):
    write_fixture(tmp_path)
    parts = summary.build(headlines.load_all(tmp_path))
    got = texts(parts)
    assert list(got) == ["risk", "accounts", "changes", "segments", "pilot"]
    assert got["risk"] == [
        "$5.62M of ARR renews in the next 90 days (301 accounts); the expected loss on it is $1.61M "
        "(each account's calibrated churn probability x its ARR).",
        "Counting every account at its next renewal (up to a year away), the expected loss is $14.23M.",
        "Renewals due next quarter: 416 accounts, $34.84M ARR.",
        "Logo churn was 13.4% of the renewals due 2025Q3 to 2026Q2.",
    ]
    assert got["segments"] == [
        "SMB: work on perceived value with the Value review play (confidence 93.0%). "
        "A pilot to test it needs 640 accounts over 26 weeks to detect +5.0 points.",
        "Mid-Market: no driver is confidently first; still in contention: breadth, satisfaction.",
    ]
    assert got["pilot"] == [
        "Extend: +1.8 points, not yet conclusive.",
        "A follow-up pilot would need 1,240 accounts over 39 weeks.",
    ]
    # without a previous report: the segment moves and the forecast backtest only
    assert got["changes"] == [
        "87 accounts moved to a less engaged behavioural segment since last quarter.",
        "Churn vs forecast: renewals due in 2026Q2 lost $1.21M of ARR against $1.31M forecast at the start "
        "of that quarter (less than forecast).",
    ]
    accounts = next(p for p in parts if p.key == "accounts")
    assert len(accounts.rows) == 10 and accounts.columns[:4] == ["account", "owner", "segment", "ARR"]
    assert accounts.rows[0][:4] == ["Acme 0", "Ann", "Enterprise", "$513K"] and accounts.rows[0][5] == "$120K"
    assert {s.href.split("#")[0] for p in parts for s in p.sentences} <= {
        f"{s}.html" for s in (summary.RISK, summary.SEGMENTS, summary.RENEWALS, summary.DRIVERS, summary.PILOT)
    }


def test_previous_quarter_beside_this_one_gives_the_moves(tmp_path):
    """Two fake report folders side by side: 2026Q2 and 2026Q3."""
    write_fixture(tmp_path / "2026Q2", churn=0.127, red_arr=22.0e6, loss_90d=1.80e6)
    write_fixture(tmp_path / "2026Q3")
    values, quarter = summary.previous_values(tmp_path / "2026Q3", "2026Q3")
    assert quarter == "2026Q2" and values["red_band_arr"] == 22.0e6
    got = texts(summary.build(headlines.load_all(tmp_path / "2026Q3"), values, quarter))["changes"]
    assert got[0] == "ARR in the red health band is up from $22.00M to $24.90M (240 -> 240 accounts)."
    assert "87 accounts moved to a less engaged behavioural segment since 2026Q2." in got
    assert "Logo churn over the trailing four settled quarters is up from 12.7% to 13.4%." in got
    assert "Expected loss on the ARR renewing in the next 90 days is down from $1.80M to $1.61M." in got
    assert summary.previous_values(tmp_path / "2026Q2", "2026Q2") == (None, "2026Q1")


def test_missing_sections_are_left_out_without_error(tmp_path):
    assert summary.build([]) == []
    headlines.save(tmp_path, "07_pilot_readout", "Pilot", {"x": "y"}, values={"pilot_verdict": "Stop."})
    headlines.save(tmp_path, "04_churn_risk", "Risk", {"x": "y"}, values={"arr_renewing_90d": None})
    parts = summary.build(headlines.load_all(tmp_path))
    assert texts(parts) == {"pilot": ["Stop."]}
    headlines.save(
        tmp_path,
        "07_pilot_readout",
        "Pilot",
        {"x": "y"},
        values={"pilot_verdict": "Stop.", "followup_pilot_accounts": 2400, "followup_pilot_weeks": None},
    )
    assert texts(summary.build(headlines.load_all(tmp_path)))["pilot"][1] == (
        "A follow-up pilot would need 2,400 accounts, more than renew within the windows considered."
    )


@pytest.mark.parametrize(
    ("value", "text"), [(5_620_000, "$5.62M"), (513_400, "$513K"), (940.4, "$940"), (-1_200_000, "-$1.20M")]
)
def test_money(value, text):
    assert money(value) == text


def test_index_shows_summary_first_and_links_the_method_page(tmp_path):
    folder = tmp_path / "2026Q3"
    write_fixture(folder)
    spec = NotebookSpec(file="04_churn_risk.ipynb", title="Churn risk")
    write_index(folder, "2026Q3", [NotebookResult(spec.file, spec.title, "ok", 1.0)], [spec], True, {"accounts": 3})
    page = (folder / "index.html").read_text()
    assert page.index('id="summary"') < page.index("Headlines by section")
    assert "$5.62M of ARR renews in the next 90 days" in page
    assert re.search(r'<a href="04_churn_risk.html">details</a>', page)
    assert f'href="{METHOD_PAGE}"' in page
    method = (folder / METHOD_PAGE).read_text()
    for term in ("Newcombe", "Pseudo-R", "General dominance", "Schoenfeld", "Calibration"):
        assert term in method
    assert "Content-Security-Policy" in method


@pytest.mark.parametrize(
    ("value", "column", "text"),
    [
        (0.1338, "logo_churn", "13.4%"),
        (2982640.69, "churned_arr", "$2.98M"),
        (0.856, "grr", "85.6%"),
        (1457, "accounts", "1,457"),
        (3.14159, "odds_ratio", "3.142"),
        (None, "arr", ""),
    ],
)
def test_headline_cells_carry_their_unit(value, column, text):
    from insights.report.pages import headline_cell

    assert headline_cell(value, column) == text


def test_an_older_per_segment_risk_table_is_not_the_ten_accounts(tmp_path):
    table = pd.DataFrame({"segment": ["SMB"], "arr": [7.5e6], "expected_arr_at_risk": [1.3e6]}).set_index("segment")
    headlines.save(tmp_path, "04_churn_risk", "Risk", {"x": "y"}, table=table)
    assert summary.accounts_part(headlines.load_all(tmp_path), {}) is None


def test_the_ten_accounts_say_where_the_action_comes_from_when_a_pilot_set_some(tmp_path):
    top = TOP.copy()
    top.insert(top.columns.get_loc("due_date"), "action_source", ["pilot p1"] * 3 + ["playbook"] * 9)
    headlines.save(tmp_path, summary.RISK, "Churn risk", {"x": "y"}, table=top.set_index("account"))
    part = summary.accounts_part(headlines.load_all(tmp_path), {})
    assert part.columns[-3:] == ["next action", "action from", "act by"]
    assert [r[-2] for r in part.rows[2:4]] == ["pilot p1", "playbook"]
    write_fixture(tmp_path)  # the 04 table without the column: no "action from"
    assert "action from" not in summary.accounts_part(headlines.load_all(tmp_path), {}).columns
