"""Pieces shared by the command-line modules."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import typer

from insights.errors import InsightsError

if TYPE_CHECKING:
    import pandas as pd


def user_errors(fn):
    """Print an ``InsightsError`` as a plain message (no traceback) and exit with its code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InsightsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def echo_frame(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> None:
    """Print a table readably."""
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.float_format", floatfmt.format):
        typer.echo(frame.to_string())
