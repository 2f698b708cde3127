"""The report's own HTML pages, rendered from the template files under ``templates/``.

Every value reaches the HTML through Jinja2 with autoescaping on, so text from the data (account
names, pilot descriptions, error messages) is shown as text, never run as markup. Every page of
the report (this front page and the notebook pages, ``NOTEBOOK_TEMPLATE``) carries the same
strict Content-Security-Policy, ``CONTENT_SECURITY_POLICY``: no script, frame, form, font or
image from anywhere, except images and fonts embedded as ``data:`` URIs and the pages' own inline
styles. So markup that reached a page by mistake still could not run or load anything.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from insights.display import money, percent

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The policy of every page: nothing runs, nothing loads but embedded images and fonts and inline styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; object-src 'none'; frame-src 'none'; "
    "img-src data:; font-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)
#: nbconvert template of the notebook pages (under ``TEMPLATES``): JupyterLab's, with the policy
#: and without its scripts (require.js, MathJax, Mermaid and widgets, none of which the pages use).
NOTEBOOK_TEMPLATE = "notebook_page.html.j2"


#: Headline-table columns holding shares, shown as percentages (a name containing one of these).
SHARE_COLUMNS = ("rate", "churn", "share", "grr", "nrr", "confidence")


def headline_cell(value, column: str = "") -> str:
    """A headline-table value as text: dollars for ARR columns, percentages for shares, else plain.

    Parameters
    ----------
    value : object
        A cell of a saved headline table.
    column : str
        Its column's name: a float in a column whose name holds ``arr`` is dollars
        (``insights.display.money``, ``churned_arr`` too); one holding a ``SHARE_COLUMNS`` word
        (and not ``arr``) is a share, shown as a percentage.

    Returns
    -------
    str
        Whole numbers with thousands separators; floats with thousands separators (3 decimals
        below 10) when the column says nothing;
        ``""`` for None, else ``str(value)``.
    """
    name = column.lower()
    if isinstance(value, float) and "arr" in name:
        return money(value)
    if isinstance(value, float) and any(w in name for w in SHARE_COLUMNS):
        return percent(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return "" if value is None else str(value)


@cache
def environment() -> jinja2.Environment:
    """The template environment: files under ``templates/``, autoescaping, undefined names are errors.

    Returns
    -------
    jinja2.Environment
        One per process (cached), with the ``cell`` filter (``headline_cell``) and the global
        ``csp`` (``CONTENT_SECURITY_POLICY``).
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = headline_cell
    env.globals["csp"] = CONTENT_SECURITY_POLICY
    return env


def render(template: str, **values) -> str:
    """Render ``templates/<template>`` with ``values``.

    Parameters
    ----------
    template : str
        File name under ``templates/`` (e.g. ``"index.html.j2"``).
    **values
        The template's variables.

    Returns
    -------
    str
        The page, every value HTML-escaped.
    """
    return environment().get_template(template).render(**values)


def demo_banner() -> str:
    """The red DEMO DATA banner shown on every page built from generated data.

    Returns
    -------
    str
        The banner's HTML.
    """
    return render("demo_banner.html.j2")
