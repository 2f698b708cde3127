"""Which data a run uses: a folder of contract tables, a source mapping file, or a database URL.

In order: an explicit ``data_dir`` (a folder, a ``.yaml`` mapping file or a URL); else an explicit
mapping file (``--sources``); else ``config/sources.yaml`` if it exists (with ``--source URL``
replacing its ``source``); else a database URL alone (every table read from its namesake); else
``data/raw`` (``$INSIGHTS_DATA_DIR``), where the demo data is written when it is empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from insights.data import paths
from insights.data.sources.warehouse import is_url, masked
from insights.errors import ParameterError

#: The mapping file used when none is given and it exists.
DEFAULT_FILE = "sources.yaml"
MAPPING_SUFFIXES = (".yaml", ".yml")


def default_mapping() -> Path:
    """The mapping file used by default.

    Returns
    -------
    pathlib.Path
        ``<config>/sources.yaml`` (it need not exist).
    """
    return paths.config_dir() / DEFAULT_FILE


@dataclass(frozen=True)
class DataSource:
    """Where a run's tables come from.

    Attributes
    ----------
    folder : pathlib.Path or None
        A folder of contract tables, read as it is.
    mapping : pathlib.Path or None
        A source mapping file.
    url : str or None
        A database URL (never shown unmasked: use ``describe``).
    """

    folder: Path | None = None
    mapping: Path | None = None
    url: str | None = None

    @property
    def mapped(self) -> bool:
        """Whether the tables are made by a mapping (file or database) rather than read from a folder."""
        return self.folder is None

    def describe(self) -> str:
        """The source for messages and the manifest (passwords masked).

        Returns
        -------
        str
            ``folder <path>``, ``mapping <file>`` and/or ``database <masked URL>``.
        """
        if self.folder is not None:
            return f"folder {self.folder}"
        parts = [f"mapping {self.mapping}"] if self.mapping is not None else []
        if self.url:
            parts.append(f"database {masked(self.url)}")
        return ", ".join(parts)


def _existing_file(path: str | os.PathLike, what: str) -> Path:
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ParameterError(f"{what} {resolved} does not exist; see docs/sources.md for its layout.")
    return resolved


def locate(
    data_dir: str | os.PathLike | None = None,
    sources: str | os.PathLike | None = None,
    url: str | None = None,
) -> DataSource:
    """Decide where the tables come from (see the module docstring for the order).

    Parameters
    ----------
    data_dir : path or str, optional
        A folder of raw tables, a mapping file (``.yaml``) or a database URL; relative paths are
        taken from the project root.
    sources : path, optional
        A mapping file (``--sources``); relative to the working directory.
    url : str, optional
        A database URL (``--source``); it replaces the mapping's ``source``.

    Returns
    -------
    DataSource

    Raises
    ------
    ParameterError
        If ``data_dir`` is combined with ``sources`` or ``url``, or a named mapping file does not exist.
    """
    if data_dir is not None and str(data_dir) != "":
        if sources is not None or url is not None:
            raise ParameterError("give either a data folder (--data) or a source (--sources / --source), not both.")
        text = str(data_dir)
        if is_url(text):
            return DataSource(url=text)
        folder = paths.resolve_data_dir(data_dir)
        if folder.suffix in MAPPING_SUFFIXES:
            return DataSource(mapping=_existing_file(folder, "the source mapping file"))
        return DataSource(folder=folder)
    if sources is not None:
        return DataSource(mapping=_existing_file(sources, "the source mapping file"), url=url)
    if default_mapping().is_file():
        return DataSource(mapping=default_mapping(), url=url)
    if url is not None:
        return DataSource(url=url)
    return DataSource(folder=paths.raw_dir())


def prepare(source: DataSource) -> Path:
    """The folder of contract tables for ``source``: the folder itself, or the mapped snapshot.

    Parameters
    ----------
    source : DataSource
        From ``locate``.

    Returns
    -------
    pathlib.Path
        ``source.folder``, or the folder ``insights.data.sources.snapshot.materialise`` wrote.

    Raises
    ------
    ConfigError, MappingError, ParameterError
        If the mapping file is malformed, cannot be applied, or the database URL is unusable.
    """
    if source.folder is not None:
        return source.folder
    from insights.data.sources.snapshot import materialise
    from insights.data.sources.spec import parse_file

    mapping, problems = parse_file(source.mapping, source.url)
    return materialise(mapping, problems)
