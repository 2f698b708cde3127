"""Pieces shared by the command-line modules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar, overload

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
        except OSError as exc:  # a folder that is read-only, full, missing or a file: the user's to fix
            typer.echo(f"error: {file_problem(exc)}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def file_problem(exc: OSError) -> str:
    """A file-system error as one line: what failed, on which path, and what to check.

    Parameters
    ----------
    exc : OSError
        The error (permission denied, read-only file system, no space, not a directory...).

    Returns
    -------
    str
        ``"<reason>: <path>"`` (and the second path of a move or copy) with a hint to check the folder.
    """
    reason = exc.strerror or type(exc).__name__
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
    return f"{reason}: {where or exc}. Check that the folder exists, is a folder and that you may write to it."


@overload
def parse_date_option(value: str, option: str) -> pd.Timestamp: ...
@overload
def parse_date_option(value: None, option: str) -> None: ...
@overload
def parse_date_option(value: str | None, option: str) -> pd.Timestamp | None: ...


def parse_date_option(value: str | None, option: str) -> pd.Timestamp | None:
    """The date a command option was given, checked (every command parses its dates here).

    Parameters
    ----------
    value : str or None
        The option's text, like ``2026-12-31``; None when the option was left out.
    option : str
        The option's name as typed (``--start``), for the message.

    Returns
    -------
    pandas.Timestamp or None
        Midnight of that day, or None when ``value`` is None.

    Raises
    ------
    ParameterError
        If ``value`` is not an ISO 8601 date (``2027-13-01``, ``tomorrow``) or lies outside the dates supported.
    """
    if value is None:
        return None
    from insights.data.validation import parse_day

    return parse_day(value, option)


def echo_frame(frame: pd.DataFrame) -> None:
    """Print a table readably: numbers as on the report's pages (``insights.display.readable_number``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; floats show four significant digits or thousands separators, never
        scientific notation, and missing values as blanks.
    """
    import pandas as pd

    from insights.display import MISSING, readable_number

    with pd.option_context("display.width", 160, "display.max_columns", 30):
        typer.echo(frame.to_string(float_format=readable_number, na_rep=MISSING))
