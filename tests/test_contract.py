"""The data contract: a corpus of malformed inputs, each caught with the right violation."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from insights.data import contract, validation
from insights.data.loading import load_tables, validate_dir
from insights.errors import ContractError, ParameterError


def _csv(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _put(folder: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / f"{name}.csv", index=False)


def _edit(name, column, row, value):
    def mutate(folder):
        frame = _csv(folder, name)
        frame.loc[row, column] = value
        _put(folder, name, frame)

    return mutate


def _drop_file(name):
    return lambda folder: (folder / f"{name}.csv").unlink()


def _drop_column(name, column):
    def mutate(folder):
        _put(folder, name, _csv(folder, name).drop(columns=[column]))

    return mutate


def _duplicate_row(name, row=0):
    def mutate(folder):
        frame = _csv(folder, name)
        _put(folder, name, pd.concat([frame, frame.iloc[[row]]], ignore_index=True))

    return mutate


def _swap_dates(name, earlier, later, row=None):
    def mutate(folder):
        frame = _csv(folder, name)
        i = row if row is not None else frame.index[frame[later].ne("")][0]
        frame.loc[i, [earlier, later]] = frame.loc[i, [later, earlier]].to_numpy()
        if frame.loc[i, earlier] == frame.loc[i, later]:
            frame.loc[i, later] = "1999-01-01"
        _put(folder, name, frame)

    return mutate


def _header_only(name):
    def mutate(folder):
        _put(folder, name, _csv(folder, name).iloc[0:0])

    return mutate


def _parquet_twin(name):
    def mutate(folder):
        _csv(folder, name).to_parquet(folder / f"{name}.parquet")

    return mutate


def _pilot_renamed(folder):
    src = next((folder / "pilots").glob("*.csv"))
    src.rename(src.with_name("another_pilot.csv"))


def _pilot_assigned_twice(folder):
    src = next((folder / "pilots").glob("*.csv"))
    frame = pd.read_csv(src, dtype=str)
    pd.concat(
        [frame, frame.iloc[[0]].assign(arm="control" if frame.iloc[0]["arm"] == "treatment" else "treatment")]
    ).to_csv(src, index=False)


def _events_unknown_user(folder):
    users = _csv(folder, "users")
    pd.DataFrame(
        {
            "account_id": [users.loc[0, "account_id"]] * 2,
            "user_id": [users.loc[0, "user_id"], "U-GHOST"],
            "ts": ["2026-01-05T10:00:00", "2026-01-05T11:00:00"],
            "feature": ["reports", "reports"],
        }
    ).to_csv(folder / "usage_events.csv", index=False)


def _events_at(*stamps):
    def mutate(folder):
        users = _csv(folder, "users")
        pd.DataFrame(
            {
                "account_id": [users.loc[0, "account_id"]] * len(stamps),
                "user_id": [users.loc[0, "user_id"]] * len(stamps),
                "ts": list(stamps),
                "feature": ["reports"] * len(stamps),
            }
        ).to_csv(folder / "usage_events.csv", index=False)

    return mutate


def _reencode(name, encoding):
    def mutate(folder):
        frame = _csv(folder, name)
        frame.loc[0, frame.columns[1]] = "Société Générale"
        frame.to_csv(folder / f"{name}.csv", index=False, encoding=encoding)

    return mutate


def _empty_file(name):
    return lambda folder: (folder / f"{name}.csv").write_bytes(b"")


# (id, mutation, expected table, column, rule)
CORPUS = [
    ("missing table", _drop_file("support_tickets"), "support_tickets", "—", "missing table"),
    ("missing column", _drop_column("contracts", "arr"), "contracts", "arr", "missing column"),
    ("text in integer column", _edit("contracts", "seats", 0, "ten"), "contracts", "seats", "not a whole number"),
    ("fractional seats", _edit("contracts", "seats", 1, "3.5"), "contracts", "seats", "not a whole number"),
    ("text in money column", _edit("contracts", "arr", 0, "12k"), "contracts", "arr", "not a number"),
    ("duplicate account id", _duplicate_row("accounts", 3), "accounts", "account_id", "duplicate key"),
    ("duplicate usage month", _duplicate_row("usage_monthly", 5), "usage_monthly", "account_id+month", "duplicate key"),
    (
        "duplicate integration",
        _duplicate_row("integrations", 0),
        "integrations",
        "account_id+integration",
        "duplicate key",
    ),
    (
        "unknown account on contract",
        _edit("contracts", "account_id", 2, "A-NOPE"),
        "contracts",
        "account_id",
        "unknown accounts.account_id",
    ),
    (
        "unknown account on survey",
        _edit("surveys", "account_id", 0, "A-NOPE"),
        "surveys",
        "account_id",
        "unknown accounts.account_id",
    ),
    (
        "contract ends before it starts",
        _swap_dates("contracts", "start_date", "end_date", 0),
        "contracts",
        "end_date",
        "end_date before start_date",
    ),
    (
        "activated before invited",
        _swap_dates("users", "invited_at", "activated_at"),
        "users",
        "activated_at",
        "activated_at before invited_at",
    ),
    (
        "disconnected before connected",
        _edit("integrations", "disconnected_at", 0, "1990-01-01"),
        "integrations",
        "disconnected_at",
        "disconnected_at before connected_at",
    ),
    ("negative ARR", _edit("contracts", "arr", 3, "-100.0"), "contracts", "arr", "below minimum 0"),
    ("negative seats", _edit("contracts", "seats", 4, "-2"), "contracts", "seats", "below minimum 0"),
    ("NPS above 10", _edit("surveys", "nps", 1, "11"), "surveys", "nps", "above maximum 10"),
    ("NPS below 0", _edit("surveys", "nps", 2, "-1"), "surveys", "nps", "below minimum 0"),
    ("value score above 10", _edit("surveys", "value_score", 2, "12"), "surveys", "value_score", "above maximum 10"),
    ("CSAT above 5", _edit("support_tickets", "csat", 0, "7"), "support_tickets", "csat", "above maximum 5"),
    (
        "impossible date",
        _edit("contracts", "start_date", 0, "2024-13-45"),
        "contracts",
        "start_date",
        "unparseable date",
    ),
    ("words for a date", _edit("accounts", "created_at", 0, "yesterday"), "accounts", "created_at", "unparseable date"),
    ("required value empty", _edit("accounts", "industry", 0, ""), "accounts", "industry", "missing value"),
    (
        "unknown priority",
        _edit("support_tickets", "priority", 0, "critical"),
        "support_tickets",
        "priority",
        "not one of",
    ),
    ("negative events", _edit("usage_monthly", "events", 0, "-5"), "usage_monthly", "events", "below minimum 0"),
    ("zero employees", _edit("accounts", "employees", 0, "0"), "accounts", "employees", "below minimum 1"),
    ("empty accounts table", _header_only("accounts"), "accounts", "—", "no rows"),
    ("CSV and Parquet of one table", _parquet_twin("surveys"), "surveys", "—", "ambiguous"),
    (
        "pilot file named after another pilot",
        _pilot_renamed,
        "pilot_assignments",
        "pilot_id",
        "pilot_id differs from file name",
    ),
    (
        "account assigned twice in a pilot",
        _pilot_assigned_twice,
        "pilot_assignments",
        "pilot_id+account_id",
        "duplicate key",
    ),
    ("usage event of an unknown user", _events_unknown_user, "usage_events", "user_id", "unknown users.user_id"),
    ("unparseable month", _edit("usage_monthly", "month", 0, "2024-XX"), "usage_monthly", "month", "unparseable date"),
    # values that crashed the validator (issue 13): each is a violation like any other
    ("integer beyond int64", _edit("contracts", "seats", 0, "1e20"), "contracts", "seats", "whole number beyond"),
    (
        "integer written out beyond int64",
        _edit("contracts", "seats", 2, "100000000000000000000"),
        "contracts",
        "seats",
        "whole number beyond",
    ),
    (
        "date outside pandas' range",
        _edit("contracts", "end_date", 0, "9999-12-31"),
        "contracts",
        "end_date",
        "date out of range",
    ),
    ("date before pandas' range", _edit("accounts", "created_at", 1, "0001-01-01"), "accounts", "created_at", "out of"),
    # values that passed the contract and broke the analyses
    ("infinite ARR", _edit("contracts", "arr", 0, "inf"), "contracts", "arr", "not a finite number"),
    ("negative infinite CSAT", _edit("support_tickets", "csat", 1, "-inf"), "support_tickets", "csat", "not a finite"),
    ("NULL as a name", _edit("accounts", "name", 0, "NULL"), "accounts", "name", "placeholder for a missing value"),
    ("N/A as a score", _edit("support_tickets", "csat", 0, "N/A"), "support_tickets", "csat", "placeholder"),
    ("nan as a number", _edit("contracts", "arr", 1, "nan"), "contracts", "arr", "placeholder"),
    ("None as a date", _edit("users", "activated_at", 0, "None"), "users", "activated_at", "placeholder"),
    (
        "stray usage month in the future",
        _edit("usage_monthly", "month", 0, "2031-01"),
        "usage_monthly",
        "month",
        "after the as-of date",
    ),
    (
        "stray usage month after a gap",
        _edit("usage_monthly", "month", 0, "2018-01"),
        "usage_monthly",
        "month",
        "months without rows",
    ),
    ("survey from the future", _edit("surveys", "responded_at", 0, "2099-01-01"), "surveys", "responded_at", "after"),
    ("event from the future", _events_at("2099-01-05T10:00:00"), "usage_events", "ts", "after the as-of date"),
    ("latin-1 file", _reencode("accounts", "latin-1"), "accounts", "—", "file cannot be read"),
    ("empty file", _empty_file("surveys"), "surveys", "—", "file cannot be read"),
]


def _hashes(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_demo_data_meets_the_contract(demo_dir):
    assert validate_dir(demo_dir) == []
    tables = load_tables(demo_dir)
    assert set(contract.REQUIRED_TABLES) <= set(tables.names)
    assert tables.as_of == pd.Timestamp("2026-09-30")


def test_corpus_has_one_case_per_rule():
    assert len(CORPUS) >= 20
    assert len({case[0] for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_input_is_reported(case, tiny_demo_copy):
    _, mutate, table, column, rule = case
    mutate(tiny_demo_copy)
    before = _hashes(tiny_demo_copy)
    violations = validate_dir(tiny_demo_copy)
    hits = [v for v in violations if v.table == table and v.column == column and rule in v.rule]
    assert hits, f"expected {table}.{column} '{rule}', got {violations}"
    assert all(v.count >= 1 for v in hits)
    if rule not in ("missing table", "missing column", "no rows"):
        assert hits[0].examples, "a violation must show example keys"
    # load_tables refuses as a whole and names the same problem
    with pytest.raises(ContractError) as err:
        load_tables(tiny_demo_copy, include_events=True)
    assert any(v.table == table and rule in v.rule for v in err.value.violations)
    assert rule.split()[0] in str(err.value)
    assert _hashes(tiny_demo_copy) == before, "validation must never write into the raw folder"


def test_every_violation_is_reported_at_once(tiny_demo_copy):
    for _, mutate, *_ in [CORPUS[2], CORPUS[8], CORPUS[13], CORPUS[15], CORPUS[19], CORPUS[21]]:
        mutate(tiny_demo_copy)
    found = {(v.table, v.column, v.rule.split(" ")[0]) for v in validate_dir(tiny_demo_copy)}
    expected = {
        ("contracts", "seats", "not"),
        ("contracts", "account_id", "unknown"),
        ("contracts", "arr", "below"),
        ("surveys", "nps", "above"),
        ("contracts", "start_date", "unparseable"),
        ("accounts", "industry", "missing"),
    }
    assert expected <= found


def test_examples_name_the_offending_keys(tiny_demo_copy):
    contracts = _csv(tiny_demo_copy, "contracts")
    bad = contracts.loc[[5, 9], "contract_id"].tolist()
    contracts.loc[[5, 9], "arr"] = "-1"
    _put(tiny_demo_copy, "contracts", contracts)
    (v,) = [v for v in validate_dir(tiny_demo_copy) if v.column == "arr"]
    assert v.count == 2
    assert [e.split(" ")[0] for e in v.examples] == bad


def test_parquet_and_csv_load_to_the_same_typed_tables(tiny_demo_copy, tmp_path):
    as_parquet = tmp_path / "parquet"
    as_parquet.mkdir()
    (as_parquet / "pilots").mkdir()
    for csv in tiny_demo_copy.glob("*.csv"):
        pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""]).to_parquet(
            as_parquet / f"{csv.stem}.parquet"
        )
    for csv in (tiny_demo_copy / "pilots").glob("*.csv"):
        pd.read_csv(csv).to_parquet(as_parquet / "pilots" / f"{csv.stem}.parquet")
    a, b = load_tables(tiny_demo_copy), load_tables(as_parquet)
    for name in a.names:
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=True, obj=name)


def test_usage_events_are_optional_and_not_loaded_by_default(tiny_demo_copy):
    users = _csv(tiny_demo_copy, "users")
    pd.DataFrame(
        {
            "account_id": users["account_id"][:3],
            "user_id": users["user_id"][:3],
            "ts": ["2026-01-05T10:00:00"] * 3,
            "feature": ["search"] * 3,
        }
    ).to_csv(tiny_demo_copy / "usage_events.csv", index=False)
    tables = load_tables(tiny_demo_copy)
    assert "usage_events" not in tables.names and "usage_events" in tables.skipped
    with_events = load_tables(tiny_demo_copy, include_events=True)
    assert len(with_events["usage_events"]) == 3
    assert str(with_events["usage_events"]["ts"].dtype).startswith("datetime64")


def test_pandera_schema_matches_the_contract():
    schema = contract.pandera_schema("surveys")
    assert set(schema.columns) == set(contract.TABLES["surveys"].column_names)
    assert schema.columns["value_score"].nullable and not schema.columns["nps"].nullable


def test_a_file_that_cannot_be_read_says_why_and_is_not_called_missing(tiny_demo_copy):
    _reencode("accounts", "latin-1")(tiny_demo_copy)
    violations = validate_dir(tiny_demo_copy)
    (v,) = [v for v in violations if v.table == "accounts" and v.column == "—"]
    assert v.rule == "file cannot be read" and "not UTF-8" in v.examples[0] and "accounts.csv" in v.examples[0]
    assert not any(v.rule == "missing table" for v in violations)


def test_offsets_are_converted_to_utc_and_hide_nothing(tiny_demo_copy):
    """One ``+14:00`` offset among plain dates (a crash before) is a date like the others, in UTC."""
    _edit("contracts", "start_date", 0, "2022-12-17T00:00:00+14:00")(tiny_demo_copy)
    _edit("contracts", "arr", 1, "-5")(tiny_demo_copy)
    _events_at("2026-01-05T10:00:00", "2026-01-05T23:30:00-05:00", "2026-01-06")(tiny_demo_copy)
    violations = validate_dir(tiny_demo_copy)
    assert [(v.column, v.rule) for v in violations] == [("arr", "below minimum 0")]
    _edit("contracts", "arr", 1, "5")(tiny_demo_copy)
    tables = load_tables(tiny_demo_copy, include_events=True)
    assert tables.contracts.loc[0, "start_date"] == pd.Timestamp("2022-12-16")
    assert tables.usage_events["ts"].tolist() == [
        pd.Timestamp("2026-01-05 10:00"),
        pd.Timestamp("2026-01-06 04:30"),
        pd.Timestamp("2026-01-06"),
    ]


def test_values_that_cannot_be_typed_are_reported_with_every_other_violation(tiny_demo_copy):
    for mutate in (
        _edit("contracts", "seats", 0, "1e20"),
        _edit("contracts", "end_date", 1, "9999-12-31"),
        _edit("contracts", "start_date", 2, "2022-12-17T00:00:00+14:00"),
        _edit("surveys", "nps", 0, "11"),
        _edit("accounts", "industry", 0, ""),
    ):
        mutate(tiny_demo_copy)
    contracts = _csv(tiny_demo_copy, "contracts")
    found = {(v.table, v.column, v.rule.split(" ")[0]): v for v in validate_dir(tiny_demo_copy)}
    assert set(found) == {
        ("contracts", "seats", "whole"),
        ("contracts", "end_date", "date"),
        ("surveys", "nps", "above"),
        ("accounts", "industry", "missing"),
    }
    assert found["contracts", "seats", "whole"].examples == (f"{contracts.loc[0, 'contract_id']} ('1e20')",)
    assert found["contracts", "end_date", "date"].examples == (f"{contracts.loc[1, 'contract_id']} ('9999-12-31')",)


def test_the_as_of_date_bounds_recorded_dates(tiny_demo_copy):
    assert validate_dir(tiny_demo_copy, as_of="2026-09-30") == []
    late = validate_dir(tiny_demo_copy, as_of="2026-06-30")
    rules = {(v.table, v.column) for v in late}
    assert ("usage_monthly", "month") in rules and all(v.rule == "after the as-of date 2026-06-30" for v in late)
    months = load_tables(tiny_demo_copy).usage_monthly["month"]
    (monthly,) = [v for v in late if v.table == "usage_monthly"]
    assert monthly.count == int((months > pd.Timestamp("2026-06-30")).sum())
    with pytest.raises(ContractError):
        load_tables(tiny_demo_copy, as_of="2026-06-30")
    with pytest.raises(ParameterError, match="not a date"):
        validate_dir(tiny_demo_copy, as_of="2026-13-01")


def test_a_stray_row_cannot_move_the_data_end(tiny_demo_copy):
    """A stray month (after the as-of date or after a gap) is refused, so the data end never moves to it."""
    _edit("usage_monthly", "month", 0, "2026-12")(tiny_demo_copy)
    (v,) = validate_dir(tiny_demo_copy, as_of="2027-06-30")
    assert v.rule == "months without rows between the first and the last" and v.examples == ("2026-10 to 2026-11",)
    assert v.count == 2


def test_a_rule_that_fails_is_reported_and_hides_nothing(tiny_demo_copy, monkeypatch):
    def broken(name, typed, as_of):
        raise RuntimeError("boom\nsecond line")

    broken.__name__ = "_keys"
    monkeypatch.setattr(validation, "_TABLE_RULES", (validation._values, broken))
    _edit("contracts", "arr", 0, "-1")(tiny_demo_copy)
    violations = validate_dir(tiny_demo_copy)
    assert ("contracts", "arr", "below minimum 0") in {(v.table, v.column, v.rule) for v in violations}
    failed = [v for v in violations if v.rule == "could not be checked (keys rule)"]
    assert len(failed) == len(contract.TABLES) - 1  # every table read (usage_events is absent)
    assert failed[0].examples == ("RuntimeError: boom",)


def test_why_a_file_cannot_be_read_is_said_in_words():
    from insights.data.loading import unreadable_reason

    assert unreadable_reason(PermissionError(13, "Permission denied", "/x/accounts.csv")).startswith(
        "permission denied"
    )
    assert "not UTF-8" in unreadable_reason(UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte"))
    assert unreadable_reason(pd.errors.EmptyDataError("No columns to parse from file")).startswith("the file is empty")
    assert unreadable_reason(ValueError("odd\nsecond line")) == "ValueError: odd"
