"""The quarterly report runner: every notebook, executed with papermill, into reports/<quarter>/.

The list of notebooks is data (``config/report.yaml``). The raw data is validated
once, here, and stored as typed Parquet in the cache of ``insights.data.table_cache``,
from which every notebook loads it. The notebooks are independent of each other and
run side by side, one kernel per CPU by default (``insights.report.execution``). A run is
atomic: it is built in a hidden temporary folder and moved into place only when
finished; an existing report is replaced only with ``force`` (the old one is kept
until the new one is complete). A failing notebook does not stop the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from insights import __version__
from insights.context import data_folder, is_demo, resolve_quarter
from insights.data import paths
from insights.data.config_files import read_mapping
from insights.data.loading import cache_tables, cached_tables, load_tables
from insights.data.table_cache import file_stats, hashes_and_stats
from insights.errors import ConfigError, ParameterError, ReportExistsError
from insights.report import headlines, pages, summary
from insights.report.execution import NotebookResult, NotebookSpec, Task, default_jobs, run_all
from insights.report.folder_lock import remove_residue, report_lock

MANIFEST = "manifest.json"
#: The method appendix with the glossary, linked from the front page.
METHOD_PAGE = "method.html"


def load_report_spec(path: Path | None = None) -> list[NotebookSpec]:
    """Read and validate ``config/report.yaml``.

    Parameters
    ----------
    path : pathlib.Path, optional
        The file; default ``<config>/report.yaml``.

    Returns
    -------
    list of NotebookSpec
        The notebooks of the report, in report order.

    Raises
    ------
    ConfigError
        If the file is missing, malformed, or names a notebook that does not exist.
    """
    path = path or paths.config_dir() / "report.yaml"
    data = read_mapping(path, required=True, purpose="the notebooks of the report")
    items = data.get("notebooks") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path} must have a non-empty list `notebooks`.")
    specs, problems = [], []
    for i, item in enumerate(items, 1):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("file"), str)
            or not isinstance(item.get("title"), str)
        ):
            problems.append(f"entry {i} needs `file` and `title` strings")
            continue
        unknown = set(item) - {"file", "title", "summary", "parameters", "requires", "without"}
        if unknown:
            problems.append(f"entry {i} ({item['file']}) has unknown keys {sorted(unknown)}")
        if not (paths.notebooks_dir() / item["file"]).exists():
            problems.append(f"entry {i}: notebooks/{item['file']} does not exist")
        params = item.get("parameters") or {}
        if not isinstance(params, dict) or {"quarter", "data_dir"} & set(params):
            problems.append(f"entry {i}: `parameters` must be a mapping without quarter/data_dir")
        requires, without, wrong = _needs(item.get("requires"), item.get("without"))
        if wrong:
            problems.append(f"entry {i}: `requires` and `without` name contract tables; unknown: {', '.join(wrong)}")
        specs.append(
            NotebookSpec(item["file"], item["title"], item.get("summary", ""), dict(params), requires, without)
        )
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return specs


def _needs(requires, without) -> tuple[tuple[str, ...], dict[str, str], list[str]]:
    """A report entry's ``requires`` (a table, a list of them, or ``pilot``) and ``without`` (table -> note)."""
    from insights.data.contract import TABLES

    names = [requires] if isinstance(requires, str) else list(requires or [])
    tables = tuple("pilot_assignments" if n == "pilot" else str(n) for n in names)
    notes = {str(k): str(v) for k, v in without.items()} if isinstance(without, dict) else {}
    wrong = [n for n in (*tables, *notes) if n not in TABLES]
    if without is not None and not isinstance(without, dict):
        wrong.append("`without` must map a table to what is left out")
    return tables, notes, wrong


def coverage(specs: list[NotebookSpec], empty: list[str]) -> list[dict[str, str]]:
    """What each notebook can do with the data: run, run with parts left out, or be skipped, and why.

    Parameters
    ----------
    specs : list of NotebookSpec
        The notebooks of the report, with the tables they require and use.
    empty : list of str
        Tables without any row (``Tables.without_rows``).

    Returns
    -------
    list of dict
        One per notebook, in order: ``file``, ``title``, ``status`` (``"runs"``, ``"runs without"``
        or ``"skipped"``) and ``why`` (empty when it runs in full).
    """
    out = []
    for spec in specs:
        lacking = [t for t in spec.requires if t in empty]
        left_out = [f"no {t}: {note}" for t, note in spec.without.items() if t in empty]
        if lacking:
            status, why = "skipped", f"no {', '.join(lacking)} in the data"
        elif left_out:
            status, why = "runs without", "; ".join(left_out)
        else:
            status, why = "runs", ""
        out.append({"file": spec.file, "title": spec.title, "status": status, "why": why})
    return out


def _fingerprint(quarter: str, hashes: dict, specs: list[NotebookSpec]) -> str:
    """Everything a report depends on: quarter, inputs, notebooks, configuration and package code."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {"quarter": quarter, "inputs": hashes, "version": __version__, "notebooks": [asdict(s) for s in specs]},
            sort_keys=True,
        ).encode()
    )
    for spec in specs:
        digest.update((paths.notebooks_dir() / spec.file).read_bytes())
    config = paths.config_dir()
    for f in sorted(config.rglob("*.yaml")) if config.is_dir() else []:
        digest.update(f.name.encode() + f.read_bytes())
    for f in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):  # the whole package
        digest.update(f.read_bytes())
    return digest.hexdigest()


def _declared_parameters(spec: NotebookSpec) -> set[str]:
    """Names in the notebook's ``parameters`` cell."""
    import papermill as pm

    return set(pm.inspect_notebook(str(paths.notebooks_dir() / spec.file)))


WORKBOOK = "worklist.xlsx"


def write_workbook(folder: Path) -> str | None:
    """One Excel workbook with a sheet per CSV list of the report.

    Numbers and dates are typed and formatted (currency, percent, ISO dates), ids keep their
    leading zeros as text, every sheet has a frozen header, a filter and column widths; see
    ``insights.report.workbook``.

    Parameters
    ----------
    folder : pathlib.Path
        The report folder; its ``*.csv`` files become sheets.

    Returns
    -------
    str or None
        The workbook's file name (``WORKBOOK``), or None when there is no CSV.
    """
    from insights.report import workbook

    csvs = sorted(folder.glob("*.csv"))
    if not csvs:
        return None
    workbook.write_workbook(csvs, folder / WORKBOOK)
    return WORKBOOK


def write_index(
    folder: Path,
    quarter: str,
    results: list[NotebookResult],
    specs: list[NotebookSpec],
    demo: bool,
    row_counts: dict[str, int],
    plan: list[dict[str, str]] | None = None,
) -> None:
    """Write the report's front page, ``index.html``, and its method appendix, ``METHOD_PAGE``.

    The front page opens with the executive summary (``insights.report.summary``, written from the
    headline values, compared with the previous quarter's report when its folder sits beside this
    one), then the headlines by section, the sections with status, links and the data summary.

    Parameters
    ----------
    folder : pathlib.Path
        The report folder (its CSV, workbook, per-owner lists and headlines are linked and shown).
    quarter : str
        The report's quarter.
    results : list of NotebookResult
        One per notebook, in the order of ``specs``.
    specs : list of NotebookSpec
        The notebooks of the report.
    demo : bool
        Whether the data is the demo (the page then says so).
    row_counts : dict of str to int
        Rows per raw table, for the data summary.
    plan : list of dict, optional
        ``coverage(specs, ...)``: what ran, ran with parts left out or was skipped, and why.
    """
    sections = [
        {
            "stem": spec.stem,
            "title": spec.title,
            "summary": spec.summary,
            "status": res.status,
            "error": res.error or "",
            "failed_cell": res.failed_cell,
            "duration_s": res.duration_s,
        }
        for spec, res in zip(specs, results)
    ]
    from insights.analyses.renewals.owners import FOLDER as OWNER_FOLDER

    files = [p.name for p in sorted(folder.glob("*.csv")) + sorted(folder.glob("*.xlsx"))]
    files += [f"{OWNER_FOLDER}/{p.name}" for p in sorted((folder / OWNER_FOLDER).glob("*.csv"))]
    docs = headlines.load_all(folder)
    previous, previous_quarter = summary.previous_values(folder, str(quarter))
    (folder / METHOD_PAGE).write_text(pages.render("method.html.j2", quarter=str(quarter), demo=demo), encoding="utf-8")
    page = pages.render(
        "index.html.j2",
        quarter=str(quarter),
        demo=demo,
        summary=summary.build(docs, previous, previous_quarter),
        method_page=METHOD_PAGE,
        headlines=docs,
        sections=sections,
        files=files,
        row_counts=row_counts,
        coverage=[{**c, "result": r.status} for c, r in zip(plan or [], results)],
        version=__version__,
        manifest=MANIFEST,
    )
    (folder / "index.html").write_text(page, encoding="utf-8")


@dataclass
class ReportOutcome:
    """Where the report went and how each notebook ended.

    Attributes
    ----------
    folder : pathlib.Path
        The report folder, ``reports/<quarter>/``.
    quarter : str
        The report's quarter.
    results : list of NotebookResult
        One per notebook, in report order.
    skipped : bool
        True when an identical report already existed and nothing ran.
    """

    folder: Path
    quarter: str
    results: list[NotebookResult]
    skipped: bool = False  # True when an identical report already existed

    @property
    def ok(self) -> bool:
        """Whether no notebook failed (skipped ones do not count as failures)."""
        return all(r.status != "failed" for r in self.results)

    def summary(self) -> str:
        """A short text account of the run, for the terminal.

        Returns
        -------
        str
            The folder, then one line per notebook with its status, time and first line of error.
        """
        if self.skipped:
            return f"Report {self.quarter} is up to date (same inputs and notebooks): {self.folder}"
        lines = [f"Report {self.quarter} written to {self.folder}"]
        for r in self.results:
            where = f" (cell {r.failed_cell})" if r.failed_cell is not None else ""
            lines.append(
                f"  {r.status.upper():6} {r.file} {r.duration_s:.1f} s"
                + (f"{where}: {r.error.splitlines()[0] if r.error else ''}" if r.status != "ok" else "")
            )
        return "\n".join(lines)


def run_report(
    quarter: str | None = None,
    data_dir: str | os.PathLike | None = None,
    force: bool = False,
    specs: list[NotebookSpec] | None = None,
    pilot: str | None = None,
    jobs: int | None = None,
    sources: str | os.PathLike | None = None,
    source: str | None = None,
) -> ReportOutcome:
    """Run every notebook of the report for one quarter.

    Parameters
    ----------
    quarter : str, optional
        Like ``"2026Q3"``; default the latest complete quarter in the data.
    data_dir : path or str, optional
        Raw data folder, source mapping file or database URL; default ``config/sources.yaml`` if it
        exists, else ``data/raw`` (demo data is generated there if empty).
    force : bool
        Replace an existing report of the quarter built from other inputs.
    specs : list of NotebookSpec, optional
        Notebooks to run; default ``config/report.yaml``.
    pilot : str, optional
        Pilot to read out (default: the most recently assigned one).
    jobs : int, optional
        Notebooks run at once (default ``insights.report.execution.default_jobs()``: one per
        CPU, at most 4; 1 runs them one after the other). The outputs do not depend on it.
    sources : path, optional
        A source mapping file (``--sources``; see ``docs/sources.md``).
    source : str, optional
        A database URL (``--source``); credentials from the environment or ``~/.pgpass``. Shown
        and recorded only with its password masked.

    Returns
    -------
    ReportOutcome
        The folder and each notebook's result.

    Raises
    ------
    ParameterError, ContractError, ConfigError, MappingError
        Before any notebook runs, if parameters, data, source mapping or configuration are invalid,
        or the reports or processed folder is a file or read-only.
    ReportExistsError
        If ``reports/<quarter>/`` exists, differs, and ``force`` is False.
    ReportLockedError
        If another run is writing into the same reports folder (``insights.report.folder_lock``;
        the run refuses at once). Leftovers of killed runs are removed first.
    """
    root = paths.reports_dir()
    paths.writable_folder(paths.reports_dir(), "reports folder (INSIGHTS_REPORTS_DIR)")
    paths.writable_folder(paths.processed_dir(), "processed folder (INSIGHTS_PROCESSED_DIR)")
    with report_lock(root):  # one run at a time per reports folder
        for line in remove_residue(root):  # what runs killed earlier left behind
            print(f"Cleaned up after an interrupted run: {line}", file=sys.stderr, flush=True)
        return _run_locked(quarter, data_dir, force, specs, pilot, jobs, sources, source)


def _run_locked(quarter, data_dir, force, specs, pilot, jobs, sources, source) -> ReportOutcome:
    """``run_report`` once it holds the reports folder's lock."""
    specs = specs if specs is not None else load_report_spec()
    jobs = default_jobs() if jobs is None else jobs
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ParameterError(f"jobs must be a whole number >= 1, got {jobs!r}.")
    from insights.data.sources.locate import locate

    origin = locate(data_dir, sources, source)
    folder = data_folder(data_dir, sources, source)  # a mapped source becomes a folder under data/processed
    from insights.metrics.usage.run import with_usage_monthly

    folder, usage_built = with_usage_monthly(folder)  # only events: usage_monthly built (configured engine)
    hashes, stats = hashes_and_stats(folder)
    tables = cached_tables(folder, hashes)
    if tables is None:  # validated once here; the notebooks load the typed copy from the cache
        tables = load_tables(folder, use_cache=False)
    q = str(resolve_quarter(quarter, tables))
    if pilot is not None and pilot not in set(tables.pilot_assignments["pilot_id"]):
        known = sorted(tables.pilot_assignments["pilot_id"].unique())
        raise ParameterError(f"unknown pilot {pilot!r}; pilots in the data: {', '.join(known) or 'none'}.")
    demo = is_demo(folder)
    fingerprint = _fingerprint(q, hashes, specs) + (f":{pilot}" if pilot else "")
    root = paths.reports_dir()
    final = root / q
    if final.exists() and not force:
        manifest = final / MANIFEST
        try:
            old = json.loads(manifest.read_text()) if manifest.exists() else {}
        except ValueError:
            old = {}
        if old.get("fingerprint") == fingerprint and old.get("status") == "ok":
            return ReportOutcome(final, q, [NotebookResult(**r) for r in old.get("notebooks", [])], skipped=True)
        why = (
            "had failed notebooks"
            if old.get("fingerprint") == fingerprint
            else "was built from other inputs, configuration, notebooks or code"
        )
        raise ReportExistsError(
            f"{final} already exists and {why}; pass --force (make report FORCE=1) to replace "
            "it. The old report is kept until the new one is complete."
        )
    # Cached only if no raw file changed while it was hashed and validated (else each notebook validates)
    if stats is not None and file_stats(folder) == stats:
        cache_tables(tables, hashes, stats)  # also (re)records the hashes for the notebooks' look-ups
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{q}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    started = datetime.now(UTC)
    slots: list[NotebookResult | None] = []  # a skipped notebook's result, or None for one to run
    tasks: list[Task] = []
    try:
        plan = coverage(specs, tables.without_rows)
        for i, (spec, can) in enumerate(zip(specs, plan), 1):
            label = f"[{i}/{len(specs)}]"
            if can["status"] == "skipped":
                print(f"{label} {spec.file} ({spec.title}) skipped: {can['why']}", file=sys.stderr, flush=True)
                slots.append(NotebookResult(spec.file, spec.title, "skipped", 0.0, can["why"]))
                continue
            params = {**spec.parameters, "quarter": q, "data_dir": str(folder)}
            declared = _declared_parameters(spec)
            if "output_dir" in declared:  # CSV action lists go into the report
                params["output_dir"] = str(tmp)
            if pilot is not None and "pilot_id" in declared:
                params["pilot_id"] = pilot
            slots.append(None)
            tasks.append(Task(spec, tmp, params, demo, label))
        if tasks:
            print(f"Running {len(tasks)} notebook(s), {min(jobs, len(tasks))} at a time.", file=sys.stderr, flush=True)
        ran = iter(run_all(tasks, jobs, expected=_last_durations(root)))
        results: list[NotebookResult] = [r if r is not None else next(ran) for r in slots]
        write_workbook(tmp)
        counts = {name: len(frame) for name, frame in tables.frames.items()}
        write_index(tmp, q, results, specs, demo, counts, plan)
        record = {
            "quarter": q,
            "parameters": {"quarter": q, "data_dir": str(folder), "force": force, "pilot": pilot},
            "source": origin.describe(),
            "package_version": __version__,
            "python": sys.version.split()[0],
            "demo_data": demo,
            "inputs": hashes,
            "row_counts": counts,
            "usage_monthly": usage_built or "given",
            "seeds": _seeds(folder) if demo else {},
            "fingerprint": fingerprint,
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "notebooks": [asdict(r) for r in results],
            "outputs": sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()),
            "status": "failed" if any(r.status == "failed" for r in results) else "ok",
        }
        (tmp / MANIFEST).write_text(json.dumps(record, indent=1) + "\n")
        _move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportOutcome(final, q, results)


def _last_durations(root: Path) -> dict[str, float]:
    """Seconds each notebook took in the most recently finished report under ``root`` (empty if none)."""
    manifests = sorted(root.glob(f"*/{MANIFEST}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for manifest in manifests[:1]:
        try:
            return {
                r["file"]: float(r["duration_s"])
                for r in json.loads(manifest.read_text())["notebooks"]
                if r.get("status") == "ok"
            }
        except (OSError, ValueError, KeyError, TypeError):
            return {}
    return {}


def _seeds(folder: Path) -> dict:
    try:
        generator = json.loads((folder / "ground_truth.json").read_text()).get("generator", {})
    except (OSError, ValueError):
        return {}
    return {"demo_data_seed": generator.get("seed"), "demo_accounts": generator.get("accounts")}


def _move_into_place(tmp: Path, final: Path) -> None:
    """Swap the finished report in; an old one is kept as a backup until the swap succeeded."""
    backup = final.parent / f".{final.name}.backup-{os.getpid()}"
    if final.exists():
        os.replace(final, backup)
    try:
        os.replace(tmp, final)
    except BaseException:
        if backup.exists() and not final.exists():
            os.replace(backup, final)
        raise
    shutil.rmtree(backup, ignore_errors=True)
