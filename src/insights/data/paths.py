"""Where things live: every path is resolved from the project root, never from ``.``.

Notebooks run by JupyterLab, papermill and nbval start in different working
directories; all of them find the same files through these functions.

Environment variables override the defaults:

==========================  ===============================  =====================
variable                    meaning                          default
==========================  ===============================  =====================
``INSIGHTS_HOME``           project root                     the checkout holding
                                                             this package
``INSIGHTS_DATA_DIR``       raw input tables                 ``<root>/data/raw``
``INSIGHTS_PROCESSED_DIR``  derived tables                   ``<root>/data/processed``
``INSIGHTS_REPORTS_DIR``    generated reports                ``<root>/reports``
``INSIGHTS_CONFIG_DIR``     YAML configuration               ``<root>/config``
==========================  ===============================  =====================
"""

from __future__ import annotations

import os
from pathlib import Path

from insights.errors import ConfigError

_MARKERS = ("pyproject.toml", "notebooks")


def _looks_like_root(path: Path) -> bool:
    return all((path / m).exists() for m in _MARKERS)


def project_root() -> Path:
    """Return the project root.

    Returns
    -------
    pathlib.Path
        ``$INSIGHTS_HOME`` if set, else the checkout that holds this package
        (editable install), else the nearest parent of the working directory that
        holds ``pyproject.toml`` and ``notebooks/``.

    Raises
    ------
    ConfigError
        If no project root can be found.
    """
    env = os.environ.get("INSIGHTS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if _looks_like_root(parent):
            return parent
    cwd = Path.cwd().resolve()
    for parent in (cwd, *cwd.parents):
        if _looks_like_root(parent):
            return parent
    raise ConfigError(
        "Cannot find the project root (a folder with pyproject.toml and notebooks/). "
        "Set INSIGHTS_HOME to your checkout of insights."
    )


def _from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def default_raw_dir() -> Path:
    """The documented default folder of raw tables, the only one demo data is ever written into unasked.

    Returns
    -------
    pathlib.Path
        ``<root>/data/raw`` (whatever ``$INSIGHTS_DATA_DIR`` says).
    """
    return project_root() / "data" / "raw"


def raw_dir() -> Path:
    """Folder of raw input tables.

    Returns
    -------
    pathlib.Path
        ``$INSIGHTS_DATA_DIR`` if set, else ``<root>/data/raw``.
    """
    return _from_env("INSIGHTS_DATA_DIR", default_raw_dir())


def processed_dir() -> Path:
    """Folder of derived tables.

    Returns
    -------
    pathlib.Path
        ``$INSIGHTS_PROCESSED_DIR`` if set, else ``<root>/data/processed``.
    """
    return _from_env("INSIGHTS_PROCESSED_DIR", project_root() / "data" / "processed")


def reports_dir() -> Path:
    """Folder of generated reports.

    Returns
    -------
    pathlib.Path
        ``$INSIGHTS_REPORTS_DIR`` if set, else ``<root>/reports``.
    """
    return _from_env("INSIGHTS_REPORTS_DIR", project_root() / "reports")


def config_dir() -> Path:
    """Folder of YAML configuration.

    Returns
    -------
    pathlib.Path
        ``$INSIGHTS_CONFIG_DIR`` if set, else ``<root>/config``.
    """
    return _from_env("INSIGHTS_CONFIG_DIR", project_root() / "config")


def notebooks_dir() -> Path:
    """Folder of the parameterised notebooks.

    Returns
    -------
    pathlib.Path
        ``<root>/notebooks``.
    """
    return project_root() / "notebooks"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """Return ``data_dir`` as an absolute path, or the configured raw folder if ``None``.

    A relative ``data_dir`` is taken relative to the project root, so the same
    notebook parameter means the same folder whatever the working directory.

    Parameters
    ----------
    data_dir : str, os.PathLike or None
        A folder of raw tables; ``None`` or ``""`` means the configured raw folder.

    Returns
    -------
    pathlib.Path
        The resolved absolute folder (it need not exist).
    """
    if data_dir is None or str(data_dir) == "":
        return raw_dir()
    path = Path(data_dir).expanduser()
    if not path.is_absolute():
        path = project_root() / path
    return path.resolve()


def writable_folder(folder: Path, what: str) -> Path:
    """Check that ``folder`` is, or can be created as, a folder this user may write into.

    Called before a command starts its work, so a reports or processed folder that is a
    file, sits under a file or is read-only gives one clear message instead of a traceback
    half-way through.

    Parameters
    ----------
    folder : pathlib.Path
        The folder to write into (it need not exist yet).
    what : str
        What the folder is and where it comes from (``"reports folder (INSIGHTS_REPORTS_DIR)"``).

    Returns
    -------
    pathlib.Path
        ``folder``, unchanged.

    Raises
    ------
    ParameterError
        If ``folder`` or one of its parents is a file, or the nearest existing one is not writable.
    """
    from insights.errors import ParameterError

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"is under {existing}, which is a file"
        raise ParameterError(f"{what} {folder} {where}, not a folder; point it at a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(f"{what} {folder} cannot be written: {existing} is read-only for this user.")
    return folder


def shown(path: str | os.PathLike) -> str:
    """A path as a report shows it: relative to the project root when inside it, else as given.

    Parameters
    ----------
    path : str or os.PathLike
        Any path.

    Returns
    -------
    str
        E.g. ``"data/raw"`` for ``<root>/data/raw``; a folder outside the project (your own
        export) keeps its full path, so the reader knows where the data came from.
    """
    p = Path(path)
    try:
        return p.resolve().relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return str(p)
