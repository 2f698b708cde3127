"""Segment playbooks: per segment, the driver to work on (only at a calibrated confidence), its play, its pilot.

Three inputs, each from its own module:

- the first driver of each segment with its calibrated confidence and the drivers in contention
  (``insights.analyses.drivers.pooling.first_drivers``);
- the play that answers a driver in a segment (``config/playbooks.yaml`` through
  ``insights.analyses.playbooks``), and the driver's name in plain words;
- what a randomised renewal pilot in the segment can detect (``insights.analyses.pilots.design.design_table``):
  the shortest window in which the segment's renewing accounts detect the target increase of the
  renewal rate, or, when no window up to the longest is enough, the longest window and the
  increase it can detect.

A driver's ranking is an association; the pilot is what would show that the play moves renewal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.analyses.playbooks import Playbooks
from insights.errors import ParameterError

#: Columns of ``segment_playbooks`` shown in the report's headline table (shared with the index).
HEADLINE_COLUMNS = (
    "work_on",
    "in_contention",
    "confidence",
    "play",
    "pilot_accounts",
    "pilot_weeks",
    "pilot_mde_points",
)


def segment_pilots(design: pd.DataFrame, start) -> pd.DataFrame:
    """Per segment, the pilot to propose: the shortest window that detects the target, else the longest one.

    Parameters
    ----------
    design : pandas.DataFrame
        Output of ``insights.analyses.pilots.design.design_table`` (segment, quarters, window_end,
        eligible, achievable_mde, enough).
    start : date-like
        First day of the pilot (the weeks are counted from it).

    Returns
    -------
    pandas.DataFrame
        Indexed by segment: pilot_accounts (renewing accounts enrolled, both arms), pilot_quarters,
        pilot_weeks (whole weeks from ``start`` to the window's end, rounded up), pilot_mde_points
        (smallest detectable increase of the renewal rate, points), enough (the target is reached).

    Raises
    ------
    ParameterError
        If a column is missing.
    """
    need = {"segment", "quarters", "window_end", "eligible", "achievable_mde", "enough"}
    missing = sorted(need - set(design.columns))
    if missing:
        raise ParameterError(
            f"design table lacks {missing}; pass insights.analyses.pilots.design.design_table's output."
        )
    start = pd.Timestamp(start)
    recs = []
    for seg, part in design.groupby("segment", sort=False):
        part = part.sort_values("quarters")
        ok = part[part["enough"]]
        row = ok.iloc[0] if len(ok) else part.iloc[-1]
        recs.append(
            {
                "segment": seg,
                "pilot_accounts": int(row["eligible"]),
                "pilot_quarters": int(row["quarters"]),
                "pilot_weeks": int(np.ceil((pd.Timestamp(row["window_end"]) - start).days / 7)),
                "pilot_mde_points": float(row["achievable_mde"]) * 100,
                "enough": bool(len(ok)),
            }
        )
    return pd.DataFrame(recs).set_index("segment")


def _listing(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def segment_playbooks(first: pd.DataFrame, book: Playbooks, pilots: pd.DataFrame) -> pd.DataFrame:
    """One row per segment: what to work on (or what is in contention), the play and the pilot that would test it.

    Parameters
    ----------
    first : pandas.DataFrame
        ``pooling.first_drivers``' result (first, effect, effect_low, effect_high, p_first,
        confidence, recommended, in_contention), indexed by segment.
    book : Playbooks
        ``insights.analyses.playbooks.load_playbooks()``.
    pilots : pandas.DataFrame
        ``segment_pilots``' result; a segment missing from it gets no pilot.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment: work_on (the recommended driver in plain words, or ``""``),
        in_contention (plain words when no driver is confidently first, else ``""``), confidence
        (calibrated, 0-1), play (the play's name; ``""`` when nothing is recommended), play_key,
        driver (the first driver's key), effect, effect_low, effect_high (log-odds per SD),
        pilot_accounts, pilot_weeks, pilot_mde_points, sentence (the plain statement for the page).
    """
    recs = []
    for key, r in first.iterrows():
        seg = str(key)
        pilot: dict | None = pilots.loc[seg].to_dict() if seg in pilots.index else None
        chosen = isinstance(r["recommended"], str) and bool(r["recommended"])
        play = book.play_for(r["first"], seg) if chosen else None
        contention = [] if chosen else [book.label(d) for d in r["in_contention"]]
        rec = {
            "segment": seg,
            "work_on": book.label(r["first"]) if chosen else "",
            "in_contention": _listing(contention) if contention else "",
            "confidence": float(r["confidence"]),
            "play": play.name if play else "",
            "play_key": play.key if play else "",
            "driver": r["first"],
            "effect": r["effect"],
            "effect_low": r["effect_low"],
            "effect_high": r["effect_high"],
            "pilot_accounts": int(pilot["pilot_accounts"]) if pilot is not None else pd.NA,
            "pilot_weeks": int(pilot["pilot_weeks"]) if pilot is not None else pd.NA,
            "pilot_mde_points": float(pilot["pilot_mde_points"]) if pilot is not None else np.nan,
        }
        if chosen:
            text = f"In {seg}, work on {rec['work_on']}" + (f": {rec['play']}" if play else "")
            text += f" (confidence {rec['confidence']:.0%})"
        else:
            text = f"In {seg} no driver is confidently first: {rec['in_contention']} are in contention"
            text += f" (the leader, {book.label(r['first'])}, has confidence {rec['confidence']:.0%})"
        if pilot is not None and np.isfinite(rec["pilot_mde_points"]):
            text += (
                f"; a pilot of {rec['pilot_accounts']:,} renewing accounts over {rec['pilot_weeks']} weeks detects "
                f"+{rec['pilot_mde_points']:.1f} points of renewal rate"
                + ("" if pilot["enough"] else " (the longest window considered; short of the target)")
            )
        rec["sentence"] = text + "."
        recs.append(rec)
    out = pd.DataFrame(recs).set_index("segment")
    out["pilot_accounts"] = out["pilot_accounts"].astype("Int64")
    out["pilot_weeks"] = out["pilot_weeks"].astype("Int64")
    return out
