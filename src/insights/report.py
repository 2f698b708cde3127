"""The quarterly report runner: every notebook, executed with papermill, into reports/<quarter>/.

The list of notebooks is data (``config/report.yaml``). A run is atomic: it is
built in a hidden temporary folder and moved into place only when finished; an
existing report is replaced only with ``force`` (the old one is kept until the
new one is complete). A failing notebook does not stop the others.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from insights.config_files import read_mapping

from insights import __version__, headlines, paths
from insights.dataset import ensure_data, is_demo, resolve_quarter
from insights.errors import ConfigError, ParameterError, ReportExistsError
from insights.loading import load_tables

KERNEL = "python3"
MANIFEST = "manifest.json"
DEMO_BANNER = ('<div style="background:#b91c1c;color:white;font:bold 16px sans-serif;padding:8px 16px;'
               'text-align:center">DEMO DATA &mdash; generated, not a real customer base</div>')


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of the report."""

    file: str
    title: str
    summary: str = ""
    parameters: dict = field(default_factory=dict)
    requires: str | None = None  # "pilot": skipped when the data holds no pilot

    @property
    def stem(self) -> str:
        return Path(self.file).stem


@dataclass
class NotebookResult:
    """What happened when one notebook ran."""

    file: str
    title: str
    status: str  # "ok", "failed" or "skipped"
    duration_s: float
    error: str | None = None
    failed_cell: int | None = None


def load_report_spec(path: Path | None = None) -> list[NotebookSpec]:
    """Read and validate ``config/report.yaml``.

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
        if not isinstance(item, dict) or not isinstance(item.get("file"), str) or not isinstance(
                item.get("title"), str):
            problems.append(f"entry {i} needs `file` and `title` strings")
            continue
        unknown = set(item) - {"file", "title", "summary", "parameters", "requires"}
        if unknown:
            problems.append(f"entry {i} ({item['file']}) has unknown keys {sorted(unknown)}")
        if not (paths.notebooks_dir() / item["file"]).exists():
            problems.append(f"entry {i}: notebooks/{item['file']} does not exist")
        params = item.get("parameters") or {}
        if not isinstance(params, dict) or {"quarter", "data_dir"} & set(params):
            problems.append(f"entry {i}: `parameters` must be a mapping without quarter/data_dir")
        if item.get("requires") not in (None, "pilot"):
            problems.append(f"entry {i}: `requires` may only be 'pilot'")
        specs.append(NotebookSpec(item["file"], item["title"], item.get("summary", ""), dict(params),
                                  item.get("requires")))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return specs


def input_hashes(data_dir: Path) -> dict[str, str]:
    """SHA-256 of every file under the data folder, by relative path (sorted)."""
    out = {}
    for f in sorted(p for p in data_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest = hashlib.sha256()
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        out[f.relative_to(data_dir).as_posix()] = digest.hexdigest()
    return out


def _fingerprint(quarter: str, hashes: dict, specs: list[NotebookSpec]) -> str:
    """Everything a report depends on: quarter, inputs, notebooks, configuration and package code."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"quarter": quarter, "inputs": hashes, "version": __version__,
                              "notebooks": [asdict(s) for s in specs]}, sort_keys=True).encode())
    for spec in specs:
        digest.update((paths.notebooks_dir() / spec.file).read_bytes())
    config = paths.config_dir()
    for f in sorted(config.rglob("*.yaml")) if config.is_dir() else []:
        digest.update(f.name.encode() + f.read_bytes())
    for f in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(f.read_bytes())
    return digest.hexdigest()


def _declared_parameters(spec: NotebookSpec) -> set[str]:
    """Names in the notebook's ``parameters`` cell."""
    import papermill as pm

    return set(pm.inspect_notebook(str(paths.notebooks_dir() / spec.file)))


def run_notebook(spec: NotebookSpec, out_path: Path, parameters: dict) -> NotebookResult:
    """Execute one notebook with papermill (kernel python3, from the project root)."""
    import papermill as pm

    start = time.perf_counter()
    try:
        pm.execute_notebook(str(paths.notebooks_dir() / spec.file), str(out_path), parameters=parameters,
                            kernel_name=KERNEL, cwd=str(paths.project_root()), progress_bar=True,
                            request_save_on_cell_execute=False)
    except pm.PapermillExecutionError as exc:
        return NotebookResult(spec.file, spec.title, "failed", round(time.perf_counter() - start, 2),
                              f"{exc.ename}: {exc.evalue}"[:2000], exc.cell_index)
    except Exception as exc:  # noqa: BLE001 - kernel death etc.: recorded, the run goes on
        return NotebookResult(spec.file, spec.title, "failed", round(time.perf_counter() - start, 2),
                              f"{type(exc).__name__}: {exc}"[:2000])
    return NotebookResult(spec.file, spec.title, "ok", round(time.perf_counter() - start, 2))


def export_html(ipynb: Path, out: Path, demo: bool) -> None:
    """Write the executed notebook as an HTML page without code cells."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(str(ipynb), as_version=4))
    if demo:
        body = body.replace("<body", "<body data-demo='true'", 1)
        cut = body.index(">", body.index("<body")) + 1
        body = body[:cut] + DEMO_BANNER + body[cut:]
    out.write_text(body, encoding="utf-8")


def export_figures(ipynb: Path, folder: Path) -> list[str]:
    """Save every PNG figure of an executed notebook as ``figures/<notebook>_<n>.png``."""
    import base64

    import nbformat

    nb = nbformat.read(str(ipynb), as_version=4)
    names = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                folder.mkdir(exist_ok=True)
                name = f"{ipynb.stem}_{len(names) + 1:02d}.png"
                (folder / name).write_bytes(base64.b64decode(data["image/png"]))
                names.append(name)
    return names


WORKBOOK = "action_lists.xlsx"


def write_workbook(folder: Path) -> str | None:
    """One Excel workbook with a sheet per CSV action list of the report (None if there is none)."""
    csvs = sorted(folder.glob("*.csv"))
    if not csvs:
        return None
    import pandas as pd

    with pd.ExcelWriter(folder / WORKBOOK, engine="openpyxl") as writer:
        for csv in csvs:
            pd.read_csv(csv, dtype=str, keep_default_na=False).to_excel(writer, sheet_name=csv.stem[:31], index=False)
    return WORKBOOK


def write_index(folder: Path, quarter: str, results: list[NotebookResult], specs: list[NotebookSpec],
                demo: bool, row_counts: dict[str, int]) -> None:
    """The report's front page: sections with status, links and the data summary."""
    esc = html.escape
    rows = []
    for spec, res in zip(specs, results):
        link = (f'<a href="{esc(spec.stem)}.html">{esc(spec.title)}</a>' if res.status != "skipped"
                else esc(spec.title))
        status = {"ok": "ok", "skipped": f"skipped: {esc(res.error or '')}"}.get(
            res.status, f"<b style='color:#b91c1c'>FAILED</b> at cell {res.failed_cell}: {esc(res.error or '')}")
        rows.append(f"<tr><td>{link}</td><td>{esc(spec.summary)}</td><td>{status}</td>"
                    f"<td>{res.duration_s:.1f} s</td></tr>")
    counts = "".join(f"<tr><td>{esc(k)}</td><td style='text-align:right'>{v:,}</td></tr>"
                     for k, v in row_counts.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Customer-success report {esc(quarter)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;color:#111}} main{{max-width:960px;margin:24px auto;padding:0 16px}}
table{{border-collapse:collapse;width:100%;margin:12px 0}} td,th{{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left}}
th{{background:#f3f4f6}} .headline table.items th{{width:40%;background:none;font-weight:600}}
.headline{{border:1px solid #e5e7eb;border-radius:6px;padding:4px 14px;margin:12px 0}} .note{{color:#555;font-size:90%}}</style></head>
<body{" data-demo='true'" if demo else ""}>{DEMO_BANNER if demo else ""}<main>
<h1>Customer-success report &mdash; {esc(quarter)}</h1>
{"<h2>Headlines</h2>" + headlines.to_html(headlines.load_all(folder)) if headlines.load_all(folder) else ""}
<h2>Sections</h2>
<table id="sections"><tr><th>section</th><th>what it holds</th><th>status</th><th>time</th></tr>{''.join(rows)}</table>
<h2>Action lists</h2>
<p>{" &middot; ".join(f'<a href="{esc(p.name)}">{esc(p.name)}</a>' for p in sorted(folder.glob("*.csv")) + sorted(folder.glob("*.xlsx"))) or "none"}</p>
<h2>Data</h2>
<table id="data-summary"><tr><th>table</th><th>rows</th></tr>{counts}</table>
<p>Built by insights {esc(__version__)}; parameters and input hashes in <a href="{MANIFEST}">{MANIFEST}</a>.</p>
</main></body></html>
"""
    (folder / "index.html").write_text(page, encoding="utf-8")


@dataclass
class ReportOutcome:
    """Where the report went and how each notebook ended."""

    folder: Path
    quarter: str
    results: list[NotebookResult]
    skipped: bool = False  # True when an identical report already existed

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)

    def summary(self) -> str:
        if self.skipped:
            return f"Report {self.quarter} is up to date (same inputs and notebooks): {self.folder}"
        lines = [f"Report {self.quarter} written to {self.folder}"]
        for r in self.results:
            where = f" (cell {r.failed_cell})" if r.failed_cell is not None else ""
            lines.append(f"  {r.status.upper():6} {r.file} {r.duration_s:.1f} s" +
                         (f"{where}: {r.error.splitlines()[0] if r.error else ''}" if r.status != "ok" else ""))
        return "\n".join(lines)


def run_report(quarter: str | None = None, data_dir: str | os.PathLike | None = None, force: bool = False,
               specs: list[NotebookSpec] | None = None, pilot: str | None = None) -> ReportOutcome:
    """Run every notebook of the report for one quarter.

    Parameters
    ----------
    quarter : str, optional
        Like ``"2026Q3"``; default the latest complete quarter in the data.
    data_dir : path, optional
        Raw data folder; default ``data/raw`` (demo data is generated there if empty).
    force : bool
        Replace an existing report of the quarter built from other inputs.
    specs : list of NotebookSpec, optional
        Notebooks to run; default ``config/report.yaml``.
    pilot : str, optional
        Pilot to read out (default: the most recently assigned one).

    Returns
    -------
    ReportOutcome

    Raises
    ------
    ParameterError, ContractError, ConfigError
        Before any notebook runs, if parameters, data or configuration are invalid.
    ReportExistsError
        If ``reports/<quarter>/`` exists, differs, and ``force`` is False.
    """
    specs = specs if specs is not None else load_report_spec()
    folder = ensure_data(data_dir)
    tables = load_tables(folder)
    q = str(resolve_quarter(quarter, tables))
    if pilot is not None and pilot not in set(tables.pilot_assignments["pilot_id"]):
        known = sorted(tables.pilot_assignments["pilot_id"].unique())
        raise ParameterError(f"unknown pilot {pilot!r}; pilots in the data: {', '.join(known) or 'none'}.")
    demo = is_demo(folder)
    hashes = input_hashes(folder)
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
        why = ("had failed notebooks" if old.get("fingerprint") == fingerprint else
               "was built from other inputs, configuration, notebooks or code")
        raise ReportExistsError(f"{final} already exists and {why}; pass --force (make report FORCE=1) to replace "
                                "it. The old report is kept until the new one is complete.")
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{q}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    started = datetime.now(timezone.utc)
    results: list[NotebookResult] = []
    try:
        for i, spec in enumerate(specs, 1):
            print(f"[{i}/{len(specs)}] {spec.file} ({spec.title})", file=sys.stderr, flush=True)
            if spec.requires == "pilot" and tables.pilot_assignments.empty:
                results.append(NotebookResult(spec.file, spec.title, "skipped", 0.0, "no pilot in the data"))
                continue
            params = {**spec.parameters, "quarter": q, "data_dir": str(folder)}
            declared = _declared_parameters(spec)
            if "output_dir" in declared:  # CSV action lists go into the report
                params["output_dir"] = str(tmp)
            if pilot is not None and "pilot_id" in declared:
                params["pilot_id"] = pilot
            out_nb = tmp / spec.file
            result = run_notebook(spec, out_nb, params)
            if out_nb.exists():
                export_html(out_nb, tmp / f"{spec.stem}.html", demo)
                export_figures(out_nb, tmp / "figures")
            results.append(result)
        write_workbook(tmp)
        counts = {name: len(frame) for name, frame in tables.frames.items()}
        write_index(tmp, q, results, specs, demo, counts)
        manifest = {
            "quarter": q, "parameters": {"quarter": q, "data_dir": str(folder), "force": force, "pilot": pilot},
            "package_version": __version__, "python": sys.version.split()[0], "demo_data": demo,
            "inputs": hashes, "row_counts": counts, "seeds": _seeds(folder) if demo else {},
            "fingerprint": fingerprint, "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "notebooks": [asdict(r) for r in results],
            "outputs": sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()),
            "status": "failed" if any(r.status == "failed" for r in results) else "ok",
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        _move_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportOutcome(final, q, results)


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
