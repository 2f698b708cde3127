"""The worked examples under examples/: suggest proposes their mappings, and each runs the whole report."""

from pathlib import Path

import pytest
import yaml

from insights.data.sources.suggest import propose, render

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: What `suggest` proposes; the rest of a mapping (filters, ARR unit, time zone) is the user's edit.
PROPOSED = ("file", "sep", "columns", "values", "date_format")


def _mapping(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / name / "sources.yaml").read_text())["tables"]


@pytest.mark.parametrize(
    ("example", "files"),
    [
        ("crm", ["Accounts.csv", "Opportunities.csv", "Tasks.csv"]),
        ("helpdesk", ["tickets.csv"]),
    ],
)
def test_suggest_proposes_the_examples_mapping(example, files):
    folder = EXAMPLES / example
    text = render(propose([folder / f for f in files]), folder)
    proposed = yaml.safe_load(text)["tables"]
    written = _mapping(example)
    assert sorted(proposed) == sorted(t for t, m in written.items() if not m["file"].startswith("../"))
    for table, mapping in proposed.items():
        want = {k: v for k, v in written[table].items() if k in PROPOSED}
        want["sep"] = want.get("sep", ",")
        got = {**mapping, "sep": mapping.get("sep", ",")}
        for key in ("columns", "values"):
            assert got.get(key, {}) == want.get(key, {}), (table, key)
        assert (got["file"], got["sep"], got.get("date_format")) == (want["file"], want["sep"], want.get("date_format"))
    assert "# not used: Stage, Close Date" in text if example == "crm" else "set `timezone:`" in text


def test_suggest_reads_only(tmp_path):
    from insights.cli.sources import suggest_cmd  # noqa: F401 - the command exists

    before = {p: p.read_bytes() for p in (EXAMPLES / "crm").iterdir()}
    propose(sorted((EXAMPLES / "crm").glob("*.csv")))
    assert {p: p.read_bytes() for p in (EXAMPLES / "crm").iterdir()} == before


PILOT_PAGES = ("07_pilot_readout.ipynb", "08_playbook_targeting.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize("example", ["crm", "helpdesk"])
def test_the_example_runs_the_whole_report(example, tmp_path, monkeypatch):
    from insights.report.runner import run_report

    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("INSIGHTS_PROCESSED_DIR", str(tmp_path / "processed"))
    monkeypatch.setenv("INSIGHTS_DATA_DIR", str(tmp_path / "raw"))  # no pilot recorded by `insights pilot assign`
    outcome = run_report(sources=EXAMPLES / example / "sources.yaml", jobs=2)
    assert outcome.ok, outcome.summary()
    status = {r.file: r.status for r in outcome.results}
    assert status["07_pilot_readout.ipynb"] == "skipped"  # neither export holds a pilot
    assert status["08_playbook_targeting.ipynb"] == "skipped"  # targeting reads a pilot too
    assert all(s == "ok" for f, s in status.items() if f not in PILOT_PAGES), status
    page = (outcome.folder / "index.html").read_text()
    if example == "crm":  # owners: the lists carry csm and are split into one book per owner
        header = (outcome.folder / "worklist.csv").read_text().splitlines()[0]
        assert header.startswith("rank,account_id,csm,")
        books = sorted(p.name for p in (outcome.folder / "by_owner").glob("worklist__*.csv"))
        assert set(books) <= {
            f"worklist__{n}.csv" for n in ("Ana_López", "Ben_Okafor", "Chloé_Martin", "Dev_Patel", "unassigned")
        }
        assert len(books) >= 2 and f"by_owner/{books[0]}" in page
    else:  # no survey tool: the drivers are ranked without satisfaction and perceived value, and it says so
        assert "no surveys: drivers ranked without satisfaction and perceived value" in page


def test_the_suggest_command_writes_its_proposal_once(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "config" / "sources.yaml"
    command = [sys.executable, "-m", "insights", "sources", "suggest", str(EXAMPLES / "helpdesk" / "tickets.csv")]
    res = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load(out.read_text())["tables"]["support_tickets"]["sep"] == ";"
    again = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
