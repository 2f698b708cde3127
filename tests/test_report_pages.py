"""The report as a reader sees it: every page of a demo report rendered, raw output checked, figures consistent.

Slow: runs the whole report on the session's demo data. The browser test renders each page in
headless Chromium (``chromium`` on PATH or /usr/bin/chromium; CI installs it), saves a screenshot
under ``test-artifacts/report-pages/`` and checks the text of the rendered DOM.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from insights.report import headlines, summary

#: Strings that must never reach a reader: raw Python, pandas and NumPy output.
FORBIDDEN = ("Traceback", "Warning", "PosixPath", "NaN", "NaT", "<NA>", "e+0")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "report-pages"
#: Figures a sentence quotes: dollars ($5.62M, $513K), percentages with a decimal, counts with separators.
FIGURE = re.compile(r"\$[\d,]+(?:\.\d+)?[MK]?|\d+\.\d%|\b\d{1,3}(?:,\d{3})+\b")


def page_text(markup: str) -> str:
    """The visible text of an HTML page: no styles, scripts, tags or embedded images; entities decoded."""
    markup = re.sub(r"<(style|script)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    markup = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(markup))


@pytest.fixture(scope="module")
def report_folder(demo_report) -> Path:
    return demo_report


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    )


def _browser(page: Path, *args: str) -> subprocess.CompletedProcess:
    exe = _chromium()
    assert exe is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *args,
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


@pytest.mark.slow
def test_no_raw_output_in_any_page(report_folder):
    pages = sorted(report_folder.glob("*.html"))
    assert {"index.html", "method.html"} <= {p.name for p in pages} and len(pages) >= 9
    found = {p.name: [w for w in FORBIDDEN if w in page_text(p.read_text(encoding="utf-8"))] for p in pages}
    assert not {k: v for k, v in found.items() if v}


@pytest.mark.slow
def test_every_page_in_headless_chromium(report_folder):
    if _chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for page in sorted(report_folder.glob("*.html")):
        dom = _browser(page, "--dump-dom").stdout
        text = page_text(dom)
        assert len(text) > 200, page.name  # the page rendered
        bad = [w for w in FORBIDDEN if w in text]
        if bad:
            problems[page.name] = bad
        shot = ARTIFACTS / f"{page.stem}.png"
        _browser(page, "--window-size=1100,4000", f"--screenshot={shot}")
        assert shot.stat().st_size > 10_000
    assert not problems


@pytest.mark.slow
def test_index_figures_agree_with_their_pages(report_folder):
    """Every figure a summary sentence quotes is printed on the page the sentence links to."""
    docs = headlines.load_all(report_folder)
    parts = summary.build(docs, *summary.previous_values(report_folder, report_folder.name))
    assert {"risk", "pilot"} <= {p.key for p in parts}
    index = page_text((report_folder / "index.html").read_text(encoding="utf-8"))
    checked = 0
    for part in parts:
        for s in part.sentences:
            assert s.text in index
            page = page_text((report_folder / s.href.split("#")[0]).read_text(encoding="utf-8"))
            for figure in FIGURE.findall(s.text):
                assert figure in page, f"{figure!r} of {s.text!r} is not on {s.href}"
                checked += 1
    assert checked > 0


@pytest.mark.slow
def test_one_churn_rate_on_every_page(report_folder):
    """02, 05, 06 print the same churn sentence; the index quotes the same rate and window."""
    pattern = re.compile(r"Churn: (\d+\.\d% of [\d,]+ renewals due \S+ to \S+ churned \([^)]*\))")
    shown = {}
    for stem in ("02_segmentation", "05_retention_drivers", "06_pilot_design"):
        text = page_text((report_folder / f"{stem}.html").read_text(encoding="utf-8"))
        shown[stem] = pattern.findall(text)
    assert all(len(v) == 1 for v in shown.values()), shown
    assert len({v[0] for v in shown.values()}) == 1
    rate, rest = shown["02_segmentation"][0].split(" of ", 1)
    window = re.search(r"renewals due (\S+ to \S+) churned", rest).group(1)
    index = page_text((report_folder / "index.html").read_text(encoding="utf-8"))
    assert f"Logo churn was {rate} of the renewals due {window}." in index
