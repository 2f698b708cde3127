"""The report's pages and files are safe to open: no markup from the data, a strict CSP, no scripts."""

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from insights.markup import markdown_text
from insights.report import pages
from insights.report.execution import NotebookResult, NotebookSpec, export_html
from insights.report.runner import write_index

EVIL = "<script>alert(1)</script><svg onload=alert(1)><iframe src=javascript:alert(1)>"


def _policies(page: str) -> list[str]:
    """The Content-Security-Policy of every ``<meta http-equiv>`` of a page, as a browser reads them."""
    from html.parser import HTMLParser

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
