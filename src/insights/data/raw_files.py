"""Where each raw table lives in a data folder.

No pandas here: the usage engine finds its event files with this module before pandas has loaded.
"""

from __future__ import annotations

from pathlib import Path

SUFFIXES = (".csv", ".parquet")
PILOTS_FOLDER = "pilots"
#: Written beside generated demo data only: the generator's truth, and the sign that a folder holds demo data.
GROUND_TRUTH_FILE = "ground_truth.json"


def table_files(data_dir: Path, name: str) -> list[Path]:
    """Files holding table ``name``: ``name.csv``, ``name.parquet`` or a folder ``name/`` of them.

    Pilot assignments live one file per pilot under ``pilots/``.

    Parameters
    ----------
    data_dir : pathlib.Path
        The data folder.
    name : str
        A table name of the contract.

    Returns
    -------
    list of pathlib.Path
        The table's visible files (hidden names skipped), sorted within a folder; empty if there are none.
    """
    if name == "pilot_assignments":
        folder = data_dir / PILOTS_FOLDER
        return (
            sorted(p for p in folder.glob("*") if p.suffix in SUFFIXES and _visible(p, folder))
            if folder.is_dir()
            else []
        )
    files = [data_dir / f"{name}{suffix}" for suffix in SUFFIXES if (data_dir / f"{name}{suffix}").is_file()]
    folder = data_dir / name
    if folder.is_dir():
        files += sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and _visible(p, folder))
    return files


def _visible(path: Path, folder: Path) -> bool:
    """Whether no part of the path below ``folder`` starts with ".".

    Skips editor lock files and macOS ``._name`` companions, and matches what the typed-table cache hashes.
    """
    return not any(part.startswith(".") for part in path.relative_to(folder).parts)
