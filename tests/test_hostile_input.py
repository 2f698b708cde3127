"""Random corruptions of the demo tables: `insights validate` exits 0 or 2, never 1, never a traceback.

Each example takes the 50-account demo, applies one to four random corruptions (wrong types,
extreme numbers, odd dates and time zones, encodings, damaged bytes, empty and header-only
files, missing files and columns, duplicates, dangling keys, typed Parquet twins, events with
odd timestamps) and runs the command in-process. The rule checks must stay able to run: the
validator's safety net ("could not be checked") firing is a failure too.

In CI (profile ``ci``) it runs 30 random examples; ``HYPOTHESIS_PROFILE=long`` runs 1,000
(see docs/robustness.md).
"""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from insights.cli.app import app
from insights.data import contract
from insights.data.loading import load_tables
from insights.errors import InsightsError

TABLES = [name for name in contract.TABLES if name not in ("usage_events", "pilot_assignments")]
SAFETY_NET = ("could not be checked", "could not be typed", "foreign keys could not be checked")

ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), timezone(timedelta(hours=5.5))]
)
HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "NULL",
            "N/A",
            "nan",
            "NaN",
            "None",
            "NaT",
            "inf",
            "-inf",
            "1e20",
            "-1e308",
            "1e309",
            "9223372036854775808",
            "-9223372036854775809",
            "100000000000000000000",
            "0x1F",
            "1_000",
            "1,5",
            "9999-12-31",
            "0001-01-01",
            "1677-09-21",
            "2262-04-12",
            "2026-02-30",
            "2026-13-01",
            "2026-09-30T25:00:00",
            "2026-09-30T12:00:00+14:00",
            "2026-09-30T12:00:00-12:00",
            "2026-09-30T12:00:00Z",
            "2026-09",
            "2026",
            "20260930",
            "30/09/2026",
            "yesterday",
            "true",
            '=HYPERLINK("http://x")',
            "'; DROP TABLE accounts; --",
            "\x00",
            "ünïcödé ✓",
            "a\nb",
            '"quoted"',
        ]
    ),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
    st.datetimes(timezones=ZONES, allow_imaginary=False).map(lambda d: d.isoformat()),
)


@pytest.fixture(scope="module")
def base(tiny_demo_dir) -> dict[str, pd.DataFrame]:
    """The tiny demo's tables as text, by file name (pilot files under ``pilots/``)."""
    frames = {}
    for path in [*tiny_demo_dir.glob("*.csv"), *(tiny_demo_dir / "pilots").glob("*.csv")]:
        frames[path.relative_to(tiny_demo_dir).as_posix()] = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frames


# --- corruptions: each draws its parameters and returns a function of the files (name -> frame or bytes) ----


def _file(table: str) -> str:
    return f"{table}.csv"


def _set(files, table: str, column: str, rows: list[int], values: list[str]) -> None:
    """Put ``values`` into ``column`` at ``rows`` (modulo the length) of the table's CSV frame, if it has one."""
    frame = files.get(_file(table))
    if isinstance(frame, pd.DataFrame) and column in frame.columns and len(frame):
        frame = frame.copy()
        for row, value in zip(rows, values):
            frame.loc[frame.index[row % len(frame)], column] = value
        files[_file(table)] = frame


@st.composite
def set_cells(draw):
    table = draw(st.sampled_from(TABLES))
    column = draw(st.sampled_from(contract.TABLES[table].column_names))
    rows = draw(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=3))
    values = draw(st.lists(HOSTILE_VALUES, min_size=len(rows), max_size=len(rows)))

    return "set cells", lambda files: _set(files, table, column, rows, values)


@st.composite
def reshape(draw):
    table = draw(st.sampled_from(TABLES))
    how = draw(st.sampled_from(["drop column", "rename column", "extra column", "duplicate rows", "reverse columns"]))
    column = draw(st.sampled_from(contract.TABLES[table].column_names))
    name = draw(st.text(max_size=8))
    row = draw(st.integers(min_value=0, max_value=400))

    def apply(files):
        frame = files.get(_file(table))
        if not isinstance(frame, pd.DataFrame) or column not in frame.columns:
            return
        if how == "drop column":
            frame = frame.drop(columns=[column])
        elif how == "rename column":
            frame = frame.rename(columns={column: name})
        elif how == "extra column":
            frame = frame.assign(**{name or "extra": "x"})
        elif how == "duplicate rows" and len(frame):
            frame = pd.concat([frame, frame.iloc[[row % len(frame)] * 3]], ignore_index=True)
        elif how == "reverse columns":
            frame = frame[frame.columns[::-1]]
        files[_file(table)] = frame

    return how, apply


@st.composite
def dangling_keys(draw):
    table = draw(st.sampled_from([t for t in TABLES if contract.TABLES[t].foreign_keys]))
    column = draw(st.sampled_from(sorted(contract.TABLES[table].foreign_keys)))
    row = draw(st.integers(min_value=0, max_value=400))
    key = draw(st.text(min_size=1, max_size=8))

    return "dangling key", lambda files: _set(files, table, column, [row], [key])


@st.composite
def damage_file(draw):
    table = draw(st.sampled_from(TABLES))
    how = draw(
        st.sampled_from(["empty file", "header only", "no file", "encoding", "garbage bytes", "truncated", "parquet"])
    )
    encoding = draw(st.sampled_from(["latin-1", "utf-16", "utf-8-sig", "cp1252", "utf-32"]))
    garbage = draw(st.binary(min_size=1, max_size=16))
    cut = draw(st.floats(min_value=0, max_value=1))

    def apply(files):
        frame = files.get(_file(table))
        if not isinstance(frame, pd.DataFrame):
            return
        if how == "empty file":
            files[_file(table)] = b""
        elif how == "header only":
            files[_file(table)] = frame.iloc[0:0]
        elif how == "no file":
            del files[_file(table)]
        elif how == "encoding":
            text = frame.assign(**{frame.columns[-1]: frame[frame.columns[-1]] + "é"}).to_csv(index=False)
            files[_file(table)] = text.encode(encoding, errors="replace")
        else:
            data = frame.to_csv(index=False).encode()
            at = int(cut * len(data))
            if how == "garbage bytes":
                files[_file(table)] = data[:at] + garbage + data[at:]
            elif how == "truncated":
                files[_file(table)] = data[:at]
            else:  # the table as Parquet: typed where it parses, text elsewhere
                del files[_file(table)]
                typed = frame.copy()
                for col in typed.columns:
                    converted = pd.to_numeric(typed[col], errors="coerce")
                    if converted.notna().all():
                        typed[col] = converted
                files[f"{table}.parquet"] = typed

    return how, apply


TYPED_COLUMNS = {
    "huge unsigned": lambda n: pd.Series([2**64 - 1] * n, dtype="uint64"),
    "zoned timestamps": lambda n: pd.Series(pd.date_range("2024-01-01", periods=n, freq="D", tz="Pacific/Kiritimati")),
    "year 9999": lambda n: pd.Series(["9999-12-31"] * n, dtype="datetime64[us]"),
    "year 1": lambda n: pd.Series(["0001-01-01"] * n, dtype="datetime64[us]"),
    "booleans": lambda n: pd.Series([True, False] * n)[:n].reset_index(drop=True),
    "bytes": lambda n: pd.Series([b"\xff\xfe"] * n, dtype=object),
    "infinite floats": lambda n: pd.Series([float("inf"), float("-inf"), float("nan")] * n)[:n].reset_index(drop=True),
    "mixed objects": lambda n: pd.Series([1, "a", 2.5, None] * n, dtype=object)[:n].reset_index(drop=True),
}


@st.composite
def typed_parquet(draw):
    table = draw(st.sampled_from(TABLES))
    column = draw(st.sampled_from(contract.TABLES[table].column_names))
    kind = draw(st.sampled_from(sorted(TYPED_COLUMNS)))

    def apply(files):
        frame = files.pop(_file(table), None)
        if not isinstance(frame, pd.DataFrame):
            if frame is not None:
                files[_file(table)] = frame
            return
        if column in frame.columns:
            frame = frame.assign(**{column: TYPED_COLUMNS[kind](len(frame)).to_numpy()})
        files[f"{table}.parquet"] = frame

    return f"parquet with {kind}", apply


@st.composite
def odd_events(draw):
    stamps = draw(st.lists(HOSTILE_VALUES, min_size=1, max_size=6))
    parquet = draw(st.booleans())

    def apply(files):
        users = files.get(_file("users"))
        if not isinstance(users, pd.DataFrame) or not {"account_id", "user_id"} <= set(users.columns) or users.empty:
            return
        first = users.iloc[0]
        events = pd.DataFrame(
            {"account_id": first["account_id"], "user_id": first["user_id"], "ts": stamps, "feature": "reports"}
        )
        files["usage_events.parquet" if parquet else "usage_events.csv"] = events

    return "events", apply


CORRUPTIONS = st.lists(
    st.one_of(set_cells(), reshape(), dangling_keys(), damage_file(), typed_parquet(), odd_events()),
    min_size=1,
    max_size=4,
)


def write(files: dict[str, pd.DataFrame | bytes], folder: Path) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif path.suffix == ".parquet":
            buffer = io.BytesIO()
            try:
                content.to_parquet(buffer, index=False)
            except Exception:  # noqa: BLE001 - a frame pyarrow cannot store is written as text
                content.astype(str).to_parquet(buffer, index=False)
            path.write_bytes(buffer.getvalue())
        else:
            path.write_text(content.to_csv(index=False), encoding="utf-8")


def validate_in_process(folder: Path) -> tuple[int, str]:
    """`insights validate <folder>` in-process: its exit code and output, failing on any exception."""
    result = CliRunner().invoke(app, ["validate", str(folder)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


#: Each example writes and validates a whole dataset (a few tenths of a second), so this test runs half
#: the profile's examples: 30 in CI, 1,000 with HYPOTHESIS_PROFILE=long (profiles in tests/conftest.py).
EXAMPLES = max(settings.default.max_examples // 2, 1)


@pytest.mark.slow  # 30 whole datasets validated: 10-16 s, the largest item of the fast tier
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(corruptions=CORRUPTIONS)
def test_validate_never_crashes_on_corrupted_tables(base, corruptions):
    files: dict[str, pd.DataFrame | bytes] = dict(base)
    for _, apply in corruptions:
        apply(files)
    with tempfile.TemporaryDirectory(prefix="insights-hostile-") as tmp:
        folder = Path(tmp) / "raw"
        write(files, folder)
        code, output = validate_in_process(folder)
        assert code in (0, 2), output
        assert "Traceback" not in output
        assert not any(net in output for net in SAFETY_NET), output
        if code == 0:  # valid for the validator: loading agrees, and the data end is a date
            tables = load_tables(folder, include_events=True, use_cache=False)
            assert isinstance(tables.as_of, pd.Timestamp) and not pd.isna(tables.as_of)
        else:
            with pytest.raises(InsightsError):
                load_tables(folder, include_events=True, use_cache=False)


def test_the_uncorrupted_demo_is_valid(base):
    with tempfile.TemporaryDirectory(prefix="insights-hostile-") as tmp:
        write(dict(base), Path(tmp) / "raw")
        assert validate_in_process(Path(tmp) / "raw")[0] == 0


@pytest.mark.parametrize(
    ("table", "column"), [("accounts", "account_id"), ("users", "account_id"), ("users", "user_id")]
)
def test_events_beside_a_reference_table_without_its_key(base, tmp_path, table, column):
    """Found by the search above: events beside accounts or users that lack a key column crashed ``validate``."""
    files: dict[str, pd.DataFrame | bytes] = dict(base)
    users = files["users.csv"]
    files["usage_events.csv"] = pd.DataFrame(
        {
            "account_id": users["account_id"].iloc[:3],
            "user_id": users["user_id"].iloc[:3],
            "ts": "2026-01-05",
            "feature": "reports",
        }
    )
    files[f"{table}.csv"] = files[f"{table}.csv"].drop(columns=[column])
    write(files, tmp_path / "raw")
    code, output = validate_in_process(tmp_path / "raw")
    assert code == 2, output
    assert table in output and column in output, output
