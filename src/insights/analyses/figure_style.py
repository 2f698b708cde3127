"""The look of the analyses' figures, defined once: the seaborn theme the figure modules apply."""

from __future__ import annotations

import seaborn as sns

#: Keyword arguments of ``seaborn.set_theme`` for every figure of the report and the notebooks.
THEME: dict[str, str] = {"style": "whitegrid", "context": "notebook"}


def apply_theme() -> None:
    """Set matplotlib's defaults to ``THEME`` (process-wide, as ``seaborn.set_theme`` does)."""
    sns.set_theme(**THEME)
