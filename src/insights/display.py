"""Tables in the notebooks as a reader sees them: plain numbers, blanks for missing values.

pandas shows a DataFrame with ``NaN`` for a missing value and switches a whole column to scientific
notation (``1.463e+07``, ``6.479e-09``) as soon as one value is large or small. The report's pages
are read by people, not parsed, so ``use_readable_tables`` (called by ``insights.setup``) makes
every DataFrame a notebook displays go through ``frame_html``: thousands separators for large
numbers, four significant digits otherwise, ``<0.001`` for tiny ones, and an empty cell where a
value is missing. The data are not changed; only their HTML display.

Plain Python (IPython only when registering), so every stage of the package can use it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: What a missing value shows as.
MISSING = ""
#: Below this absolute value a number shows as ``<0.001`` (p-values, tiny coefficients).
SMALLEST_SHOWN = 0.001


def readable_number(value: Any) -> str:
    """A float as a reader wants it: no scientific notation, no ``nan``.

    Parameters
    ----------
    value : float
        Any number (or a missing value).

    Returns
    -------
    str
        ``MISSING`` for NaN/None; ``"inf"``/``"-inf"`` for infinities; ``"0"`` for zero; whole
        thousands with separators at 1,000 or more (``"14,632,077"``); ``"<0.001"`` (``">-0.001"``)
        below ``SMALLEST_SHOWN`` in absolute value; otherwise four significant digits
        (``"0.8458"``, ``"12.5"``).
    """
    if value is None:
        return MISSING
    x = float(value)
    if math.isnan(x):
        return MISSING
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) < SMALLEST_SHOWN:
        return f"<{SMALLEST_SHOWN:g}" if x > 0 else f">-{SMALLEST_SHOWN:g}"
    return f"{x:.4g}"


def money(value: float) -> str:
    """Dollars as a reader wants them: ``$5.62M``, ``$513K``, ``$940``.

    Parameters
    ----------
    value : float
        An amount in dollars.

    Returns
    -------
    str
        Millions with two decimals from $1M, whole thousands from $1K, else whole dollars; a minus
        sign before the ``$`` for a negative amount.
    """
    sign, x = ("-" if value < 0 else ""), abs(float(value))
    if x >= 1e6:
        return f"{sign}${x / 1e6:,.2f}M"
    if x >= 1e3:
        return f"{sign}${x / 1e3:,.0f}K"
    return f"{sign}${x:,.0f}"


def percent(value: float) -> str:
    """A share as a percentage with one decimal: ``0.1337`` -> ``"13.4%"``.

    Parameters
    ----------
    value : float
        A share between 0 and 1.

    Returns
    -------
    str
        The percentage.
    """
    return f"{100 * float(value):.1f}%"


def points(value: float) -> str:
    """A difference of two shares in percentage points, signed, one decimal: ``0.026`` -> ``"+2.6 points"``.

    Parameters
    ----------
    value : float
        A difference of shares (e.g. of renewal rates), as a fraction.

    Returns
    -------
    str
        The signed difference in points.
    """
    return f"{100 * float(value):+.1f} points"


def frame_html(frame: pd.DataFrame) -> str:
    """The HTML of a DataFrame with ``readable_number`` floats and blank missing values.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table; text is escaped by pandas.

    Returns
    -------
    str
        ``DataFrame.to_html`` with the notebook's row and column limits (``display.max_rows``,
        ``display.max_columns``), the ``dataframe`` class Jupyter styles, ``na_rep`` ``MISSING``
        and ``float_format`` ``readable_number``; a default row index (0, 1, 2, ... without a
        name) is left out, since it tells a reader nothing, and underscores in column and index
        names read as spaces (``expected_arr_at_risk`` -> ``expected arr at risk``).
    """
    import pandas as pd

    frame = _plain_labels(_plain_missing(frame))
    plain_rows = isinstance(frame.index, pd.RangeIndex) and frame.index.name is None
    return frame.to_html(
        index=not plain_rows,
        max_rows=pd.get_option("display.max_rows"),
        max_cols=pd.get_option("display.max_columns"),
        show_dimensions=False,
        na_rep=MISSING,
        float_format=readable_number,
        classes="dataframe",
        border=1,
    )


def _plain_label(name: Any) -> Any:
    return name.replace("_", " ") if isinstance(name, str) else name


def _plain_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Column labels and index names with spaces for underscores (a copy; the data is untouched)."""
    out = frame.rename(columns=_plain_label)
    out.columns = out.columns.set_names([_plain_label(n) for n in out.columns.names])
    out.index = out.index.set_names([_plain_label(n) for n in out.index.names])
    return out


def _plain_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable (extension) columns as plain ones, so ``pd.NA`` shows as ``MISSING`` like NaN does."""
    import pandas as pd

    out = frame
    for i, (_, column) in enumerate(frame.items()):
        if not isinstance(column.dtype, pd.api.extensions.ExtensionDtype) or not column.isna().any():
            continue
        if out is frame:
            out = frame.copy()
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            out.isetitem(i, column.astype("float64").to_numpy())  # NA -> NaN, through readable_number
        elif not isinstance(column.dtype, pd.CategoricalDtype | pd.DatetimeTZDtype | pd.PeriodDtype):
            out.isetitem(i, column.astype(object).where(column.notna(), MISSING).to_numpy())
    return out


def use_readable_tables() -> bool:
    """Show every DataFrame of the running notebook through ``frame_html``.

    Returns
    -------
    bool
        True when registered with the running IPython kernel; False outside IPython (nothing to do).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import pandas as pd

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
    return True
