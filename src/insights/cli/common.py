"""Pieces shared by the command-line modules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from insights.errors import InsightsError

if TYPE_CHECKING:
    import pandas as pd

P = ParamSpec("P")
R = TypeVar("R")


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print an ``InsightsError`` as a plain message (no traceback) and exit with its code.

    Parameters
    ----------
    fn : callable
        A command.

    Returns
    -------
    callable
        The command wrapped: an ``InsightsError`` becomes ``typer.Exit(exc.exit_code)`` after the message.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except InsightsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def echo_frame(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> None:
    """Print a table readably.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    floatfmt : str
        Format of floats, for ``str.format``.
    """
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 30, "display.float_format", floatfmt.format):
        typer.echo(frame.to_string())
