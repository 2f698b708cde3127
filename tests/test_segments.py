"""Rule-based segments: tier and rule validation, growth potential, segment columns."""

import numpy as np
import pandas as pd
import pytest

from insights.analyses.segments import rules as segments
from insights.data.loading import load_tables
from insights.errors import ConfigError
from insights.metrics import snapshots

GOOD = """
contract_value:
  tiers:
    - {name: S, min: 0, max: 100}
    - {name: M, min: 100, max: 1000}
    - {name: L, min: 1000, max: null}
attributes: {industry: industry, geography: region}
growth_potential:
  - {name: soon, horizon_months: 6, utilisation_min: 0.9}
  - {name: later, horizon_months: 24}
"""


def _write(tmp_path, text):
    p = tmp_path / "segments.yaml"
    p.write_text(text)
    return p


def test_repository_rules_are_valid():
    rules = segments.load_rules()
    assert [t.name for t in rules.tiers] == ["SMB", "Mid-Market", "Enterprise"]
    assert rules.growth[-1].conditions == ()


@pytest.mark.parametrize(
    "bad,message",
    [
        ("- {name: S, min: 0, max: 100}\n    - {name: M, min: 50, max: null}", "overlap"),
        ("- {name: S, min: 0, max: 100}\n    - {name: M, min: 200, max: null}", "gap"),
        ("- {name: S, min: 10, max: 100}\n    - {name: M, min: 100, max: null}", "start at 0"),
        ("- {name: S, min: 0, max: 100}\n    - {name: M, min: 100, max: 500}", "max: null"),
        ("- {name: S, min: 0, max: lots}", "numeric"),
    ],
)
def test_bad_tiers_are_refused(tmp_path, bad, message):
    text = f"contract_value:\n  tiers:\n    {bad}\n"
    with pytest.raises(ConfigError, match=message):
        segments.load_value_tiers(_write(tmp_path, text))


@pytest.mark.parametrize(
    "replace,message",
    [
        (("industry: industry", "industry: sector"), "unknown column 'sector'"),
        (("utilisation_min: 0.9", "happiness_min: 0.9"), "unknown condition"),
        (
            ("- {name: later, horizon_months: 24}", "- {name: later, horizon_months: 24, utilisation_max: 0.5}"),
            "last growth rule",
        ),
    ],
)
def test_bad_rules_are_refused(tmp_path, replace, message):
    with pytest.raises(ConfigError, match=message):
        segments.load_rules(_write(tmp_path, GOOD.replace(*replace)))


def test_growth_potential_first_match_wins(tmp_path):
    rules = segments.load_rules(_write(tmp_path, GOOD))
    frame = pd.DataFrame({"utilisation": [0.95, 0.5, np.nan], "revenue_growth": [0.0, 0.3, 0.1]})
    g = segments.growth_potential(frame, rules.growth)
    assert g["growth_potential"].tolist() == ["soon", "later", "later"]
    assert g["growth_horizon_months"].tolist() == [6, 24, 24]


def test_value_tier_bounds(tmp_path):
    tiers = segments.load_value_tiers(_write(tmp_path, GOOD))
    assert segments.value_tier([0, 99.99, 100, 999, 1000, 1e9], tiers).tolist() == ["S", "S", "M", "M", "L", "L"]


def test_rule_segments_on_snapshots(demo_dir):
    tables = load_tables(demo_dir)
    snap = snapshots.build(tables, dates=["2026-06-30"])
    seg = segments.rule_segments(snap, tables.accounts)
    assert list(seg.columns) == [
        "segment",
        "industry",
        "geography",
        "line_of_business",
        "growth_potential",
        "growth_horizon_months",
    ]
    assert seg["segment"].notna().all() and seg["growth_potential"].notna().all()
    acc = tables.accounts.set_index("account_id")
    assert (seg["geography"].to_numpy() == acc.loc[snap["account_id"], "region"].to_numpy()).all()
    six = seg["growth_horizon_months"] == 6
    assert (snap.loc[six, "utilisation"] >= 0.9).all() and (snap.loc[six, "revenue_growth"] >= 0).all()


def test_tier_names_in_tier_order(tmp_path):
    shuffled = GOOD.replace("    - {name: S, min: 0, max: 100}\n", "").replace(
        "    - {name: L, min: 1000, max: null}\n",
        "    - {name: L, min: 1000, max: null}\n    - {name: S, min: 0, max: 100}\n",
    )
    tiers = segments.load_value_tiers(_write(tmp_path, shuffled))
    assert segments.tier_names(tiers) == ["S", "M", "L"]
    assert segments.tier_names() == ["SMB", "Mid-Market", "Enterprise"]
