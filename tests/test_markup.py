"""Text from the data shown as text: ``insights.markup`` through nbconvert's own Markdown renderer."""

from html.parser import HTMLParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from insights.markup import markdown, markdown_text, text

HOSTILE = [
    "<script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "[click](javascript:alert(1))",
    "![x](x onerror=alert(1))",
    "<img src=x onerror=alert(1)>",
    "`code` **bold** _em_ ~~del~~ $x^2$",
    "line\n# heading\n- item\n> quote\n    indented\n1. one",
    "&lt;script&gt; &amp; &#60;b&#62; \\<b\\>",
    "https://evil.example www.evil.example <https://evil.example>",
    "a | table | row\n|---|---|",
]


class Parsed(HTMLParser):
    """Tags, attributes and text of a fragment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def _render(markdown_source: str) -> Parsed:
    parsed = Parsed()
    parsed.feed(markdown2html_mistune(markdown_source))
    parsed.close()
    return parsed


def _words(value: str) -> str:
    """What a reader sees: control characters are blanks, runs of white space are one."""
    return " ".join("".join(" " if (c < " " or c in "\x7f\x85\u2028\u2029") else c for c in value).split())


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_renders_as_that_text_and_nothing_else(value):
    parsed = _render(markdown_text("**Pilot <code>{}</code>** — {}", value, value))
    assert parsed.tags == ["p", "strong", "code"] and parsed.attrs == []
    assert _words("".join(parsed.text)) == _words(f"Pilot {value} — {value}")


@given(st.text(max_size=60))
@example("<script>alert(1)</script>")
@example("\\\n<b>")
def test_any_text_renders_as_itself_without_markup(value):
    parsed = _render(text(value))
    assert set(parsed.tags) <= {"p"} and parsed.attrs == []
    assert _words("".join(parsed.text)) == _words(value)


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=20), min_size=1, max_size=4))
def test_every_field_of_a_template_is_escaped(values):
    template = " · ".join("**a{}b**" for _ in values)
    parsed = _render(markdown_text(template, *values))
    assert set(parsed.tags) == {"p", "strong"} and parsed.attrs == []
    assert _words("".join(parsed.text)) == _words(" · ".join(f"a{v}b" for v in values))


def test_format_specs_apply_before_escaping():
    assert markdown_text("{:.1%} of {:,} in {}", 0.25, 12345, "a_b") == "25\\.0\\% of 12\\,345 in a\\_b"
    assert markdown_text("{name}", name=None) == "None"
    assert text(None) == ""
    shown = markdown("**{}**", "<b>")
    assert shown.data == "**&lt;b&gt;**"


def test_context_summary_shows_a_hostile_folder_name_as_text(tiny_demo_dir, tmp_path):
    import shutil

    import insights

    hostile = tmp_path / "<img src=x onerror=alert(1)>`x`"
    shutil.copytree(tiny_demo_dir, hostile)
    ctx = insights.setup(None, hostile)
    parsed = _render(ctx.summary())
    assert "img" not in parsed.tags and parsed.attrs == []
    assert str(hostile) in "".join(parsed.text)


@given(
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=20), min_size=2, max_size=5, unique=True),
)
def test_tables_shown_by_the_notebooks_escape_their_text(values):
    """DataFrames reach the pages through pandas' HTML, which escapes values, index and column names."""
    import pandas as pd

    frame = pd.DataFrame({v: [v] * len(values) for v in values}, index=pd.Index(values, name=values[0]))
    parsed = Parsed()
    parsed.feed(frame._repr_html_())
    assert parsed.tags and set(parsed.tags) <= {"div", "style", "table", "thead", "tbody", "tr", "th", "td"}
    assert {k for k, _ in parsed.attrs} <= {"class", "border", "scoped", "style"}
    assert {v for k, v in parsed.attrs if k == "style"} <= {"text-align: right;"}  # pandas' own, never the data


def test_method_block_is_collapsible_and_escapes_fields():
    import nbformat
    from nbconvert import HTMLExporter

    from insights.markup import method_text

    block = method_text("Newcombe hybrid score interval for **{}**.", "<script>x</script>")
    assert block.startswith('<details class="method"><summary>Method</summary>') and block.endswith("</details>")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(block)])
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    body = html[html.index("<body") :]
    assert "<details" in body and "<summary>Method</summary>" in body and "<strong>" in body
    assert "<script>x" not in body
