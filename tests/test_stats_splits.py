"""Purged time split and expanding-window folds (insights.stats.splits) on tiny tables checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.errors import ParameterError
from insights.stats.splits import expanding_time_folds, purged_time_split

D = pd.Timestamp


def _table():
    # observed on three quarter ends; the label is decided at the renewal
    return pd.DataFrame(
        {
            "obs": [D("2025-03-31")] * 3 + [D("2025-06-30")] * 3 + [D("2025-09-30")] * 2,
            "renewal": [
                D("2025-05-01"),
                D("2025-06-29"),
                D("2025-08-01"),
                D("2025-07-15"),
                D("2025-09-20"),
                D("2025-12-01"),
                D("2025-10-10"),
                D("2026-01-01"),
            ],
            "y": [0, 1, 0, 1, 0, np.nan, 1, 0],
        }
    )


def test_purged_split_by_hand():
    t = _table()
    s = purged_time_split(t, "obs", "2025-09-30", pd.Timedelta(days=60), "renewal", label="y")
    # before the cut-off: rows 0-5; renewal + 60 days < 2025-09-30 for rows 0, 1, 3 (6-30, 8-28, 9-13); row 2
    # lands exactly on the cut-off (8-01 + 60 = 9-30: not before it) and row 4 after it
    assert np.flatnonzero(s.train).tolist() == [0, 1, 3]
    assert np.flatnonzero(s.purged).tolist() == [2, 4]  # row 5 has no label: in no mask
    assert np.flatnonzero(s.test).tolist() == [6, 7]
    assert "purge gap of 60 days" in s.method
    early = purged_time_split(t, "obs", "2025-09-30", 0, "renewal", train_until="2025-03-31")
    assert np.flatnonzero(early.train).tolist() == [0, 1, 2]  # observed by train_until, renewal before the cut-off


def test_purge_on_a_numeric_time_without_label_time():
    t = pd.DataFrame({"t": [1.0, 2.0, 3.0, 4.0, 5.0]})
    s = purged_time_split(t, "t", 4, purge=1.5)
    assert s.train.tolist() == [True, True, False, False, False]  # t + 1.5 < 4
    assert s.purged.tolist() == [False, False, True, False, False] and s.test.tolist() == [False] * 3 + [True] * 2


def test_expanding_folds_purge_at_each_fold():
    t = _table()
    folds = expanding_time_folds(t, "obs", pd.Timedelta(0), "renewal", label="y")
    # fold at 2025-06-30: fit on rows observed and renewed before it (0, 1; row 2 renews 8-01); validate rows
    # 3, 4 (row 5 has no label); fold at 2025-09-30: every earlier labelled row renewed before it -> 0-4
    assert [f.cutoff for f in folds] == [D("2025-06-30"), D("2025-09-30")]
    assert np.flatnonzero(folds[0].fit).tolist() == [0, 1] and np.flatnonzero(folds[0].validation).tolist() == [3, 4]
    assert np.flatnonzero(folds[1].fit).tolist() == [0, 1, 2, 3, 4]
    # a fold whose fit rows hold one class is skipped
    t.loc[1, "y"] = 0
    assert [f.cutoff for f in expanding_time_folds(t, "obs", 0, "renewal", label="y")] == [D("2025-09-30")]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"time": "when"}, r"no column\(s\) \['when'\]"),
        ({"time": "txt"}, "must hold dates or numbers"),
        ({"purge": 30}, "time span for a date column"),
        ({"purge": "-5D"}, "must not be negative"),
        ({"train_until": "2025-12-31"}, "must come before the cut-off"),
    ],
)
def test_split_errors(kwargs, message):
    t = _table().assign(txt="a")
    args = {"time": "obs", "cutoff": "2025-09-30", **kwargs}
    with pytest.raises(ParameterError, match=message):
        purged_time_split(t, **args)
