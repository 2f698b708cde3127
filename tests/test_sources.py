"""Source mapping files: renamed exports become the contract tables; every mapping mistake at once."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from insights.context import load
from insights.data.loading import load_tables
from insights.data.sources import spec as source_spec
from insights.data.sources.locate import DataSource, locate, prepare
from insights.data.sources.snapshot import snapshots_root
from insights.data.sources.spec import TableMapping
from insights.data.sources.transform import ChunkMapper, as_text
from insights.errors import ConfigError, MappingError, ParameterError

PLAIN = ("users", "usage_monthly", "support_tickets", "surveys", "cs_activities", "integrations")
INDUSTRY_CODES = {"Software": "SW", "Manufacturing": "MFG"}  # the others are upper-cased


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def export(tiny_demo_dir, tmp_path, monkeypatch):
    """The tiny demo written as a CRM would export it: other names, US dates, industry codes, ARR in thousands."""
    monkeypatch.setenv("INSIGHTS_DATA_DIR", str(tmp_path / "raw"))  # no recorded pilot (see the pilot test)
    out = tmp_path / "export"
    out.mkdir()
    accounts = pd.read_csv(tiny_demo_dir / "accounts.csv", dtype=str)
    codes = {v: INDUSTRY_CODES.get(v, v.upper()) for v in accounts["industry"].unique()}
    accounts = accounts.assign(industry=accounts["industry"].map(codes)).rename(
        columns={"account_id": "Account ID", "name": "Account Name", "industry": "Industry"}
    )
    accounts.to_csv(out / "crm_accounts.csv", index=False)
    contracts = pd.read_csv(tiny_demo_dir / "contracts.csv", dtype=str)
    for col in ("start_date", "end_date"):
        contracts[col] = pd.to_datetime(contracts[col]).dt.strftime("%m/%d/%Y")
    contracts["arr"] = (contracts["arr"].astype(float) / 1000).map(repr)
    contracts["Stage"] = "Closed Won"
    lost = contracts.iloc[:3].assign(contract_id=lambda f: f["contract_id"] + "-lost", Stage="Closed Lost")
    pd.concat([contracts, lost]).rename(columns={"contract_id": "Opportunity ID", "arr": "ARR (k EUR)"}).to_csv(
        out / "opportunities.csv", index=False
    )
    tables = {
        "accounts": {
            "file": "export/crm_accounts.csv",
            "columns": {"account_id": "Account ID", "name": "Account Name", "industry": "Industry"},
            "values": {"industry": {code: name for name, code in codes.items()}},
        },
        "contracts": {
            "file": "export/opportunities.csv",
            "columns": {"contract_id": "Opportunity ID", "arr": "ARR (k EUR)"},
            "filter": {"Stage": ["Closed Won"]},
            "date_format": "%m/%d/%Y",
            "arr": {"currency": "EUR", "multiplier": 1000},
        },
        **{name: {"file": str(tiny_demo_dir / f"{name}.csv")} for name in PLAIN},
    }
    mapping = tmp_path / "sources.yaml"
    mapping.write_text(yaml.safe_dump({"tables": tables}, sort_keys=False))
    return mapping


def test_a_mapped_export_gives_the_same_tables_as_the_contract_files(export, tiny_demo_dir):
    before = _digests(export.parent)
    mapped = load(export)
    direct = load_tables(tiny_demo_dir, use_cache=False)
    for name in ("accounts", *PLAIN):
        pd.testing.assert_frame_equal(mapped[name], direct[name], check_like=True)
    want, got = direct["contracts"], mapped["contracts"]
    pd.testing.assert_frame_equal(got.drop(columns="arr"), want.drop(columns="arr"))  # "Closed Lost" rows dropped
    np.testing.assert_allclose(got["arr"], want["arr"], rtol=1e-12)
    assert mapped.as_of == direct.as_of and mapped.pilot_assignments.empty
    assert _digests(export.parent) == before  # the user's files are never written
    assert mapped.data_dir.parent == snapshots_root()  # the mapped tables live under data/processed


def test_changing_the_mapping_changes_the_snapshot_and_so_the_cache_keys(export):
    first = prepare(locate(export))
    assert prepare(locate(export)) == first  # same mapping, same bytes: the same folder
    data = yaml.safe_load(export.read_text())
    data["tables"]["contracts"]["arr"]["multiplier"] = 1100
    export.write_text(yaml.safe_dump(data))
    second = prepare(locate(export))
    assert second != first and first.parent == second.parent


def test_every_mapping_mistake_is_reported_at_once(export):
    data = yaml.safe_load(export.read_text())
    data["colour"] = "blue"  # unknown top-level key
    data["tables"]["acounts"] = {"file": "x.csv"}  # unknown table
    data["tables"]["accounts"]["columns"]["nmae"] = "Account Name"  # unknown contract column
    data["tables"]["accounts"]["columns"]["name"] = "Acount Name"  # source column not in the file
    data["tables"]["accounts"]["values"]["industry"].pop("SW")  # a value left unmapped
    data["tables"]["contracts"]["date_fromat"] = "%d.%m.%Y"  # unknown table key
    export.write_text(yaml.safe_dump(data))
    with pytest.raises(MappingError) as info:
        prepare(locate(export))
    found = {(v.table, v.column, v.rule) for v in info.value.violations}
    assert found >= {
        ("sources.yaml", "—", "unknown key"),
        ("acounts", "—", "unknown table"),
        ("accounts", "nmae", "unknown contract column in `columns`"),
        ("contracts", "—", "unknown key"),
        ("accounts", "name", "source column not found"),
        ("accounts", "industry", "value not in the value map"),
    }
    message = str(info.value)
    assert "did you mean 'accounts'?" in message and "did you mean 'date_format'?" in message
    by_rule = {v.rule: v for v in info.value.violations}
    assert by_rule["source column not found"].column == "name"
    assert "did you mean 'Account Name'?" in str(info.value)
    unmapped = by_rule["value not in the value map"]
    n_software = int((pd.read_csv(export.parent / "export" / "crm_accounts.csv")["Industry"] == "SW").sum())
    assert (unmapped.table, unmapped.column, unmapped.count) == ("accounts", "industry", n_software)
    assert unmapped.examples == (f"'SW' x{n_software}",)


def test_the_cli_prints_mapping_errors_and_exits_2(export):
    data = yaml.safe_load(export.read_text())
    data["tables"]["contracts"]["columns"]["seats"] = "Seats"
    data["tables"]["surveys"]["values"] = {"nps": {"ten": 10}}
    export.write_text(yaml.safe_dump(data))
    res = subprocess.run(
        [sys.executable, "-m", "insights", "validate", "--sources", str(export)], capture_output=True, text=True
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "source column not found" in res.stderr and "value not in the value map" in res.stderr
    assert "How to fix:" in res.stderr and "contracts.seats" in res.stderr


def test_a_password_in_the_mapping_file_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "sources.yaml"
    path.write_text("source: postgresql://cs:hunter2@db.example/cs\ntables: {}\n")
    with pytest.raises(MappingError, match="password in the mapping file") as info:
        source_spec.load_mapping(path)
    assert "hunter2" not in str(info.value)
    path.write_text("source: $WAREHOUSE\ntables: {accounts: {query: SELECT 1}}\n")
    monkeypatch.setenv("WAREHOUSE", "postgresql://cs:hunter2@db.example/cs")
    mapping = source_spec.load_mapping(path)  # from the environment: allowed, shown masked
    assert "hunter2" not in mapping.where and "hunter2" not in DataSource(mapping=path, url=mapping.url).describe()


def test_bad_yaml_and_conflicting_options_are_clear(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("tables: [accounts\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        source_spec.load_mapping(path)
    with pytest.raises(ParameterError, match="not both"):
        locate(tmp_path, sources=path)
    with pytest.raises(ParameterError, match="does not exist"):
        locate(sources=tmp_path / "nope.yaml")


def test_locate_prefers_config_sources_yaml_over_data_raw(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHTS_CONFIG_DIR", str(tmp_path))
    assert locate() == DataSource(folder=locate().folder)  # no config/sources.yaml: the raw folder
    (tmp_path / "sources.yaml").write_text("tables: {}\n")
    assert locate().mapping == tmp_path / "sources.yaml"
    assert locate(url="postgresql://h/db").url == "postgresql://h/db"


def test_dates_in_a_time_zone_become_utc_but_calendar_dates_stay():
    mapper = ChunkMapper(TableMapping("surveys", timezone="America/New_York", date_format="%Y-%m-%d %H:%M"))
    chunk = pd.DataFrame({"responded_at": ["2024-03-15 23:30", "2024-03-15 08:00", None], "nps": ["9", "8", "7"]})
    # a calendar date is written without a time: no zone applies to it
    dates = ChunkMapper(TableMapping("surveys", timezone="Asia/Tokyo")).apply(
        pd.DataFrame({"responded_at": ["2024-03-15"]})
    )
    out = mapper.apply(chunk)
    assert out["responded_at"].tolist()[:2] == ["2024-03-16", "2024-03-15"]  # 23:30 EDT is 03:30 UTC next day
    assert pd.isna(out["responded_at"].iloc[2]) and dates["responded_at"].tolist() == ["2024-03-15"]
    bad = ChunkMapper(TableMapping("surveys", date_format="%d.%m.%Y"))
    bad.apply(pd.DataFrame({"responded_at": ["15.03.2024", "2024-03-15", "2024-03-15"]}))
    (only,) = bad.problems()
    assert (only.column, only.count, only.examples) == ("responded_at", 2, ("'2024-03-15' x2",))


def test_as_text_writes_what_a_csv_holds():
    values = pd.Series([1.5, np.nan, 2.0, 1e-7])
    assert as_text(values).tolist()[0] == "1.5" and pd.isna(as_text(values).iloc[1])
    assert [float(v) for v in as_text(values).dropna()] == [1.5, 2.0, 1e-7]  # exact round trip
    assert as_text(pd.Series([" a ", None], dtype=object)).tolist()[0] == "a"


@pytest.mark.parametrize("key", ["file", "folder"])
def test_missing_source_files_are_problems(tmp_path, key):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"tables": {"accounts": {key: "nope"}, "contracts": {"query": "SELECT 1"}}}))
    with pytest.raises(MappingError) as info:
        source_spec.load_mapping(path)
    rules = sorted(v.rule for v in info.value.violations)
    assert rules == sorted([f"{key} not found", "query without a database"])
    assert os.listdir(tmp_path) == ["sources.yaml"]


def test_the_report_runs_on_a_mapping_and_records_it(export, monkeypatch, tmp_path):
    from insights.report.runner import MANIFEST, run_report

    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    outcome = run_report(sources=export, specs=[], jobs=1)
    manifest = yaml.safe_load((outcome.folder / MANIFEST).read_text())
    assert manifest["source"] == f"mapping {export}"
    assert manifest["parameters"]["data_dir"].startswith(str(snapshots_root()))
    assert manifest["row_counts"]["contracts"] == len(load(export)["contracts"]) and not manifest["demo_data"]


def test_a_header_only_export_maps_to_an_empty_table(export, tmp_path):
    header_only = tmp_path / "surveys_header.csv"
    header_only.write_text("Response,account_id,responded_at,nps,value_score\n")
    data = yaml.safe_load(export.read_text())
    data["tables"]["surveys"] = {"file": str(header_only), "columns": {"response_id": "Response"}}
    export.write_text(yaml.safe_dump(data))
    tables = load(export)
    assert tables.surveys.empty and "surveys" in tables.without_rows
    assert list(tables.surveys.columns) == ["response_id", "account_id", "responded_at", "nps", "value_score"]


def test_pilots_recorded_in_the_raw_folder_reach_a_mapped_run(export, tiny_demo_dir, tmp_path):
    import shutil

    assert load(export).pilot_assignments.empty
    shutil.copytree(tiny_demo_dir / "pilots", tmp_path / "raw" / "pilots")  # as `insights pilot assign` leaves them
    recorded = load_tables(tiny_demo_dir, use_cache=False).pilot_assignments
    pd.testing.assert_frame_equal(load(export).pilot_assignments, recorded)


def test_pilot_assign_on_a_mapping_records_into_the_raw_folder(export, tmp_path):
    env = {**os.environ, "INSIGHTS_DATA_DIR": str(tmp_path / "raw")}
    args = ["pilot", "assign", "onboarding_v2", "--window-end", "2027-03-31", "--start", "2026-10-01"]
    res = subprocess.run(
        [sys.executable, "-m", "insights", *args, "--max-smd", "0", "--data", str(export)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    record = tmp_path / "raw" / "pilots" / "onboarding_v2.csv"
    assert record.is_file()  # in the raw folder, not in a snapshot under data/processed
    pilots = load(export).pilot_assignments
    assert set(pilots["pilot_id"]) == {"onboarding_v2"} and len(pilots) == len(pd.read_csv(record))
    # the plan travels with the record: the readout knows the control and checks the record's digest
    from insights.analyses.pilots import readout

    tables = load(export)
    plan = readout.plan_of(tables, "onboarding_v2")
    assert plan.control == "control" and plan.assignment_sha256
    assert (tables.data_dir.stat().st_mode & 0o777) == 0o777 & ~_umask()  # a team share can read it


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
