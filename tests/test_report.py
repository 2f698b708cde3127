"""The report runner end to end: outputs, manifest, atomic replace, refusal and failure handling."""

import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from insights.data import paths
from insights.errors import ConfigError, ReportExistsError
from insights.report.runner import NotebookSpec, load_report_spec, run_report


def _leftovers(root):
    return [p.name for p in root.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_quarterly_report_end_to_end(demo_dir, demo_report):
    """The session's demo report (built by run_report), then the runner's skip, refusal and forced replace."""
    assert demo_report.name == "2026Q3"
    folder = paths.reports_dir() / "2026Q3"
    shutil.copytree(demo_report, folder)
    for spec in load_report_spec():
        assert (folder / spec.file).exists() and (folder / f"{spec.stem}.html").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["demo_data"] is True
    assert manifest["parameters"]["quarter"] == "2026Q3"
    assert manifest["row_counts"]["accounts"] == 300
    assert manifest["seeds"] == {"demo_data_seed": 11, "demo_accounts": 300}
    assert "contracts.csv" in manifest["inputs"] and len(manifest["inputs"]["contracts.csv"]) == 64
    assert all(nb["duration_s"] > 0 for nb in manifest["notebooks"])
    page = (folder / "01_data_quality.html").read_text()
    assert "DEMO DATA" in page
    assert "ensure_data(" not in page, "HTML pages must not show code"
    assert "<img" in page  # figures are embedded
    pngs = sorted((folder / "figures").glob("*.png"))
    assert any(p.name.startswith("01_data_quality_") for p in pngs)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    index = (folder / "index.html").read_text()
    assert 'href="01_data_quality.html"' in index and "DEMO DATA" in index and "FAILED" not in index
    # the front page repeats the notebooks' own headline numbers
    for section in ("01_data_quality", "03_health_and_renewals", "07_pilot_readout"):
        assert f'id="h-{section}"' in index
    assert "Newcombe" in index and "renewals due 2026Q3" in index
    executed = nbformat.read(str(folder / "01_data_quality.ipynb"), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "2026Q3" in injected[0].source and str(demo_dir) in injected[0].source

    # the same inputs again: nothing to do
    again = run_report(data_dir=demo_dir)
    assert again.skipped and again.folder == folder

    import pandas as pd

    book = pd.read_excel(folder / "worklist.xlsx", sheet_name=None)
    assert set(book) == {p.stem for p in folder.glob("*.csv")}
    assert len(book["worklist"]) == len(pd.read_csv(folder / "worklist.csv"))
    assert 'href="worklist.csv"' in index
    assert "worklist.xlsx" in manifest["outputs"] and "figures/" in " ".join(manifest["outputs"])
    csvs = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    assert {"worklist.csv", "coverage_plan.csv", "renewal_pipeline_next_quarter.csv"} <= set(csvs)
    assert not {"action_list.csv", "risk_list.csv"} & set(csvs)

    # other inputs: refused without force, the old report untouched
    manifest["fingerprint"] = "something else"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportExistsError, match="--force"):
        run_report(data_dir=demo_dir)
    assert json.loads((folder / "manifest.json").read_text())["fingerprint"] == "something else"

    # with force: replaced (here by one real notebook, health and renewals, to keep the suite fast; the
    # PostgreSQL test compares a whole second report with this one), no temporary or backup folder left
    health = [spec for spec in load_report_spec() if spec.stem == "03_health_and_renewals"]
    replaced = run_report(data_dir=demo_dir, specs=health, force=True)
    assert replaced.ok and replaced.quarter == "2026Q3" and not replaced.skipped and replaced.folder == folder
    assert json.loads((folder / "manifest.json").read_text())["fingerprint"] != "something else"
    assert not (folder / "worklist.csv").exists()  # the old report was replaced, not merged into
    # same inputs, parameters and seeds, another process: a byte-identical coverage plan
    assert {p.name: p.read_bytes() for p in folder.glob("*.csv")} == {"coverage_plan.csv": csvs["coverage_plan.csv"]}
    assert _leftovers(paths.reports_dir()) == []


def _tiny_notebook(path, body):
    nb = new_notebook(cells=[new_code_cell('quarter = "2026Q3"\ndata_dir = None'), new_code_cell(body)])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture
def tiny_project(tmp_path, monkeypatch):
    """A project root with two tiny notebooks, one of which fails in its second code cell."""
    (tmp_path / "notebooks").mkdir()
    _tiny_notebook(tmp_path / "notebooks" / "ok.ipynb", "print('fine', quarter)")
    _tiny_notebook(tmp_path / "notebooks" / "broken.ipynb", "raise RuntimeError('segment table is empty')")
    monkeypatch.setenv("INSIGHTS_HOME", str(tmp_path))
    monkeypatch.setenv("INSIGHTS_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path


@pytest.mark.slow
def test_a_failing_notebook_does_not_stop_the_others(tiny_project, demo_dir):
    specs = [NotebookSpec("broken.ipynb", "Broken"), NotebookSpec("ok.ipynb", "Fine")]
    outcome = run_report(data_dir=demo_dir, specs=specs)
    assert not outcome.ok
    broken, fine = outcome.results
    assert broken.status == "failed" and "segment table is empty" in broken.error and broken.failed_cell == 2
    assert fine.status == "ok"
    folder = outcome.folder
    assert (folder / "broken.ipynb").exists() and (folder / "broken.html").exists()
    index = (folder / "index.html").read_text()
    assert "FAILED" in index and "segment table is empty" in index
    assert json.loads((folder / "manifest.json").read_text())["status"] == "failed"
    assert "broken.ipynb (cell 2)" in outcome.summary() or "FAILED broken.ipynb" in outcome.summary()


@pytest.mark.slow
def test_a_page_that_cannot_be_written_fails_that_notebook_only(tiny_project, demo_dir, monkeypatch):
    from insights.report import execution as report_exec

    real = report_exec.export_html

    def export_html(ipynb, out, demo):
        if ipynb.name == "h1.ipynb":
            raise OSError("No space left on device")
        return real(ipynb, out, demo)

    monkeypatch.setattr(report_exec, "export_html", export_html)
    for i in (1, 2):
        _headline_notebook(tiny_project / "notebooks" / f"h{i}.ipynb", f"h{i}", f"v{i}")
    outcome = run_report(
        data_dir=demo_dir, specs=[NotebookSpec("h1.ipynb", "One"), NotebookSpec("h2.ipynb", "Two")], jobs=1
    )
    first, second = outcome.results
    assert first.status == "failed" and "page could not be written" in first.error and "No space" in first.error
    assert second.status == "ok" and (outcome.folder / "h2.html").exists() and not outcome.ok
    assert "FAILED" in (outcome.folder / "index.html").read_text()


@pytest.mark.slow
def test_cli_exits_non_zero_and_names_the_failed_notebook(tiny_project, demo_dir):
    (tiny_project / "config").mkdir()
    (tiny_project / "config" / "report.yaml").write_text(
        "notebooks:\n  - file: ok.ipynb\n    title: Fine\n  - file: broken.ipynb\n    title: Broken\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "insights", "report", "--data", str(demo_dir)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    assert res.returncode == 1
    assert "broken.ipynb (cell 2)" in res.stderr and "Traceback" not in res.stderr.split("error:")[-1]


def test_report_spec_is_validated(tiny_project):
    cfg = tiny_project / "config"
    cfg.mkdir()
    (cfg / "report.yaml").write_text("notebooks:\n  - file: missing.ipynb\n    title: Gone\n")
    with pytest.raises(ConfigError, match=r"missing\.ipynb does not exist"):
        load_report_spec()
    (cfg / "report.yaml").write_text("notebooks: []\n")
    with pytest.raises(ConfigError, match="non-empty"):
        load_report_spec()


def test_repository_report_spec_is_valid():
    specs = load_report_spec()
    assert specs[0].file == "01_data_quality.ipynb"


# ---------------------------------------------------------------- rendered in a real browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    """Path of a Chromium binary, installing Debian's package when missing (skip if impossible)."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            "apt-get update -qq && apt-get install -y -qq chromium", shell=True, capture_output=True, timeout=900
        )
        if shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.skip(
        "Chromium is not installed and could not be installed with apt-get (needs root and Debian's "
        "package index); the HTML pages were not rendered in a browser."
    )


def _render(browser: str, page, tmp_path, screenshot=None) -> str:
    args = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    if screenshot:
        subprocess.run(
            [*args, "--window-size=1100,2400", f"--screenshot={screenshot}", page.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return subprocess.run(
        [*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout


@pytest.mark.slow
def test_pages_render_in_a_browser_without_broken_images_or_links(demo_report, tmp_path):
    """Renders every page of the session's demo report in Chromium: no broken image or link."""
    from html.parser import HTMLParser

    folder = demo_report
    browser = _chromium()
    artifacts = paths.project_root() / "test-artifacts"
    artifacts.mkdir(exist_ok=True)

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.images, self.links, self.ids = [], [], set()

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "img":
                self.images.append(a.get("src", ""))
            if tag == "a" and a.get("href"):
                self.links.append(a["href"])
            if a.get("id"):
                self.ids.add(a["id"])

    pages = sorted(folder.glob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        dom = _render(browser, page, tmp_path, artifacts / f"report_{page.stem}.png" if page.stem == "index" else None)
        parsed = Links()
        parsed.feed(dom)
        for src in parsed.images:
            assert src.startswith("data:image/") or (folder / src).exists(), f"{page.name}: broken image {src[:60]}"
        for href in parsed.links:
            if href.startswith(("http://", "https://", "mailto:", "#")):
                continue
            assert (folder / href.split("#")[0]).exists(), f"{page.name}: broken link {href}"
        if page.stem == "index":
            assert {"sections", "data-summary", "h-03_health_and_renewals"} <= parsed.ids
        else:
            assert "DEMO DATA" in dom
    shot = artifacts / "report_index.png"
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- notebooks side by side


def _headline_notebook(path, section, value):
    nb = new_notebook(
        cells=[
            new_code_cell('quarter = "2026Q3"\ndata_dir = None\noutput_dir = None'),
            new_code_cell(
                "from insights import context as dataset\nfrom insights.report import headlines\n"
                "tables = dataset.load(data_dir)\n"
                f"headlines.save(output_dir, {section!r}, {section!r}, "
                f"{{'accounts': f'{{len(tables.accounts):,}}', 'value': {value!r}}})"
            ),
        ]
    )
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.mark.slow
def test_parallel_run_matches_a_serial_one_and_reports_failures_in_order(tiny_project, demo_dir, capfd):
    nbs = tiny_project / "notebooks"
    for i in (1, 2, 3):
        _headline_notebook(nbs / f"h{i}.ipynb", f"h{i}", f"v{i}")
    (nbs / "dies.ipynb").write_text(
        (nbs / "ok.ipynb").read_text().replace("print('fine', quarter)", "import os\\nos._exit(3)")
    )
    specs = [
        NotebookSpec("h1.ipynb", "One"),
        NotebookSpec("broken.ipynb", "Broken"),
        NotebookSpec("h2.ipynb", "Two"),
        NotebookSpec("dies.ipynb", "Kernel dies"),
        NotebookSpec("h3.ipynb", "Three"),
    ]
    parallel = run_report(data_dir=demo_dir, specs=specs, jobs=2)
    err = capfd.readouterr().err
    assert [r.file for r in parallel.results] == [s.file for s in specs]
    assert [r.status for r in parallel.results] == ["ok", "failed", "ok", "failed", "ok"]
    broken, dies = parallel.results[1], parallel.results[3]
    assert broken.failed_cell == 2 and "segment table is empty" in broken.error
    assert dies.error and "[4/5] dies.ipynb FAILED" in err
    assert "[2/5] broken.ipynb FAILED at cell 2" in err and "broken.ipynb cell 2/2 failed after" in err
    assert "Running 5 notebook(s), 2 at a time." in err and "h3.ipynb cell 2/2 done in" in err
    assert "IPKernelApp" not in err  # the kernels' own log (an encryption warning each) stays off the terminal
    index_parallel = (parallel.folder / "index.html").read_text()
    headlines_parallel = {p.name: p.read_bytes() for p in (parallel.folder / "headlines").glob("*.json")}
    assert set(headlines_parallel) == {"h1.json", "h2.json", "h3.json"}

    serial = run_report(data_dir=demo_dir, specs=specs, jobs=1, force=True)
    assert [r.status for r in serial.results] == [r.status for r in parallel.results]
    assert {p.name: p.read_bytes() for p in (serial.folder / "headlines").glob("*.json")} == headlines_parallel
    index_serial = (serial.folder / "index.html").read_text()
    start, end = index_serial.index("<h2>Headlines by section</h2>"), index_serial.index("<h2>Sections</h2>")
    assert index_serial[start:end] == index_parallel[start:end] and "v3" in index_serial[start:end]
    assert _leftovers(paths.reports_dir()) == []


def test_jobs_must_be_a_positive_whole_number(tiny_project, demo_dir):
    from insights.errors import ParameterError

    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParameterError, match="jobs"):
            run_report(data_dir=demo_dir, specs=[NotebookSpec("ok.ipynb", "Fine")], jobs=bad)


@pytest.mark.slow
def test_report_validates_once_and_notebooks_use_the_typed_cache(tiny_project, demo_dir):
    from insights.data import table_cache

    raw_before = sorted((p.relative_to(demo_dir), p.stat().st_mtime_ns) for p in demo_dir.rglob("*"))
    _headline_notebook(tiny_project / "notebooks" / "h1.ipynb", "h1", "v1")
    outcome = run_report(data_dir=demo_dir, specs=[NotebookSpec("h1.ipynb", "One")], jobs=1)
    assert outcome.ok
    entry = table_cache.entry(table_cache.input_hashes(demo_dir))
    assert entry is not None and entry.parent == paths.processed_dir() / table_cache.FOLDER
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["inputs"] == table_cache.input_hashes(demo_dir)
    assert sorted((p.relative_to(demo_dir), p.stat().st_mtime_ns) for p in demo_dir.rglob("*")) == raw_before


def test_front_page_shows_hostile_text_as_text(tmp_path):
    """Every value on the front page goes through the autoescaping templates (stored XSS)."""
    from insights.report import headlines
    from insights.report.runner import write_index

    evil = "<script>alert(1)</script>"
    headlines.save(
        tmp_path, "01_x", f"title {evil}", {f"key {evil}": f"value {evil}"}, note="note <svg onload=alert(1)>"
    )
    spec = NotebookSpec(file="01_x.ipynb", title=f"t {evil}", summary=f"s {evil}")
    from insights.report.execution import NotebookResult

    result = NotebookResult(spec.file, spec.title, "failed", 1.0, error=f"boom {evil}", failed_cell=3)
    write_index(tmp_path, "2026Q3", [result], [spec], demo=True, row_counts={f"t{evil}": 1234})
    page = (tmp_path / "index.html").read_text()
    assert "<script" not in page and "<svg" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 7
    assert "DEMO DATA" in page and "1,234" in page and "FAILED</b> at cell 3" in page


def test_headline_values_are_kept_as_plain_numbers(tmp_path):
    import json

    import numpy as np

    from insights.report import headlines

    path = headlines.save(
        tmp_path, "x", "X", {"a": "1"}, values={"q": np.float64(2.5), "n": np.int64(3), "gap": np.nan}
    )
    assert json.loads(path.read_text())["values"] == {"q": 2.5, "n": 3, "gap": None}
    assert "values" not in json.loads(headlines.save(tmp_path, "y", "Y", {"a": "1"}).read_text())
