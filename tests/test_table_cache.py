"""The typed-table cache: same tables as a fresh validation, keyed by content, never under data/raw."""

import ast
import shutil
from pathlib import Path

import pandas as pd
import pytest

from insights import context as dataset
from insights.data import loading, table_cache
from insights.errors import ContractError


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHTS_PROCESSED_DIR", str(tmp_path / "processed"))
    return tmp_path / "processed" / table_cache.FOLDER


def _files(folder):
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_cached_tables_equal_a_fresh_validation(demo_dir, private_cache):
    before = _files(demo_dir)
    fresh = loading.load_tables(demo_dir, use_cache=False)
    assert loading.cached_tables(demo_dir) is None
    entry = loading.cache_tables(fresh)
    assert entry.parent == private_cache and entry.name == table_cache.cache_key(table_cache.input_hashes(demo_dir))
    cached = loading.load_tables(demo_dir)
    via_dataset = dataset.load(demo_dir)
    for tables in (cached, via_dataset):
        assert tables.names == fresh.names and tables.as_of == fresh.as_of and tables.skipped == fresh.skipped
        assert tables.data_dir == demo_dir
        for name in fresh.names:
            pd.testing.assert_frame_equal(tables[name], fresh[name], check_exact=True)
    assert loading.validate_dir(demo_dir, include_events=False) == []
    assert _files(demo_dir) == before, "the cache must never write into the raw folder"


def test_a_changed_byte_misses_the_cache_and_is_validated(demo_copy, private_cache):
    loading.cache_tables(loading.load_tables(demo_copy, use_cache=False))
    assert loading.cached_tables(demo_copy) is not None
    contracts = demo_copy / "contracts.csv"
    lines = contracts.read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("arr")] = "-5"
    contracts.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    assert loading.cached_tables(demo_copy) is None
    with pytest.raises(ContractError, match="below minimum"):
        loading.load_tables(demo_copy)
    assert any(v.rule.startswith("below minimum") for v in loading.validate_dir(demo_copy, include_events=False))


def test_store_is_idempotent_and_keeps_few_entries(demo_dir, private_cache):
    tables = loading.load_tables(demo_dir, use_cache=False)
    hashes = table_cache.input_hashes(demo_dir)
    first = table_cache.store(tables.frames, tables.as_of, tables.skipped, hashes)
    assert table_cache.store(tables.frames, tables.as_of, tables.skipped, hashes) == first
    for i in range(table_cache.KEEP + 2):  # other inputs: other keys, older entries pruned
        table_cache.store(tables.frames, tables.as_of, tables.skipped, {**hashes, f"extra_{i}.txt": "0" * 64})
    entries = list(private_cache.iterdir())
    assert len(entries) == table_cache.KEEP and not any(p.name.startswith(".") for p in entries)


def test_events_are_never_cached(demo_dir, private_cache):
    tables = loading.load_tables(demo_dir, use_cache=False)
    tables.frames["usage_events"] = pd.DataFrame()
    with pytest.raises(Exception, match="usage_events"):
        loading.cache_tables(tables)
    assert not private_cache.exists()


def test_input_hashes_skip_hidden_files(demo_copy):
    (demo_copy / ".DS_Store").write_text("x")
    (demo_copy / ".ipynb_checkpoints").mkdir()
    (demo_copy / ".ipynb_checkpoints" / "accounts.csv").write_text("x")
    hashes = table_cache.input_hashes(demo_copy)
    assert "contracts.csv" in hashes and not any(k.startswith(".") for k in hashes)
    assert table_cache.input_hashes(demo_copy / "missing") == {}


def test_recorded_hashes_are_reused_only_while_files_are_unchanged(demo_copy, private_cache, monkeypatch):
    hashes, stats = table_cache.hashes_and_stats(demo_copy)
    assert stats is not None and set(stats) == set(hashes)
    loading.cache_tables(loading.load_tables(demo_copy, use_cache=False), hashes, stats)

    def no_hashing(_):
        raise AssertionError("hashed although nothing changed")

    real = table_cache.input_hashes
    monkeypatch.setattr(table_cache, "input_hashes", no_hashing)
    assert table_cache.known_hashes(demo_copy) == hashes
    assert loading.cached_tables(demo_copy) is not None
    (demo_copy / "notes.txt").write_text("a new file")  # another file: stats differ, so it hashes again
    with pytest.raises(AssertionError, match="hashed"):
        table_cache.known_hashes(demo_copy)
    monkeypatch.setattr(table_cache, "input_hashes", real)
    assert loading.cached_tables(demo_copy) is None  # other inputs, other key


def test_a_table_folder_behind_a_link_is_part_of_the_key(demo_copy, tmp_path, private_cache):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (demo_copy / "contracts.csv").rename(outside / "part1.csv")
    (demo_copy / "contracts").symlink_to(outside, target_is_directory=True)
    assert "contracts/part1.csv" in table_cache.input_hashes(demo_copy)
    loading.cache_tables(loading.load_tables(demo_copy, use_cache=False))
    c = pd.read_csv(outside / "part1.csv", dtype=str)
    c.loc[0, "arr"] = "999999"
    c.to_csv(outside / "part1.csv", index=False)
    assert loading.load_tables(demo_copy).frames["contracts"]["arr"].iloc[0] == 999999.0


def test_hidden_files_are_neither_loaded_nor_hashed(demo_copy, private_cache):
    folder = demo_copy / "accounts"
    folder.mkdir()
    (demo_copy / "accounts.csv").rename(folder / "part0.csv")
    (folder / "._part0.csv").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")  # not a CSV at all
    fresh = loading.load_tables(demo_copy, use_cache=False)
    assert loading.table_files(demo_copy, "accounts") == [folder / "part0.csv"]
    assert "accounts/._part0.csv" not in table_cache.input_hashes(demo_copy)
    assert len(fresh.frames["accounts"]) == len(pd.read_csv(folder / "part0.csv"))


def test_the_key_covers_the_code_that_finds_reads_and_checks_the_tables(tmp_path, monkeypatch):
    src = Path(table_cache.__file__).parent
    copy = tmp_path / "insights"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(table_cache, "__file__", str(copy / "table_cache.py"))
    base = table_cache.cache_key({})
    for module in ("raw_files", "loading", "validation", "contract"):
        path = copy / f"{module}.py"
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        assert table_cache.cache_key({}) != base, module
        path.write_bytes(original)
    assert table_cache.cache_key({}) == base
    # every insights module the loader imports (where files are found, read and typed) is part of the key,
    # except the ones that only name folders and errors
    imported = set()
    for node in ast.walk(ast.parse((src / "loading.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("insights"):
            names = [a.name for a in node.names] if node.module == "insights" else [node.module.split(".")[1]]
            imported |= {n for n in names if (src / f"{n}.py").exists()}
    assert imported - {"paths", "errors"} <= {name.removesuffix(".py") for name in table_cache._CODE}
