"""``insights sources suggest``: propose a source mapping file from the headers of your exports."""

from __future__ import annotations

from pathlib import Path

import typer

from insights.cli.common import user_errors as _user_errors

sources_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Map your own exports onto the data contract (docs/sources.md)."
)


@sources_app.command("suggest")
@_user_errors
def suggest_cmd(
    files: list[Path] = typer.Argument(..., help="CSV or Parquet exports (one per table)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the proposal here (default: print it)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
):
    """Read the files' headers and propose a mapping file (config/sources.yaml) for you to edit.\f

    Parameters
    ----------
    files : list of pathlib.Path
        The exports.
    out : pathlib.Path or None
        Where to write the proposal; printed when None.
    force : bool
        Replace an existing ``out``.

    Raises
    ------
    ParameterError
        If ``out`` exists and ``force`` is not given, or a file cannot be read.
    """  # noqa: D301, D400 - "\f" (after the summary's period) ends the text typer shows in --help
    from insights.data.output_files import write_atomic
    from insights.data.sources.suggest import propose, render
    from insights.errors import ParameterError

    proposals = propose([Path(f) for f in files])
    if out is None:
        typer.echo(render(proposals, Path.cwd()), nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    try:  # written whole under a temporary name, then renamed; never over an existing file without --force
        write_atomic(out, render(proposals, out.parent), overwrite=force)
    except FileExistsError:
        raise ParameterError(f"{out} already exists; pass --force to replace it.") from None
    typer.echo(f"Wrote {out}: {len(proposals)} table(s) proposed; edit it, then `insights validate --sources {out}`.")
