"""The executive summary at the top of ``index.html``: plain sentences written from the headline values.

Every sentence is built from the raw ``values`` the notebooks saved with
``insights.report.headlines.save`` (never recomputed here), and links to the page that shows the
number. A section whose values are missing (a skipped notebook, an older report) is left out of
the summary; nothing here raises on a missing key. The keys are the ones agreed for issue 16:

- 02: ``churn_rate_trailing_4q`` (+ ``churn_window``, ``accounts_to_lower_engagement``);
- 03: ``renewals_next_quarter_accounts``, ``renewals_next_quarter_arr``, ``red_band_arr``,
  ``red_band_accounts``;
- 04: ``arr_renewing_90d``, ``expected_loss_90d``, ``expected_loss_next_renewal``,
  ``accounts_renewing_90d``, ``window_days`` and the table of the ten accounts with the most
  expected ARR at risk; ``backtest_quarter``, ``backtest_forecast_loss``, ``backtest_realised_loss``;
- 05: the per-segment table (segment, work_on, in_contention, confidence, play, pilot_accounts,
  pilot_weeks, pilot_mde_points) and ``drivers_overall_first``;
- 07: ``pilot_verdict``, ``followup_pilot_accounts``, ``followup_pilot_weeks``.

With the previous quarter's report beside this one (``reports/<previous quarter>/headlines``),
``changes`` compares the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from insights.display import money, percent
from insights.metrics.periods import parse_quarter
from insights.report import headlines

#: Page of each headline section (the notebook's stem).
RISK, SEGMENTS, RENEWALS, DRIVERS, PILOT = (
    "04_churn_risk",
    "02_segmentation",
    "03_health_and_renewals",
    "05_retention_drivers",
    "07_pilot_readout",
)
#: Columns of the ten-accounts table, in the order shown, with their headings.
TOP_ACCOUNT_COLUMNS = {
    "account": "account",
    "owner": "owner",
    "segment": "segment",
    "arr": "ARR",
    "renewal_date": "renews on",
    "expected_arr_at_risk": "expected ARR at risk",
    "reason": "why",
    "next_action": "next action",
    "action_source": "action from",
    "due_date": "act by",
}
MONEY_COLUMNS = {"arr", "expected_arr_at_risk"}


@dataclass(frozen=True)
class Sentence:
    """One claim of the summary and the page that shows its number.

    Attributes
    ----------
    text : str
        The plain sentence (escaped when rendered).
    href : str
        The page (``<stem>.html``, optionally with an anchor) the sentence links to.
    """

    text: str
    href: str


@dataclass
class Part:
    """One part of the summary: a heading, its sentences and at most one small table.

    Attributes
    ----------
    key : str
        Short id (``"risk"``, ``"accounts"``, ``"changes"``, ``"segments"``, ``"pilot"``).
    heading : str
        The question the part answers.
    sentences : list of Sentence
        Its claims.
    columns : list of str
        Headings of its table (empty without one).
    rows : list of list of str
        The table's formatted cells.
    """

    key: str
    heading: str
    sentences: list[Sentence] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _values(docs: list[dict]) -> dict:
    """Every headline value of a report, keyed by value name (keys are unique across sections)."""
    out: dict = {}
    for d in docs:
        out.update(d.get("values") or {})
    return out


def _table(docs: list[dict], section: str) -> list[dict]:
    """The saved headline table of one section as records (empty when absent)."""
    for d in docs:
        if d.get("section") == section and d.get("table"):
            cols = d["table"]["columns"]
            return [dict(zip(cols, row)) for row in d["table"]["rows"]]
    return []


def _have(values: dict, *keys: str) -> bool:
    """Whether every key holds a number or text (not missing, not NaN)."""
    for k in keys:
        v = values.get(k)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return False
    return True


def risk_part(values: dict) -> Part | None:
    """ARR renewing in the window and the expected loss on it, and the one churn rate.

    Parameters
    ----------
    values : dict
        Headline values of the report.

    Returns
    -------
    Part or None
        None when neither the risk nor the churn-rate values are there.
    """
    part = Part("risk", "How much ARR is at risk, and when")
    if _have(values, "arr_renewing_90d", "expected_loss_90d", "accounts_renewing_90d", "window_days"):
        days = int(values["window_days"])
        part.sentences.append(
            Sentence(
                f"{money(values['arr_renewing_90d'])} of ARR renews in the next {days} days "
                f"({int(values['accounts_renewing_90d']):,} accounts); the expected loss on it is "
                f"{money(values['expected_loss_90d'])} (each account's calibrated churn probability x its ARR).",
                f"{RISK}.html",
            )
        )
    if _have(values, "expected_loss_next_renewal"):
        part.sentences.append(
            Sentence(
                f"Counting every account at its next renewal (up to a year away), the expected loss is "
                f"{money(values['expected_loss_next_renewal'])}.",
                f"{RISK}.html",
            )
        )
    if _have(values, "renewals_next_quarter_accounts", "renewals_next_quarter_arr"):
        part.sentences.append(
            Sentence(
                f"Renewals due next quarter: {int(values['renewals_next_quarter_accounts']):,} accounts, "
                f"{money(values['renewals_next_quarter_arr'])} ARR.",
                f"{RENEWALS}.html",
            )
        )
    if _have(values, "churn_rate_trailing_4q", "churn_window"):
        part.sentences.append(
            Sentence(
                f"Logo churn was {percent(values['churn_rate_trailing_4q'])} of the renewals due "
                f"{values['churn_window']}.",
                f"{SEGMENTS}.html",
            )
        )
    return part if part.sentences else None


def _cell(column: str, value) -> str:
    """A cell of the ten-accounts table as text: money for ARR columns, blank for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column in MONEY_COLUMNS and isinstance(value, int | float):
        return money(value)
    return str(value)


def accounts_part(docs: list[dict], values: dict) -> Part | None:
    """The ten accounts with the most expected ARR at risk in the window (04's headline table).

    Parameters
    ----------
    docs : list of dict
        Headline documents of the report.
    values : dict
        Headline values of the report (for the window's length).

    Returns
    -------
    Part or None
        None without the 04 table.
    """
    records = _table(docs, RISK)[:10]
    if not records or "account" not in records[0]:  # an older 04 table (per segment) is not the worklist
        return None
    days = int(values["window_days"]) if _have(values, "window_days") else None
    window = f"renewing in the next {days} days" if days else "in the window"
    columns = [c for c in TOP_ACCOUNT_COLUMNS if any(c in r for r in records)]
    if "owner" in columns and all(_cell("owner", r.get("owner")) == "" for r in records):
        columns.remove("owner")
    part = Part(
        "accounts",
        "Which ten accounts to call",
        [
            Sentence(
                f"The {len(records)} accounts {window} with the most expected ARR at risk; "
                "the full list is worklist.csv.",
                f"{RISK}.html",
            )
        ],
        [TOP_ACCOUNT_COLUMNS[c] for c in columns],
        [[_cell(c, r.get(c)) for c in columns] for r in records],
    )
    return part


def segments_part(docs: list[dict], values: dict) -> Part | None:
    """Which driver to work on in each segment, with which play (05's table).

    Parameters
    ----------
    docs : list of dict
        Headline documents of the report.
    values : dict
        Headline values of the report.

    Returns
    -------
    Part or None
        None without the 05 per-segment table.
    """
    rows = _table(docs, DRIVERS)
    if not rows:
        return None
    part = Part("segments", "What to do in each segment")
    for r in rows:
        seg = r.get("segment")
        if not seg:
            continue
        work_on, contention = r.get("work_on") or "", r.get("in_contention") or ""
        if work_on:
            text = f"{seg}: work on {work_on}"
            if r.get("play"):
                text += f" with the {r['play']} play"
            if _have(r, "confidence"):
                text += f" (confidence {percent(r['confidence'])})"
            text += "."
        elif contention:
            text = f"{seg}: no driver is confidently first; still in contention: {contention}."
        else:
            continue
        if _have(r, "pilot_accounts", "pilot_weeks"):
            text += (
                f" A pilot to test it needs {int(r['pilot_accounts']):,} accounts over "
                f"{int(r['pilot_weeks'])} weeks"
                + (f" to detect +{float(r['pilot_mde_points']):.1f} points." if _have(r, "pilot_mde_points") else ".")
            )
        part.sentences.append(Sentence(text, f"{DRIVERS}.html"))
    if not part.sentences and _have(values, "drivers_overall_first"):
        part.sentences.append(
            Sentence(f"Overall, the driver most tied to churn is {values['drivers_overall_first']}.", f"{DRIVERS}.html")
        )
    return part if part.sentences else None


def pilot_part(values: dict) -> Part | None:
    """The pilot verdict and the size and length of a follow-up pilot (07).

    Parameters
    ----------
    values : dict
        Headline values of the report.

    Returns
    -------
    Part or None
        None without ``pilot_verdict``.
    """
    if not _have(values, "pilot_verdict"):
        return None
    part = Part("pilot", "What the pilot showed", [Sentence(str(values["pilot_verdict"]), f"{PILOT}.html")])
    if _have(values, "followup_pilot_accounts", "followup_pilot_weeks"):
        part.sentences.append(
            Sentence(
                f"A follow-up pilot would need {int(values['followup_pilot_accounts']):,} accounts "
                f"over {int(values['followup_pilot_weeks'])} weeks.",
                f"{PILOT}.html",
            )
        )
    elif _have(values, "followup_pilot_accounts"):
        part.sentences.append(
            Sentence(
                f"A follow-up pilot would need {int(values['followup_pilot_accounts']):,} accounts, more than "
                "renew within the windows considered.",
                f"{PILOT}.html",
            )
        )
    return part


def _move(now: float, before: float, fmt) -> str:
    """``"up from $1.20M to $1.50M"`` / ``"down ..."`` / ``"unchanged at ..."``."""
    if round(now, 6) == round(before, 6):
        return f"unchanged at {fmt(now)}"
    return f"{'up' if now > before else 'down'} from {fmt(before)} to {fmt(now)}"


def changes_part(values: dict, previous: dict | None, previous_quarter: str = "last quarter") -> Part | None:
    """What changed since the previous quarter's report: health bands, segments, churn vs forecast.

    Parameters
    ----------
    values : dict
        Headline values of this report.
    previous : dict or None
        Headline values of the previous quarter's report (None when there is none).
    previous_quarter : str
        Its quarter, as named in the sentences.

    Returns
    -------
    Part or None
        The comparisons both reports hold values for, plus the forecast backtest of the last
        settled quarter (which needs no previous report); None when there is nothing to say.
    """
    part = Part("changes", f"What changed since {previous_quarter}")
    prev = previous or {}
    if _have(values, "red_band_arr", "red_band_accounts") and _have(prev, "red_band_arr", "red_band_accounts"):
        part.sentences.append(
            Sentence(
                f"ARR in the red health band is {_move(values['red_band_arr'], prev['red_band_arr'], money)} "
                f"({int(prev['red_band_accounts']):,} -> {int(values['red_band_accounts']):,} accounts).",
                f"{RENEWALS}.html",
            )
        )
    if _have(values, "accounts_to_lower_engagement"):
        part.sentences.append(
            Sentence(
                f"{int(values['accounts_to_lower_engagement']):,} accounts moved to a less engaged behavioural "
                f"segment since {previous_quarter}.",
                f"{SEGMENTS}.html#Who-moved-between-segments-since-last-quarter",
            )
        )
    if _have(values, "churn_rate_trailing_4q") and _have(prev, "churn_rate_trailing_4q"):
        part.sentences.append(
            Sentence(
                "Logo churn over the trailing four settled quarters is "
                f"{_move(values['churn_rate_trailing_4q'], prev['churn_rate_trailing_4q'], percent)}.",
                f"{SEGMENTS}.html",
            )
        )
    if _have(values, "expected_loss_90d") and _have(prev, "expected_loss_90d"):
        part.sentences.append(
            Sentence(
                "Expected loss on the ARR renewing in the next "
                f"{int(values.get('window_days') or 90)} days is "
                f"{_move(values['expected_loss_90d'], prev['expected_loss_90d'], money)}.",
                f"{RISK}.html",
            )
        )
    if _have(values, "backtest_quarter", "backtest_forecast_loss", "backtest_realised_loss"):
        forecast, realised = float(values["backtest_forecast_loss"]), float(values["backtest_realised_loss"])
        part.sentences.append(
            Sentence(
                f"Churn vs forecast: renewals due in {values['backtest_quarter']} lost {money(realised)} of ARR "
                f"against {money(forecast)} forecast at the start of that quarter "
                f"({'more' if realised > forecast else 'less'} than forecast).",
                f"{RISK}.html#Forecast-vs-realised-loss",
            )
        )
    return part if part.sentences else None


def previous_values(report_folder: Path, quarter: str) -> tuple[dict | None, str]:
    """Headline values of the previous quarter's report, when its folder sits beside this one.

    Parameters
    ----------
    report_folder : pathlib.Path
        This report's folder (``reports/<quarter>`` or a temporary folder beside it).
    quarter : str
        This report's quarter.

    Returns
    -------
    tuple of (dict or None, str)
        The previous report's values (None when there is no such report or it has no values)
        and the previous quarter's name.
    """
    prev_q = str(parse_quarter(quarter).shift(-1))
    values = _values(headlines.load_all(Path(report_folder).parent / prev_q))
    return (values or None), prev_q


def build(docs: list[dict], previous: dict | None = None, previous_quarter: str = "last quarter") -> list[Part]:
    """The executive summary of a report, in reading order.

    Parameters
    ----------
    docs : list of dict
        The report's headline documents (``headlines.load_all``).
    previous : dict, optional
        The previous quarter's headline values (``previous_values``).
    previous_quarter : str
        The previous quarter's name.

    Returns
    -------
    list of Part
        Risk and churn, the ten accounts, what changed, what to do per segment, the pilot; each
        part only when its values are there (an empty list when none are).
    """
    values = _values(docs)
    parts = [
        risk_part(values),
        accounts_part(docs, values),
        changes_part(values, previous, previous_quarter),
        segments_part(docs, values),
        pilot_part(values),
    ]
    return [p for p in parts if p is not None]
