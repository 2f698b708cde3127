"""usage_events -> usage_monthly: DuckDB out of core against a pandas reference, contract errors,
the data window, file layouts, the demo's raw events and the command line."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insights.data import paths
from insights.data.loading import load_tables
from insights.demo import DemoSpec, generate, write_demo
from insights.demo.events import FEATURES, iter_events
from insights.errors import ContractError, ParameterError
from insights.metrics.usage import (
    CONTRACT_COLUMNS,
    MONTHLY_COLUMNS,
    build_usage_monthly,
    definitions,
    usage_monthly_frame,
)
from insights.metrics.usage.reference import monthly_pandas
from insights.metrics.usage.window import Window

NOW = pd.Timestamp("2026-11-01")
REFERENCE = ("accounts", "contracts", "users")


def synthetic_events(users: pd.DataFrame, n: int = 30_000, seed: int = 5) -> pd.DataFrame:
    """Events of the demo's users: skewed activity, some sign-ins, some before activation or outside terms."""
    rng = np.random.default_rng(seed)
    w = rng.lognormal(0, 1.2, len(users))
    pick = rng.choice(len(users), size=n, p=w / w.sum())
    u = users.iloc[pick].reset_index(drop=True)
    lo = pd.to_datetime(u["activated_at"]).fillna(pd.Timestamp("2025-01-01")).clip(lower=pd.Timestamp("2023-10-01"))
    span = (pd.Timestamp("2026-10-01") - lo).dt.total_seconds().to_numpy()
    ts = lo + pd.to_timedelta(np.floor(rng.random(n) * span), unit="s")
    feature = np.array((*FEATURES, "sign_in"))[np.minimum(rng.zipf(1.6, n) - 1, len(FEATURES))]
    return pd.DataFrame(
        {
            "account_id": u["account_id"].astype(str),
            "user_id": u["user_id"].astype(str),
            "ts": ts.astype("datetime64[us]"),
            "feature": feature,
        }
    )


def make_events_dir(demo_dir: Path, target: Path, events: pd.DataFrame | None = None) -> Path:
    """A raw folder with the session demo's reference tables and synthetic events as Parquet."""
    target.mkdir(parents=True, exist_ok=True)
    for name in REFERENCE:
        shutil.copy(demo_dir / f"{name}.csv", target / f"{name}.csv")
    if events is None:
        events = synthetic_events(pd.read_csv(demo_dir / "users.csv"))
    events.to_parquet(target / "usage_events.parquet", index=False)
    return target


@pytest.fixture(scope="module")
def events_dir(demo_dir, tmp_path_factory) -> Path:
    return make_events_dir(demo_dir, tmp_path_factory.mktemp("events") / "raw")


@pytest.fixture(scope="module")
def reference(events_dir):
    tables = {name: pd.read_csv(events_dir / f"{name}.csv") for name in REFERENCE}
    events = pd.read_parquet(events_dir / "usage_events.parquet")
    return tables, events


def _reference_monthly(reference, window=None):
    tables, events = reference
    users = tables["users"].assign(activated_at=pd.to_datetime(tables["users"]["activated_at"]))
    contracts = tables["contracts"].assign(
        start_date=pd.to_datetime(tables["contracts"]["start_date"]),
        end_date=pd.to_datetime(tables["contracts"]["end_date"]),
    )
    return monthly_pandas(events, users, contracts, window)


def test_duckdb_equals_the_pandas_reference(events_dir, reference):
    frame, summary = usage_monthly_frame(events_dir, now=NOW)
    expected = _reference_monthly(reference)
    assert list(frame.columns) == list(MONTHLY_COLUMNS)
    pd.testing.assert_frame_equal(frame, expected)
    assert summary.events_read == summary.events_aggregated == len(reference[1])
    # clean events: one scan, keyed by hashes of the IDs, every hash mapped back to its reference user
    assert summary.keys == "hash" and "rescan" not in summary.seconds
    # every month under contract has a row, with zeros where there was no event
    assert (frame["events"] == 0).any() and (frame.loc[frame["events"] == 0, "active_users"] == 0).all()
    assert frame["depth"].isna().equals(frame["active_users"] == 0)
    # sign-ins are events but not features
    assert frame["distinct_features"].max() <= len(FEATURES)


def test_window_counts_events_outside_and_drops_nothing_silently(events_dir, reference, caplog):
    events = reference[1]
    with caplog.at_level("WARNING"):
        frame, summary = usage_monthly_frame(events_dir, start="2024-01-01", end="2025-12-31", now=NOW)
    before = int((events["ts"] < pd.Timestamp("2024-01-01")).sum())
    after = int((events["ts"] >= pd.Timestamp("2026-01-01")).sum())
    assert before > 0 and after > 0
    assert (summary.events_before_window, summary.events_after_window) == (before, after)
    assert summary.events_aggregated == len(events) - before - after == frame["events"].sum()
    assert "outside the data window" in caplog.text and "outside the window" in summary.describe()
    assert frame["month"].min() == pd.Timestamp("2024-01-01") and frame["month"].max() == pd.Timestamp("2025-12-01")
    expected = _reference_monthly(reference, Window.parse("2024-01-01", "2025-12-31"))
    pd.testing.assert_frame_equal(frame, expected)


def test_hash_keys_that_collide_fall_back_to_the_ids(events_dir, reference, monkeypatch, caplog):
    """A weak hash (5 values) makes reference users share keys: the engine must notice and group by the IDs."""
    monkeypatch.setattr(definitions, "HASH_KEY", "hash({}) % 5")
    with caplog.at_level("INFO", logger="insights.metrics.usage.duckdb_engine"):
        frame, summary = usage_monthly_frame(events_dir, now=NOW)
    pd.testing.assert_frame_equal(frame, _reference_monthly(reference))
    assert summary.keys == "text" and "rescan" in summary.seconds
    assert "collide" in caplog.text


def test_unmapped_ids_are_counted_from_a_scan_keyed_by_the_ids(events_dir, reference, tmp_path, caplog):
    """Hash keys cannot name an unknown user; the second, text-keyed scan counts and shows it."""
    events = reference[1].copy()
    events.loc[events.index[:3], "user_id"] = "U_UNKNOWN"
    target = make_events_dir(events_dir, tmp_path / "raw", events=events)
    with caplog.at_level("INFO", logger="insights.metrics.usage.duckdb_engine"), pytest.raises(ContractError) as info:
        usage_monthly_frame(target, now=NOW)
    assert "3 events match no reference user" in caplog.text
    (hit,) = [v for v in info.value.violations if v.rule == "unknown users.user_id"]
    assert (hit.count, hit.examples) == (3, ("U_UNKNOWN",))


def many_features(events: pd.DataFrame, n_features: int = 200, seed: int = 11) -> pd.DataFrame:
    """The events with ``n_features`` distinct features, one user-month using every one of them."""
    rng = np.random.default_rng(seed)
    names = np.array([f"f{i:03d}" for i in range(n_features)])
    feature = names[rng.integers(0, n_features, len(events))]
    events = events.assign(feature=np.where(events["feature"] == "sign_in", "sign_in", feature))
    # the first n_features events: one user in one month of 2025, every feature once (every bit of every word)
    anchor = events.index[(events["ts"] >= pd.Timestamp("2025-03-01")) & (events["ts"] < pd.Timestamp("2025-03-20"))][0]
    head = events.index[:n_features]
    for column in ("account_id", "user_id", "ts"):
        events.loc[head, column] = events.loc[anchor, column]
    events.loc[head, "feature"] = names
    return events


def test_mask_words_cover_every_feature_code():
    assert [definitions.mask_words(c) for c in (None, 0, 62, 63, 125, 126, 199)] == [1, 1, 1, 2, 2, 3, 4]
    assert definitions.MASK_BITS == 63  # the sign bit is never used, so masks are equal on every engine


def test_mask_sql_transpiles_to_64_bit_spark_sql():
    pytest.importorskip("sqlglot", reason="sqlglot is in the spark extra: pip install -e '.[spark]'")
    codes, groups = (
        definitions.to_spark(definitions.feature_codes_sql(2)),
        definitions.to_spark(definitions.groups_sql(2)),
    )
    monthly = definitions.to_spark(definitions.monthly_sql(2))
    # a plain 1 would shift as a 32-bit INT on Spark: bits 31-62 would be lost
    assert codes.count("SHIFTLEFT(CAST(1 AS BIGINT), CAST(code % 63 AS INT))") == 2 and "code DIV 63 = 1" in codes
    assert "GROUPING SETS" not in groups and "BIT_OR(c.bit_1) AS mask_1" in groups
    assert "CAST(BIT_COUNT(BIT_OR(mask_1)) AS BIGINT)" in monthly and "FROM event_groups" in monthly


@pytest.mark.parametrize("n_features", [63, 64, 200])
def test_more_features_than_one_mask_word_stay_exact(events_dir, reference, tmp_path, n_features):
    events = many_features(reference[1], n_features)
    # a feature used only outside the window is not in features_available, one used only by sign-in
    # months is not counted either
    events.loc[events["ts"] < pd.Timestamp("2024-01-01"), "feature"] = "only_before_window"
    target = make_events_dir(events_dir, tmp_path / "raw", events=events)
    tables = reference[0]
    for window in (None, Window.parse("2024-01-01", "2025-12-31")):
        start, end = (window.start, window.end) if window else (None, None)
        frame, _ = usage_monthly_frame(target, start=start, end=end, now=NOW)
        expected = _reference_monthly((tables, events), window)
        pd.testing.assert_frame_equal(frame, expected)
        assert frame["distinct_features"].max() == n_features
    inside = events[events["ts"] >= pd.Timestamp("2024-01-01")]
    available = inside.loc[inside["feature"] != "sign_in", "feature"].nunique()
    assert available == n_features
    assert np.allclose(frame["feature_share"], frame["distinct_features"] / available)


@pytest.mark.slow
def test_spark_is_exact_with_more_features_than_one_mask_word(spark, events_dir, reference, tmp_path):
    from insights.metrics.usage.spark_engine import usage_monthly_spark

    events = many_features(reference[1].iloc[:6000].reset_index(drop=True), 130)
    target = make_events_dir(events_dir, tmp_path / "raw", events=events)
    expected, _ = usage_monthly_frame(target, now=NOW)
    got, _ = usage_monthly_spark(target, spark=spark, now=NOW)
    assert expected["distinct_features"].max() == 130
    pd.testing.assert_frame_equal(got, expected)


def test_build_writes_processed_parquet_atomically(events_dir):
    summary = build_usage_monthly(events_dir, memory_limit="512MB", now=NOW)
    target = paths.processed_dir() / "usage_monthly.parquet"
    assert Path(summary.output) == target and target.is_file()
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".usage_monthly-")]
    written = pd.read_parquet(target)
    frame, _ = usage_monthly_frame(events_dir, now=NOW)
    assert len(written) == summary.rows == len(frame)
    assert written["events"].sum() == frame["events"].sum()
    assert summary.events_before_activation > 0  # synthetic events of never-activated users


def test_csv_folder_of_files_gives_the_same_result(events_dir, reference, tmp_path):
    target = make_events_dir(events_dir, tmp_path / "raw", events=reference[1].iloc[:0])
    (target / "usage_events.parquet").unlink()
    folder = target / "usage_events"
    folder.mkdir()
    events = reference[1].assign(ts=reference[1]["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    for i, part in enumerate(np.array_split(np.arange(len(events)), 3)):
        events.iloc[part].to_csv(folder / f"part-{i}.csv", index=False)
    frame, _ = usage_monthly_frame(target, now=NOW)
    pd.testing.assert_frame_equal(frame, _reference_monthly(reference))


def _broken(events_dir, reference, tmp_path, change, csv=False):
    events = reference[1].copy()
    if csv:
        events["ts"] = events["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    events = change(events)
    target = make_events_dir(events_dir, tmp_path / "raw", events=events.iloc[:0] if csv else events)
    if csv:
        (target / "usage_events.parquet").unlink()
        events.to_csv(target / "usage_events.csv", index=False)
    with pytest.raises(ContractError) as info:
        usage_monthly_frame(target, now=NOW)
    return info.value


def _set(column, value, rows=slice(0, 7)):
    def change(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[frame.index[rows], column] = value
        return frame

    return change


@pytest.mark.parametrize(
    "kind, change, column, rule, count, csv",
    [
        ("unknown account", _set("account_id", "A_NOPE"), "account_id", "unknown accounts.account_id", 7, False),
        ("unknown user", _set("user_id", "U_NOPE", slice(3, 8)), "user_id", "unknown users.user_id", 5, False),
        ("user of another account", _set("account_id", None, slice(0, 0)), "user_id", "another account", None, False),
        ("unparseable timestamp", _set("ts", "yesterday", slice(0, 4)), "ts", "unparseable timestamp", 4, True),
        (
            "future timestamp",
            _set("ts", pd.Timestamp("2031-01-01 10:00"), slice(0, 6)),
            "ts",
            "in the future",
            6,
            False,
        ),
        ("missing value", _set("feature", None, slice(0, 9)), "feature", "missing value", 9, False),
        ("blank feature", _set("feature", "  ", slice(2, 5)), "feature", "missing value", 3, False),
        ("blank user", _set("user_id", "", slice(0, 2)), "user_id", "missing value", 2, False),
        ("missing column", lambda f: f.drop(columns=["feature"]), "feature", "missing column", 1, False),
    ],
)
def test_bad_events_give_a_contract_error_with_counts(
    events_dir, reference, tmp_path, kind, change, column, rule, count, csv
):
    if kind == "user of another account":  # move 6 events of one user to another real account
        accounts = sorted(reference[1]["account_id"].unique())

        def change(frame):
            first = frame["account_id"].iloc[0]
            other = next(a for a in accounts if a != first)
            frame.loc[frame.index[:6], "account_id"] = other
            return frame

        count = 6
    error = _broken(events_dir, reference, tmp_path, change, csv=csv)
    hits = [v for v in error.violations if v.table == "usage_events" and v.column == column and rule in v.rule]
    assert len(hits) == 1, error.violations
    assert hits[0].count == count
    assert "usage_events" in str(error) and rule in str(error)
    if rule not in ("missing column", "missing value"):
        assert hits[0].examples


def test_a_zone_aware_now_is_the_same_instant_in_utc(events_dir, reference, tmp_path):
    """05:00 at UTC+5 is midnight UTC: three events at 02:00 UTC are in the future (and the rule says so in UTC)."""
    events = reference[1].copy()
    events.loc[events.index[:3], "ts"] = pd.Timestamp("2026-11-01 02:00")
    target = make_events_dir(events_dir, tmp_path / "raw", events=events)
    for now in (pd.Timestamp("2026-11-01 05:00", tz="Etc/GMT-5"), "2026-11-01T05:00:00+05:00"):
        with pytest.raises(ContractError) as info:
            usage_monthly_frame(target, now=now)
        (hit,) = [v for v in info.value.violations if "future" in v.rule]
        assert hit.count == 3 and "after 2026-11-01 00:00:00 UTC" in hit.rule


def test_blank_timestamps_are_missing_not_examples_of_unparseable_ones(events_dir, reference, tmp_path):
    events = reference[1].copy()
    events["ts"] = events["ts"].dt.strftime("%Y-%m-%d %H:%M:%S").astype(object)
    events.loc[events.index[:2], "ts"] = "  "
    events.loc[events.index[2:5], "ts"] = "yesterday"
    target = make_events_dir(events_dir, tmp_path / "raw", events=events.iloc[:0])
    (target / "usage_events.parquet").unlink()
    events.to_csv(target / "usage_events.csv", index=False)
    with pytest.raises(ContractError) as info:
        usage_monthly_frame(target, now=NOW)
    rules = {v.rule.split(" (")[0]: v for v in info.value.violations if v.column == "ts"}
    assert rules["missing value"].count == 2
    assert rules["unparseable timestamp"].count == 3 and rules["unparseable timestamp"].examples == ("yesterday",)


@pytest.mark.parametrize("events_broken", [False, True])
def test_reference_table_problems_come_first(events_dir, reference, tmp_path, events_broken):
    """The reference tables are read while DuckDB scans the events; their errors still win."""
    events = reference[1].drop(columns=["feature"]) if events_broken else reference[1]
    target = make_events_dir(events_dir, tmp_path / "raw", events=events)
    (target / "contracts.csv").unlink()
    with pytest.raises(ContractError) as info:
        usage_monthly_frame(target, now=NOW)
    assert {v.table for v in info.value.violations} == {"contracts"}
    with pytest.raises(ContractError) as info:
        build_usage_monthly(target, tmp_path / "out" / "um.parquet", now=NOW)
    assert {v.table for v in info.value.violations} == {"contracts"}


def test_event_columns_are_the_contract_columns_and_import_needs_no_pandas():
    import subprocess
    import sys

    from insights.data.contract import TABLES

    assert tuple(TABLES["usage_events"].column_names) == definitions.EVENT_COLUMNS
    # pandas and pandera load in the reference-table thread, overlapping the scan: importing the engine (or the
    # command line) must load neither
    for module in ("insights.metrics.usage", "insights.cli.app"):
        code = f"import sys, {module}; print(sorted({{'pandas', 'pandera'}} & set(sys.modules)))"
        assert (
            subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
            == "[]"
        ), module


def test_missing_event_files_and_bad_parameters(events_dir, tmp_path):
    empty = make_events_dir(events_dir, tmp_path / "raw", events=pd.DataFrame({"account_id": []}))
    (empty / "usage_events.parquet").unlink()
    with pytest.raises(ParameterError, match="no usage_events"):
        usage_monthly_frame(empty)
    with pytest.raises(ParameterError, match="memory limit"):
        build_usage_monthly(events_dir, memory_limit="lots")
    with pytest.raises(ParameterError, match="both"):
        usage_monthly_frame(events_dir, start="2024-01-01")


@pytest.fixture(scope="module")
def demo_with_events(tmp_path_factory):
    spec = DemoSpec(n_accounts=60, seed=7)  # 1.7M events, two months with events but no feature
    out = tmp_path_factory.mktemp("demo-events") / "raw"
    write_demo(out, spec, events=True)
    return spec, out


def test_demo_events_aggregate_back_to_the_demo_usage_monthly(demo_with_events):
    spec, out = demo_with_events
    frame, summary = usage_monthly_frame(out, now=NOW)
    demo = load_tables(out).usage_monthly
    got = frame[list(CONTRACT_COLUMNS)]
    want = demo[list(CONTRACT_COLUMNS)].astype(dict.fromkeys(CONTRACT_COLUMNS[2:], "int64"))
    want = want.sort_values(["account_id", "month"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert summary.window == Window(spec.window_start, spec.window_end)
    assert summary.events_before_activation == 0
    # rows where the generator drew events but no feature exist and hold only sign-ins
    assert ((want["events"] > 0) & (want["distinct_features"] == 0)).any()


def test_demo_events_respect_activation_window_and_catalogue(demo_with_events):
    import duckdb

    spec, out = demo_with_events
    first, last, before_activation, other_account, unknown_user = duckdb.sql(f"""
        SELECT min(e.ts), max(e.ts), count_if(e.ts < CAST(u.activated_at AS TIMESTAMP)),
               count_if(u.account_id <> e.account_id), count_if(u.user_id IS NULL)
        FROM read_parquet('{out / "usage_events.parquet"}') AS e
        LEFT JOIN read_csv('{out / "users.csv"}', all_varchar = true) AS u ON u.user_id = e.user_id""").fetchall()[0]
    assert pd.Timestamp(first) >= spec.window_start
    assert pd.Timestamp(last) < spec.window_end + pd.Timedelta(days=1)
    assert (before_activation, other_account, unknown_user) == (0, 0, 0)
    features = {
        r[0]
        for r in duckdb.sql(f"SELECT DISTINCT feature FROM read_parquet('{out / 'usage_events.parquet'}')").fetchall()
    }
    assert features <= set(FEATURES) | {"sign_in"} and len(FEATURES) == 24


def test_demo_events_cover_users_activated_after_a_term_ended_mid_month():
    """A term ends on the 14th and the renewal starts next month; usage_monthly counts a user activated on
    the 27th as active that month. The events must run past the term so that user can be active."""
    spec = DemoSpec(n_accounts=50, seed=3)
    tables = {
        "users": pd.DataFrame(
            {
                "user_id": ["U1", "U2"],
                "account_id": ["A1", "A1"],
                "activated_at": pd.to_datetime(["2026-01-05", "2026-08-27"]),
            }
        ),
        "contracts": pd.DataFrame(
            {
                "contract_id": ["C1", "C2"],
                "account_id": ["A1", "A1"],
                "start_date": pd.to_datetime(["2025-08-15", "2026-09-02"]),
                "end_date": pd.to_datetime(["2026-08-14", "2027-09-01"]),
            }
        ),
        "usage_monthly": pd.DataFrame(
            {
                "account_id": ["A1", "A1"],
                "month": pd.to_datetime(["2026-07-01", "2026-08-01"]),
                "active_users": [1, 2],
                "events": [9, 7],
                "distinct_features": [3, 2],
            }
        ),
    }
    events = pd.concat([t.to_pandas() for t in iter_events(spec, tables)])
    month = events["ts"].dt.to_period("M").dt.to_timestamp()
    per = events.assign(month=month).groupby("month").agg(users=("user_id", "nunique"), events=("ts", "size"))
    assert per.loc[pd.Timestamp("2026-08-01")].tolist() == [2, 7] and per.loc[pd.Timestamp("2026-07-01")].tolist() == [
        1,
        9,
    ]
    august = events[month == pd.Timestamp("2026-08-01")]
    assert (august.loc[august["user_id"] == "U2", "ts"] >= pd.Timestamp("2026-08-27")).all()
    assert events.loc[month == pd.Timestamp("2026-07-01"), "ts"].max() < pd.Timestamp("2026-08-01")


def test_demo_events_are_deterministic():
    spec = DemoSpec(n_accounts=50, seed=5)
    first = next(iter_events(spec, generate(spec)[0], accounts_per_chunk=10))
    again = next(iter_events(spec, generate(spec)[0], accounts_per_chunk=10))
    assert first.num_rows > 0 and first.equals(again)


@pytest.mark.slow
def test_demo_events_leave_every_other_demo_file_unchanged(tmp_path):
    spec = DemoSpec(n_accounts=50, seed=3)
    write_demo(tmp_path / "plain", spec)
    write_demo(tmp_path / "with", spec, events=True)
    plain = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*") if p.is_file())
    assert {p.name for p in (tmp_path / "with").iterdir()} - {p.name for p in (tmp_path / "plain").iterdir()} == {
        "usage_events.parquet"
    }
    for rel in plain:
        assert (tmp_path / "plain" / rel).read_bytes() == (tmp_path / "with" / rel).read_bytes(), rel


def test_cli_usage_monthly(events_dir, tmp_path):
    from typer.testing import CliRunner

    from insights.cli.app import app

    out = tmp_path / "um.parquet"
    result = CliRunner().invoke(
        app, ["usage-monthly", "--data", str(events_dir), "--memory-limit", "1GB", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file() and "account-months" in result.output
    bad = CliRunner().invoke(app, ["usage-monthly", "--data", str(events_dir), "--memory-limit", "huge"])
    assert bad.exit_code == 2 and "memory limit" in bad.output
