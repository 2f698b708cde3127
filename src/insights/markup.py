"""Text from the data shown as text: the one escaping path into Markdown and HTML.

Notebook pages are Markdown and HTML outputs converted to HTML (nbconvert renders Markdown
with mistune and passes raw HTML through; JupyterLab uses another parser). A value from the
data (account names, pilot ids and descriptions, arm and segment names, folder paths) must not
become markup in either: not a ``<script>``, not an ``<svg onload>``, not a
``[link](javascript:...)``, not a heading or a list. ``text`` makes any value literal text;
``markdown`` fills a Markdown template whose every field goes through ``text``. DataFrames are
escaped by pandas itself, and the report's own pages by Jinja2's autoescaping
(``insights.report.pages``).

Plain Python (IPython only when ``markdown`` is called), so every stage of the package can use it.
"""

from __future__ import annotations

import string
from typing import Any

#: Characters written as HTML character references: they are special in HTML, and a character
#: reference is literal text in Markdown too (CommonMark decodes it, then escapes it again).
HTML_REFERENCES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
#: Every other ASCII punctuation character gets a backslash (CommonMark: any ASCII punctuation
#: may be backslash-escaped, and is then literal): no emphasis, link, code span, heading or list.
MARKDOWN_PUNCTUATION = frozenset(string.punctuation) - set(HTML_REFERENCES)


def text(value: Any) -> str:
    """A value as literal text inside Markdown or HTML: nothing in it is markup.

    Parameters
    ----------
    value : object
        Any value; ``str(value)`` is escaped (``None`` becomes ``""``).

    Returns
    -------
    str
        The text with ``& < > " '`` as HTML character references, every other ASCII
        punctuation character backslash-escaped, line breaks, tabs and other control
        characters as single spaces (a value never starts a new Markdown block). Rendered, it
        reads as the original text.
    """
    raw = "" if value is None else str(value)
    out = []
    for ch in raw:
        if ch in HTML_REFERENCES:
            out.append(HTML_REFERENCES[ch])
        elif ch in MARKDOWN_PUNCTUATION:
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f" or ch in "\u2028\u2029\x85":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


class _TextFormatter(string.Formatter):
    """``str.format`` whose every replacement field is escaped by ``text`` after formatting."""

    def format_field(self, value: Any, format_spec: str) -> str:
        return text(super().format_field(value, format_spec))


_FORMATTER = _TextFormatter()


def markdown_text(template: str, /, *args: Any, **values: Any) -> str:
    """Fill a trusted Markdown template with values from the data, each shown as literal text.

    Parameters
    ----------
    template : str
        Markdown written in the code (``**bold**``, ``<code>{x}</code>``...), with ``str.format``
        fields (``{name}``, ``{name:.1%}``, ``{obj.attr}``). Do not put a field inside backticks:
        a code span shows escapes literally; use ``<code>{name}</code>``.
    *args, **values
        The fields' values. Each field is formatted with its spec, then escaped by ``text``.

    Returns
    -------
    str
        The Markdown.
    """
    return _FORMATTER.vformat(template, args, values)


def markdown(template: str, /, *args: Any, **values: Any):
    """``markdown_text`` as an IPython ``Markdown`` object, ready for ``display``.

    Parameters
    ----------
    template : str
        As ``markdown_text``.
    *args, **values
        As ``markdown_text``.

    Returns
    -------
    IPython.display.Markdown
        The Markdown, every field escaped.
    """
    from IPython.display import Markdown

    return Markdown(markdown_text(template, *args, **values))


def method_text(template: str, /, *args: Any, **values: Any) -> str:
    """Technical detail folded away: a collapsible "Method" block around ``markdown_text``.

    Parameters
    ----------
    template : str
        Trusted Markdown, as for ``markdown_text`` (its fields are escaped).
    *args, **values
        The fields' values.

    Returns
    -------
    str
        ``<details class="method"><summary>Method</summary>`` + the Markdown + ``</details>``;
        closed until the reader opens it (plain HTML, no script: allowed by the report's
        Content-Security-Policy and passed through by nbconvert and JupyterLab).
    """
    body = markdown_text(template, *args, **values)
    return f'<details class="method"><summary>Method</summary>\n\n{body}\n\n</details>'


def method(template: str, /, *args: Any, **values: Any):
    """``method_text`` as an IPython ``Markdown`` object, ready for ``display``.

    Parameters
    ----------
    template : str
        As ``markdown_text``.
    *args, **values
        As ``markdown_text``.

    Returns
    -------
    IPython.display.Markdown
        The collapsible Method block.
    """
    from IPython.display import Markdown

    return Markdown(method_text(template, *args, **values))
