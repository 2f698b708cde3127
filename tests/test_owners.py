"""Account owners: an optional csm column that action lists carry and split on, one book of business each."""

import pandas as pd
import pytest

from insights.analyses.renewals import owners
from insights.data.loading import load_tables
from insights.errors import ParameterError

ACCOUNTS = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A4"], "csm": ["Maria García", "Li Wei", None, "Li Wei"]})
LIST = pd.DataFrame({"account_id": ["A4", "A3", "A1", "A2"], "arr": [4.0, 3.0, 1.0, 2.0], "rank": [1, 2, 3, 4]})


def test_the_owner_column_follows_the_account_id():
    out = owners.with_owner(LIST, ACCOUNTS)
    assert list(out.columns) == ["account_id", "csm", "arr", "rank"]
    assert out["csm"].tolist()[:1] == ["Li Wei"] and pd.isna(out["csm"].iloc[1])
    assert owners.with_owner(LIST, ACCOUNTS.drop(columns="csm")) is LIST  # no owners: untouched
    with pytest.raises(ParameterError, match="account_id"):
        owners.with_owner(LIST.drop(columns="account_id"), ACCOUNTS)


def test_one_file_per_owner_with_that_owners_rows_in_order(tmp_path):
    listed = owners.with_owner(LIST, ACCOUNTS)
    written = owners.split_by_owner(listed, tmp_path, "worklist")
    assert sorted(written) == ["Li Wei", "Maria García", "unassigned"]
    assert written["Li Wei"].name == "worklist__Li_Wei.csv" and written["Li Wei"].parent.name == "by_owner"
    books = {o: pd.read_csv(p, dtype=str) for o, p in written.items()}
    assert books["Li Wei"]["account_id"].tolist() == ["A4", "A2"]  # the list's order is kept
    assert sum(len(b) for b in books.values()) == len(LIST)  # every row in exactly one book
    assert owners.split_by_owner(LIST, tmp_path, "x") == {}
    with pytest.raises(ParameterError, match="already exists"):
        owners.split_by_owner(listed, tmp_path, "worklist")


def test_owners_whose_file_names_clash_are_refused(tmp_path):
    listed = pd.DataFrame({"account_id": ["A1", "A2"], "csm": ["Jo Smith", "Jo/Smith"]})
    with pytest.raises(ParameterError, match="same file name"):
        owners.split_by_owner(listed, tmp_path, "worklist")


def test_csm_is_an_optional_contract_column(tiny_demo_copy):
    assert "csm" not in load_tables(tiny_demo_copy, use_cache=False).accounts.columns
    accounts = pd.read_csv(tiny_demo_copy / "accounts.csv", dtype=str)
    accounts["csm"] = ["Ana", ""] * (len(accounts) // 2) + ["Ana"] * (len(accounts) % 2)
    accounts.to_csv(tiny_demo_copy / "accounts.csv", index=False)
    typed = load_tables(tiny_demo_copy, use_cache=False).accounts
    assert typed["csm"].isna().sum() == len(accounts) // 2 and (typed["csm"].dropna() == "Ana").all()
