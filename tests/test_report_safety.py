"""The report's pages and files are safe to open: no markup from the data, a strict CSP, no scripts."""

import os
import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from typer.testing import CliRunner

from insights.cli.app import app
from insights.errors import ParameterError, ReportLockedError
from insights.markup import markdown_text
from insights.report import headlines, pages
from insights.report.execution import NotebookResult, NotebookSpec, export_html
from insights.report.folder_lock import LOCK_FILE, report_lock
from insights.report.runner import load_report_spec, run_report, write_index

EVIL = "<script>alert(1)</script><svg onload=alert(1)><iframe src=javascript:alert(1)>"


def _policies(page: str) -> list[str]:
    """The Content-Security-Policy of every ``<meta http-equiv>`` of a page, as a browser reads them."""

    found = []

    class Metas(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
                found.append(a.get("content"))

    Metas().feed(page)
    return found


def _page(tmp_path: Path, outputs) -> str:
    nb = new_notebook(cells=[new_markdown_cell("# A page"), new_code_cell("x = 1", outputs=outputs)])
    nbformat.write(nb, str(tmp_path / "p.ipynb"))
    export_html(tmp_path / "p.ipynb", tmp_path / "p.html", demo=True)
    return (tmp_path / "p.html").read_text()


def test_notebook_pages_carry_the_policy_and_no_script(tmp_path):
    page = _page(tmp_path, [])
    head = page[: page.index("</head>")]
    assert _policies(head) == [pages.CONTENT_SECURITY_POLICY] and "script-src 'none'" in pages.CONTENT_SECURITY_POLICY
    assert head.index("Content-Security-Policy") < head.index("<style")  # before anything it governs
    assert "<script" not in page  # no require.js, MathJax, Mermaid or widget loader
    assert "DEMO DATA" in page


def test_markdown_from_the_data_reaches_the_page_as_text(tmp_path):
    shown = markdown_text("**Pilot <code>{}</code>** — {}", EVIL, EVIL)
    page = _page(tmp_path, [new_output("display_data", data={"text/markdown": shown, "text/plain": "x"})])
    assert not re.search(r"<(script|svg|iframe)", page, re.IGNORECASE)
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2


def test_front_page_carries_the_policy(tmp_path):
    spec = NotebookSpec(file="01_x.ipynb", title="x")
    write_index(tmp_path, "2026Q3", [NotebookResult(spec.file, spec.title, "ok", 1.0)], [spec], False, {"t": 1})
    page = (tmp_path / "index.html").read_text()
    assert _policies(page) == [pages.CONTENT_SECURITY_POLICY]
    assert page.index("Content-Security-Policy") < page.index("<style")


# ---------------------------------------------------------------- one run at a time, no residue

HOLD_LOCK = """
import sys, time
from insights.report.folder_lock import report_lock
with report_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def _hold_lock(root):

    child = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(root)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_second_run_is_refused_while_another_writes_and_a_dead_holder_is_taken_over(tmp_path, monkeypatch, capfd):

    root = tmp_path / "reports"
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(root))
    child = _hold_lock(root)
    try:
        with pytest.raises(ReportLockedError, match=rf"another report is being written into .*process {child.pid} "):
            run_report(data_dir=tmp_path / "no-data")  # refused before anything else
        result = CliRunner().invoke(app, ["report", "--data", str(tmp_path / "no-data")])
        assert result.exit_code == 2 and "another report is being written" in result.output
        assert "Traceback" not in result.output
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert (root / LOCK_FILE).exists()  # left by the killed holder; its lock died with it
    capfd.readouterr()
    with report_lock(root):
        assert f"pid={os.getpid()}" in (root / LOCK_FILE).read_text()
    assert f"from process {child.pid}, which ended without releasing it" in capfd.readouterr().err
    assert not (root / LOCK_FILE).exists()  # a finished run leaves no lock file


def test_residue_of_killed_runs_is_removed_at_the_next_run(tmp_path, monkeypatch):

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    root = tmp_path / "reports"
    for name in (f".2026Q3.tmp-{dead.pid}", f".2026Q2.tmp-{os.getpid()}", f".2025Q4.backup-{dead.pid}", "2025Q4"):
        (root / name).mkdir(parents=True)
        (root / name / "index.html").write_text(name)
    (root / f".2026Q1.backup-{dead.pid}").mkdir()  # killed between the two renames: the only copy
    (root / f".2026Q1.backup-{dead.pid}" / "index.html").write_text("Q1")
    (root / f".risk_list.csv.tmp-{dead.pid}-0a0b0c0d").write_text("half")
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(root))
    with pytest.raises(ParameterError, match="jobs"):  # fails after the clean-up, before any notebook
        run_report(data_dir=tmp_path / "no-data", jobs=0)
    assert sorted(p.name for p in root.iterdir()) == sorted(["2025Q4", "2026Q1", f".2026Q2.tmp-{os.getpid()}"])
    assert (root / "2026Q1" / "index.html").read_text() == "Q1"
    assert (root / "2025Q4" / "index.html").read_text() == "2025Q4"


def test_a_reports_path_that_is_a_file_is_a_clear_error(tmp_path, monkeypatch):

    (tmp_path / "reports").write_text("not a folder")
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    with pytest.raises(ParameterError, match=r"reports folder .* is a file, not a folder"):
        run_report(data_dir=tmp_path / "no-data")


def _notebook(path, body):
    nb = new_notebook(cells=[new_code_cell('quarter = "2026Q3"\ndata_dir = None'), new_code_cell(body)])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.mark.slow
def test_sigkill_mid_report_keeps_the_previous_report_and_the_next_run_leaves_no_residue(
    tmp_path, monkeypatch, tiny_demo_dir
):

    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "ok.ipynb", "print('fine', quarter)")
    _notebook(tmp_path / "notebooks" / "slow.ipynb", "import time\ntime.sleep(120)")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "report.yaml").write_text(
        "notebooks:\n  - {file: ok.ipynb, title: Fine}\n  - {file: slow.ipynb, title: Slow}\n"
    )
    root = tmp_path / "reports"
    monkeypatch.setenv("INSIGHTS_HOME", str(tmp_path))
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(root))
    first = run_report(data_dir=tiny_demo_dir, specs=[NotebookSpec("ok.ipynb", "Fine")], jobs=1)
    assert first.ok
    before = {p.relative_to(first.folder): p.read_bytes() for p in first.folder.rglob("*") if p.is_file()}

    # a forced run of the configured report (ok + slow), killed while the slow notebook runs
    run = subprocess.Popen(
        [sys.executable, "-m", "insights", "report", "--data", str(tiny_demo_dir), "--force", "--jobs", "1"],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 120
    for line in run.stderr:
        if "slow.ipynb (Slow) started" in line or time.monotonic() > deadline:
            break
    tmp = root / f".{first.quarter}.tmp-{run.pid}"
    assert tmp.is_dir(), "the killed run had not started writing"
    run.send_signal(signal.SIGKILL)
    run.wait()

    after = {p.relative_to(first.folder): p.read_bytes() for p in first.folder.rglob("*") if p.is_file()}
    assert after == before  # the previous report is intact, byte for byte
    assert tmp.is_dir() and (root / LOCK_FILE).exists()  # what the kill left

    again = run_report(data_dir=tiny_demo_dir, specs=[NotebookSpec("ok.ipynb", "Fine")], jobs=1, force=True)
    assert again.ok and again.folder == first.folder
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # no temporary folder, no lock


# ---------------------------------------------------------------- hostile data through a real report

XSS = ["<script>alert(1)</script>", "<svg onload=alert(1)>", "<iframe src=javascript:alert(1)>", "[x](javascript:a)"]
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "=cmd|'/C calc'!A0", "@SUM(1+1)", "+1+cmd", "-2+3"]


class _Markup(HTMLParser):
    """Every tag, attribute and text of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = set(), [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.slow
def test_hostile_names_and_descriptions_reach_pages_as_text_and_csvs_sanitised(demo_copy, tmp_path, monkeypatch):
    import csv
    import json

    import openpyxl
    import pandas as pd

    from insights.data.output_files import FORMULA_TRIGGERS

    payloads = XSS + FORMULAS
    accounts = pd.read_csv(demo_copy / "accounts.csv", dtype=str, keep_default_na=False)
    accounts["name"] = [f"{payloads[i % len(payloads)]}" for i in range(len(accounts))]
    accounts.to_csv(demo_copy / "accounts.csv", index=False)
    (plan_file,) = (demo_copy / "pilots").glob("*.json")
    plan = json.loads(plan_file.read_text())
    plan["description"] = " ".join(XSS)
    plan_file.write_text(json.dumps(plan, indent=1))
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    specs = [s for s in load_report_spec() if s.stem in ("03_health_and_renewals", "04_churn_risk", "07_pilot_readout")]
    outcome = run_report(data_dir=demo_copy, specs=specs)
    assert outcome.ok, outcome.summary()

    for page in sorted(outcome.folder.glob("*.html")):
        markup = _Markup()
        markup.feed(page.read_text())
        assert not markup.tags & {"script", "svg", "iframe", "object", "embed"}, page.name
        assert not [a for a in markup.attrs if a[0].startswith("on") or "javascript:" in (a[1] or "")], page.name
    readout = _Markup()
    readout.feed((outcome.folder / "07_pilot_readout.html").read_text())
    assert " ".join(XSS) in " ".join("".join(readout.text).split())  # shown, as text
    actions = _Markup()
    actions.feed((outcome.folder / "04_churn_risk.html").read_text())  # the worklist shows account names
    assert "<script>alert(1)</script>" in "".join(actions.text)

    for path in sorted(outcome.folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            cells = [cell for row in csv.reader(fh) for cell in row]
        unsafe = [
            c for c in cells if c.startswith(FORMULA_TRIGGERS) and not re.fullmatch(r"[+-]?[\d.]+(e[+-]?\d+)?", c)
        ]
        assert unsafe == [], (path.name, unsafe[:5])
    names = pd.read_csv(outcome.folder / "worklist.csv", dtype=str, keep_default_na=False)["name"]
    assert set(names) <= {("'" + p if p.startswith(FORMULA_TRIGGERS) else p) for p in payloads}
    assert any(n.startswith("'") for n in names) and len(set(names)) > 1
    book = openpyxl.load_workbook(outcome.folder / "worklist.xlsx")
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)


@pytest.mark.slow
def test_a_browser_enforces_the_policy_and_still_shows_styles_and_figures(tmp_path):
    """Chromium runs no script on a notebook page, and blocks nothing the page needs."""
    import base64
    import io
    import shutil

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("Chromium is not installed; the policy was not checked in a browser")
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([1, 2, 3])
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    figure = new_output("display_data", data={"image/png": base64.b64encode(png.getvalue()).decode(), "text/plain": ""})
    injected = new_output(
        "display_data", data={"text/html": "<script>document.title = 'pwned'</script><p>ok</p>", "text/plain": ""}
    )
    _page(tmp_path, [figure, injected])
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0"]
    run = subprocess.run(
        [browser, *flags, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", (tmp_path / "p.html").as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "<title>pwned</title>" not in run.stdout and "<img" in run.stdout and "DEMO DATA" in run.stdout
    violations = [line for line in run.stderr.splitlines() if "Content Security Policy" in line]
    assert violations and all("script-src" in line for line in violations), violations  # only the injected script


FRONT_PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "div", "main", "h1", "h2", "h3", "section"}
FRONT_PAGE_TAGS |= {"table", "tr", "th", "td", "p", "a", "b"}


@given(st.lists(st.text(max_size=30), min_size=8, max_size=8))
def test_any_text_on_the_front_page_stays_text(tmp_path_factory, texts):
    """Headlines, titles, summaries, errors and table names from anywhere reach index.html escaped."""
    folder = tmp_path_factory.mktemp("index")
    title, key, value, note, spec_title, summary, error, table = texts
    headlines.save(folder, "01_x", title, {key: value}, note=note)
    spec = NotebookSpec(file="01_x.ipynb", title=spec_title, summary=summary)
    result = NotebookResult(spec.file, spec.title, "failed", 1.0, error=error, failed_cell=2)
    write_index(folder, "2026Q3", [result], [spec], demo=True, row_counts={table: 1})
    markup = _Markup()
    markup.feed((folder / "index.html").read_text())
    assert markup.tags <= FRONT_PAGE_TAGS
    assert {k for k, _ in markup.attrs} <= {"lang", "charset", "http-equiv", "content", "href", "class", "id"} | {
        "style",
        "data-demo",
    }
    shown = "".join(markup.text)
    assert all(t.strip() == "" or " ".join(t.split()) in " ".join(shown.split()) for t in (key, value, error))
