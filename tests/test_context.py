"""The notebook context: ``ctx = insights.setup(quarter, data_dir)`` on the small test demo."""

import subprocess
import sys

import pandas as pd
import pytest

import insights
from insights import context
from insights.analyses.segments import rules
from insights.data import paths
from insights.data.settings import load_settings
from insights.errors import ContractError, ParameterError
from insights.metrics import snapshots
from insights.metrics.periods import latest_complete_quarter


@pytest.fixture(scope="module")
def ctx():
    return insights.setup()


def test_setup_holds_tables_settings_quarter_and_folders(ctx, demo_dir):
    reference = context.load(demo_dir)
    assert ctx.tables.names == reference.names and ctx.tables.as_of == reference.as_of
    for name in reference.names:
        pd.testing.assert_frame_equal(ctx.tables[name], reference[name])
    assert ctx.settings == load_settings()
    assert ctx.quarter == latest_complete_quarter(reference.as_of)
    assert ctx.data_dir == demo_dir.resolve()
    assert ctx.output_dir == paths.processed_dir() / "actions" / str(ctx.quarter)
    assert ctx.seed == context.DEFAULT_SEED and ctx.horizon_days == 365
    assert ctx.demo is True and ctx.banner == context.DEMO_BANNER
    assert ctx.summary().startswith(context.DEMO_BANNER) and f"**{ctx.quarter}**" in ctx.summary()
    assert ctx._repr_markdown_() == ctx.summary() and str(ctx.quarter) in repr(ctx)


def test_setup_takes_quarter_output_folder_seed_and_horizon(ctx, tmp_path):
    earlier = ctx.quarter.shift(-2)
    other = insights.setup(str(earlier), None, tmp_path / "out", seed=3, horizon_days=90)
    assert other.quarter == earlier and other.output_dir == (tmp_path / "out").resolve()
    assert other.seed == 3 and other.horizon_days == 90
    assert other.observation_dates[-1] == earlier.end
    days = (other.snapshots["renewal_date"] - other.snapshots["obs_date"]).dt.days
    assert other.snapshots["renewal_in_horizon"].equals(days.between(0, 90))


def test_snapshots_are_the_snapshot_table_with_rule_segments(ctx):
    tables, settings = ctx.tables, ctx.settings
    dates = snapshots.observation_dates(tables, last=ctx.quarter.end)
    assert ctx.observation_dates == dates and dates[-1] == ctx.quarter.end
    built = snapshots.build(
        tables, dates=dates, grace_days=settings.grace_days, features_available=settings.features_available
    )
    expected = pd.concat([built, rules.rule_segments(built, tables.accounts)], axis=1)
    pd.testing.assert_frame_equal(ctx.snapshots, expected)
    assert set(ctx.snapshots["segment"]) <= {t.name for t in rules.load_value_tiers()}
    two = dates[-2:]
    pd.testing.assert_frame_equal(
        ctx.snapshots_at(two),
        snapshots.build(
            tables, dates=two, grace_days=settings.grace_days, features_available=settings.features_available
        ),
    )


def test_snapshots_are_built_once_and_only_when_asked(monkeypatch):
    calls = []
    build = snapshots.build

    def counting_build(*args, **kwargs):
        calls.append(kwargs.get("dates"))
        return build(*args, **kwargs)

    monkeypatch.setattr(snapshots, "build", counting_build)
    fresh = insights.setup()
    assert calls == [] and "snapshots" not in vars(fresh) and "observation_dates" not in vars(fresh)
    first = fresh.snapshots
    assert fresh.snapshots is first and len(calls) <= 1  # built, or loaded from an earlier test's build


def test_snapshots_are_built_once_per_data_settings_and_code(monkeypatch, tmp_path):
    from insights.data import frame_cache

    monkeypatch.setenv("INSIGHTS_PROCESSED_DIR", str(tmp_path / "processed"))  # an empty cache
    calls = []
    build = snapshots.build
    monkeypatch.setattr(snapshots, "build", lambda *a, **k: calls.append(k.get("horizon_days")) or build(*a, **k))
    first = insights.setup().snapshots
    assert calls == [365]
    second = insights.setup().snapshots  # another notebook of the same report: loaded, not built
    assert calls == [365]
    pd.testing.assert_frame_equal(second, first, check_exact=True)
    shorter = insights.setup(horizon_days=90).snapshots  # another setting: another entry
    assert calls == [365, 90] and not shorter["renewal_in_horizon"].equals(first["renewal_in_horizon"])
    assert len(list((tmp_path / "processed" / frame_cache.FOLDER).glob("snapshots-*.parquet"))) == 2


def test_derived_table_keys_change_with_inputs_and_code(tmp_path):
    from insights.data import frame_cache

    code = tmp_path / "code.py"
    code.write_text("x = 1\n")
    key = frame_cache.cache_key({"dates": ["2026-09-30"], "horizon_days": 365}, [code])
    assert key == frame_cache.cache_key({"horizon_days": 365, "dates": ["2026-09-30"]}, [code])
    assert key != frame_cache.cache_key({"dates": ["2026-09-30"], "horizon_days": 90}, [code])
    code.write_text("x = 2\n")
    assert key != frame_cache.cache_key({"dates": ["2026-09-30"], "horizon_days": 365}, [code])


def test_bad_quarter_and_parameters_raise_parameter_errors(ctx, tmp_path):
    after = ctx.quarter.shift(4)
    with pytest.raises(ParameterError, match=f"quarter {after} is not covered by the data"):
        insights.setup(str(after))
    with pytest.raises(ParameterError, match="quarter"):
        insights.setup("Q3 2026")
    for bad in (-1, 1.5, True, "7"):
        with pytest.raises(ParameterError, match="seed must be a whole number"):
            insights.setup(seed=bad)
    with pytest.raises(ParameterError, match="horizon_days must be a whole number"):
        insights.setup(horizon_days=-30)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="holds no raw tables"):
        insights.setup(None, tmp_path / "empty")


def test_real_data_has_no_banner_and_broken_data_lists_its_violations(demo_copy):
    (demo_copy / "ground_truth.json").unlink()
    real = insights.setup(None, demo_copy)
    assert real.demo is False and real.banner is None and not real.summary().startswith("**DEMO")
    accounts = pd.read_csv(demo_copy / "accounts.csv", dtype=str)
    accounts.loc[0, "employees"] = "-5"
    accounts.to_csv(demo_copy / "accounts.csv", index=False)
    with pytest.raises(ContractError, match="accounts"):
        insights.setup(None, demo_copy)


def test_import_insights_stays_light():
    code = (
        "import sys, insights; light = sorted({'pandas', 'pandera'} & set(sys.modules)); "
        "assert 'setup' in dir(insights); print(light, insights.setup.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["[]", "insights.context"]
    assert insights.setup is context.setup and insights.Context is context.Context
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        insights.nothing
