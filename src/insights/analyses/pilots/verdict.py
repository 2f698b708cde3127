"""The pilot readout's verdict in plain words: the decision, the effect, the segments, the next pilot.

Written from a ``readout.Readout`` (nothing recomputed) for the front page's executive summary;
the statistics (interval method, boundaries, tests) stay on the readout page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def _points(x: Any) -> str:
    return f"{100 * x:+.1f}"


def segment_effects(per_stratum: pd.DataFrame) -> str:
    """Per-segment effects as one clause: ``"SMB +3.1 (-4.0 to +10.2), Enterprise -1.0 (...)"``.

    Parameters
    ----------
    per_stratum : pandas.DataFrame
        ``StratifiedResult.per_stratum``: stratum, difference, low, high (renewal-rate points as
        shares).

    Returns
    -------
    str
        One ``segment estimate (low to high)`` per stratum with both arms, in points.
    """
    rows = per_stratum.dropna(subset=["difference"])
    return ", ".join(
        f"{r.stratum} {_points(r.difference)} ({_points(r.low)} to {_points(r.high)})" for r in rows.itertuples()
    )


def verdict(r, followup: dict | None = None) -> str:
    """The readout's decision and effect as plain sentences, with the segment effects and the next pilot.

    Parameters
    ----------
    r : insights.analyses.pilots.readout.Readout
        A pilot readout.
    followup : dict, optional
        ``insights.analyses.pilots.design.followup_size``: accounts, weeks, mde.

    Returns
    -------
    str
        E.g. "Extend: the playbook changed renewal by +1.8 points (plausible range -5.1 to +8.7), so
        the pilot has not shown whether it works. By segment: SMB +3.1 (...). A follow-up pilot needs
        1,262 accounts over 52 weeks to detect +5 points."
    """
    parts = []
    for e in r.effects.values():
        d = e.decision_interval
        clear = d.low > 0 or d.high < 0
        finding = (
            "the effect is clear"
            if clear and d.low > 0
            else "the playbook did worse"
            if clear
            else "the pilot has not shown whether it works"
        )
        arm = "" if len(r.effects) == 1 else f" ({e.treatment})"
        text = (
            f"the playbook{arm} changed renewal by {_points(d.estimate)} points "
            f"(plausible range {_points(d.low)} to {_points(d.high)}), so {finding}."
        )
        if e.stratified is not None and len(e.stratified.per_stratum):
            text += f" By segment: {segment_effects(e.stratified.per_stratum)} points."
        parts.append(text)
    out = f"{r.decision.capitalize()}: " + " ".join(parts)
    if followup and followup.get("accounts"):
        if followup.get("weeks"):
            out += (
                f" A follow-up pilot needs {int(followup['accounts']):,} accounts over {int(followup['weeks'])} weeks "
                f"to detect +{100 * followup['mde']:.0f} points."
            )
        else:
            out += (
                f" A follow-up pilot needs {int(followup['accounts']):,} accounts to detect "
                f"+{100 * followup['mde']:.0f} points, more than renew in the windows considered."
            )
    return out
