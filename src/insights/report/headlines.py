"""Headline numbers a notebook hands to the report's front page.

Each notebook of the report saves its few headline numbers (and at most one small
table) with ``save``; the report runner collects them with ``load_all`` and shows
them on ``index.html``, so the front page repeats the notebooks' own numbers and
never recomputes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data.output_files import write_atomic

FOLDER = "headlines"


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.strftime("%Y-%m-%d")
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def save(
    output_dir,
    section: str,
    title: str,
    items: dict,
    table: pd.DataFrame | None = None,
    note: str = "",
    values: dict | None = None,
) -> Path:
    """Write one notebook's headlines as ``<output_dir>/headlines/<section>.json`` (atomic).

    Parameters
    ----------
    output_dir : path
        The notebook's output folder (the report folder when run by the report).
    section : str
        Short key, also the notebook stem, e.g. ``"03_health_and_renewals"``.
    title : str
        Heading on the front page.
    items : dict
        Label -> already formatted text (e.g. ``"326 accounts, $21.8M ARR"``).
    table : pandas.DataFrame, optional
        One small table (index kept as the first column).
    note : str
        One line of context (method, caveat).
    values : dict, optional
        Quantity key -> raw number (or text) behind the items, e.g. ``{"arr_renewing_90d": 5.6e6}``:
        what the front page's executive summary is written from, and what the consistency test
        compares across pages. Keys are unique across sections.

    Returns
    -------
    pathlib.Path
        The JSON file written.
    """
    folder = Path(output_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"section": section, "title": title, "items": {str(k): str(v) for k, v in items.items()}, "note": note}
    if values:
        doc["values"] = {str(k): _plain(v) for k, v in values.items()}
    if table is not None:
        t = table.reset_index()
        doc["table"] = {
            "columns": [str(c) for c in t.columns],
            "rows": [[_plain(v) for v in row] for row in t.itertuples(index=False)],
        }
    return write_atomic(folder / f"{section}.json", json.dumps(doc, indent=1, default=str))


def load_all(report_folder) -> list[dict]:
    """Every saved headline document of a report folder, in section order.

    Parameters
    ----------
    report_folder : str or os.PathLike
        The report folder (its ``headlines/`` subfolder is read).

    Returns
    -------
    list of dict
        The documents written by ``save``, sorted by file name; empty if there are none.
    """
    folder = Path(report_folder) / FOLDER
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
