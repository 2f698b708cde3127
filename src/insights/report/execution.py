"""Executing the report's notebooks: papermill with per-cell progress, one or several at a time.

The notebooks of the report are independent of each other: each reads the raw data
(through the typed-table cache) and writes only its own files into the report folder
(its executed notebook, HTML page, figures ``figures/<notebook>_<n>.png``, headline
``headlines/<notebook>.json`` and CSV action lists with names no other notebook uses).
So ``run_all`` can run them in parallel worker processes, each driving one kernel.
Results come back in the order of the report's list whatever order they finish in,
and a failing notebook (or a dead kernel or worker) is recorded and does not stop the
others.

Progress goes to stderr, one line per event, each naming its notebook so that lines of
notebooks running side by side stay readable::

    [2/7] 02_segmentation.ipynb (Segmentation) started
          02_segmentation.ipynb cell 11/19 done in 8.9 s
    [2/7] 02_segmentation.ipynb ok in 16.4 s
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from insights.data import paths
from insights.report import pages

KERNEL = "python3"
#: Arguments of each kernel: its own log stays off the terminal (ipykernel 7 warns once per kernel that
#: the local connection is not encrypted, and logs a KeyboardInterrupt on some shutdowns). Errors in a
#: notebook are in its outputs and in the run's summary, and a dead kernel is reported by the runner.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
ENGINE = "insights-progress"
# BLAS/OpenMP threads per kernel: the same whatever the number of parallel notebooks, so
# the numbers do not depend on it (a variable already set in the environment wins).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of the report (an entry of ``config/report.yaml``).

    Attributes
    ----------
    file : str
        Notebook file name under ``notebooks/``.
    title : str
        Its title in the report index.
    summary : str
        One-line description shown under the title.
    parameters : dict
        Extra papermill parameters for this notebook.
    requires : tuple of str
        Tables that must hold rows: without any of them the notebook is skipped, with that reason.
    without : dict of str to str
        Optional tables the notebook uses -> what it leaves out when they hold no row (shown on
        the report's front page).
    """

    file: str
    title: str
    summary: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    without: dict[str, str] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        """The file name without ``.ipynb`` (names its page, figures and headline)."""
        return Path(self.file).stem


@dataclass
class NotebookResult:
    """What happened when one notebook ran.

    Attributes
    ----------
    file, title : str
        The notebook, as in its ``NotebookSpec``.
    status : str
        ``"ok"``, ``"failed"`` or ``"skipped"``.
    duration_s : float
        Wall time of the run, in seconds.
    error : str or None
        The error (type and message, at most 2,000 characters) or why it was skipped.
    failed_cell : int or None
        Index of the failing cell as papermill counts it (the injected-parameters cell included).
    """

    file: str
    title: str
    status: str  # "ok", "failed" or "skipped"
    duration_s: float
    error: str | None = None
    failed_cell: int | None = None


@dataclass(frozen=True)
class Task:
    """One notebook to execute into the report folder (picklable, for a worker process).

    Attributes
    ----------
    spec : NotebookSpec
        The notebook.
    out_dir : pathlib.Path
        The report folder.
    parameters : dict
        Papermill parameters (the report's and the notebook's own).
    demo : bool
        Whether the data is the demo: its page gets the demo banner.
    label : str
        Position shown in progress lines, e.g. ``"[2/7]"``.
    """

    spec: NotebookSpec
    out_dir: Path
    parameters: dict[str, Any]
    demo: bool
    label: str  # "[2/7]"


def default_jobs() -> int:
    """Notebooks run at once by default.

    Returns
    -------
    int
        The CPUs this process may use, between 1 and 4.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _engine():
    """A papermill engine that prints one line per finished code cell (instead of a tqdm bar)."""
    from papermill.engines import NBClientEngine

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, progress_name="notebook", **kwargs):
            name = progress_name
            code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"]
            last = code[-1] if code else 0
            complete = nb_man.cell_complete

            def cell_complete(cell, cell_index=None, **kw):
                complete(cell, cell_index=cell_index, **kw)
                meta = cell.metadata.get("papermill", {})
                if cell.cell_type == "code" and meta.get("duration") is not None:
                    what = "failed after" if meta.get("status") == nb_man.FAILED else "done in"
                    _say(f"      {name} cell {cell_index}/{last} {what} {meta['duration']:.1f} s")

            nb_man.cell_complete = cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return ProgressEngine


def run_notebook(spec: NotebookSpec, out_path: Path, parameters: dict[str, Any]) -> NotebookResult:
    """Execute one notebook with papermill (kernel python3, from the project root).

    A failure inside the notebook is returned (with the index of the failing cell as
    papermill counts it, the injected-parameters cell included), not raised.

    Parameters
    ----------
    spec : NotebookSpec
        The notebook to run.
    out_path : pathlib.Path
        Where the executed notebook is written.
    parameters : dict
        Papermill parameters.

    Returns
    -------
    NotebookResult
        ``"ok"`` or ``"failed"`` with the error, and the wall time.
    """
    import papermill as pm
    from papermill.engines import papermill_engines

    if ENGINE not in papermill_engines._engines:
        papermill_engines.register(ENGINE, _engine())
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(paths.notebooks_dir() / spec.file),
            str(out_path),
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(paths.project_root()),
            progress_bar=False,
            request_save_on_cell_execute=False,
            engine_name=ENGINE,
            progress_name=spec.file,
            extra_arguments=KERNEL_ARGUMENTS,
        )
    except pm.PapermillExecutionError as exc:
        return _result(spec, start, f"{exc.ename}: {exc.evalue}", exc.cell_index)
    except Exception as exc:  # noqa: BLE001 - kernel death etc.: recorded, the run goes on
        return _result(spec, start, f"{type(exc).__name__}: {exc}")
    return _result(spec, start)


def _result(spec: NotebookSpec, start: float, error: str | None = None, cell: int | None = None) -> NotebookResult:
    """The result of a run started at ``start`` (``time.perf_counter``): failed if there is an error."""
    seconds = round(time.perf_counter() - start, 2)
    if error is None:
        return NotebookResult(spec.file, spec.title, "ok", seconds)
    return NotebookResult(spec.file, spec.title, "failed", seconds, error[:2000], cell)


def export_html(ipynb: Path, out: Path, demo: bool) -> None:
    """Write the executed notebook as an HTML page without code cells and without scripts.

    The page is rendered with ``insights.report.pages.NOTEBOOK_TEMPLATE``: JupyterLab's template
    with the report's Content-Security-Policy and none of its scripts.

    Parameters
    ----------
    ipynb : pathlib.Path
        The executed notebook.
    out : pathlib.Path
        The HTML file to write.
    demo : bool
        Mark the page as demo data and put the demo banner at the top of its body.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        extra_template_paths=[str(pages.TEMPLATES)],
        template_file=pages.NOTEBOOK_TEMPLATE,
    )
    body, _ = exporter.from_notebook_node(
        nbformat.read(str(ipynb), as_version=4),
        resources={"content_security_policy": pages.CONTENT_SECURITY_POLICY},
    )
    if demo:
        body = body.replace("<body", "<body data-demo='true'", 1)
        cut = body.index(">", body.index("<body")) + 1
        body = body[:cut] + pages.demo_banner() + body[cut:]
    out.write_text(body, encoding="utf-8")


def export_figures(ipynb: Path, folder: Path) -> list[str]:
    """Save every PNG figure of an executed notebook as ``figures/<notebook>_<n>.png``.

    Parameters
    ----------
    ipynb : pathlib.Path
        The executed notebook.
    folder : pathlib.Path
        The figures folder (created when there is a figure).

    Returns
    -------
    list of str
        File names written, in the order of the outputs.
    """
    import base64

    import nbformat

    nb = nbformat.read(str(ipynb), as_version=4)
    names: list[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                folder.mkdir(exist_ok=True)
                name = f"{ipynb.stem}_{len(names) + 1:02d}.png"
                (folder / name).write_bytes(base64.b64decode(data["image/png"]))
                names.append(name)
    return names


@contextlib.contextmanager
def _kernel_threads():
    """One BLAS/OpenMP thread in the kernels started inside (unless the environment sets it)."""
    unset = [var for var in THREAD_VARS if var not in os.environ]
    os.environ.update(dict.fromkeys(unset, "1"))
    try:
        yield
    finally:
        for var in unset:
            os.environ.pop(var, None)


def execute(task: Task) -> NotebookResult:
    """Run one notebook and export its HTML page and figures (in the calling process).

    Parameters
    ----------
    task : Task
        The notebook and where it goes.

    Returns
    -------
    NotebookResult
        The run's result; a page or figure that cannot be written makes it ``"failed"``.
    """
    spec = task.spec
    _say(f"{task.label} {spec.file} ({spec.title}) started")
    out_nb = task.out_dir / spec.file
    with _kernel_threads():
        result = run_notebook(spec, out_nb, task.parameters)
    if out_nb.exists():
        try:
            export_html(out_nb, task.out_dir / f"{spec.stem}.html", task.demo)
            export_figures(out_nb, task.out_dir / "figures")
        except Exception as exc:  # noqa: BLE001 - recorded as this notebook's failure; the others go on
            result = NotebookResult(
                spec.file,
                spec.title,
                "failed",
                result.duration_s,
                f"the notebook ran but its page could not be written: {type(exc).__name__}: {exc}"[:2000],
            )
    where = f" at cell {result.failed_cell}" if result.failed_cell is not None else ""
    _say(
        f"{task.label} {spec.file} {'ok' if result.status == 'ok' else 'FAILED' + where} in {result.duration_s:.1f} s"
        + (f": {result.error.splitlines()[0]}" if result.error else "")
    )
    return result


def run_all(tasks: list[Task], jobs: int = 1, expected: dict[str, float] | None = None) -> list[NotebookResult]:
    """Execute every task, ``jobs`` at a time; results in the order of ``tasks``.

    Parameters
    ----------
    tasks : list of Task
        The notebooks to run.
    jobs : int
        Notebooks run at once (1: one after the other, in this process, in list order).
    expected : dict, optional
        Notebook file -> expected seconds (e.g. from the last report). With several
        jobs the longest start first, so that a long one does not start last; notebooks
        without an estimate start first, in list order. Only timing depends on it.

    Returns
    -------
    list of NotebookResult
        If a worker process dies (e.g. killed for memory), the notebooks it took
        down with it are run again one at a time, each in a fresh worker; one whose
        worker dies again is recorded as failed.
    """
    if jobs <= 1 or len(tasks) <= 1:
        return [execute(t) for t in tasks]
    expected = expected or {}
    order = sorted(range(len(tasks)), key=lambda i: (-expected.get(tasks[i].spec.file, float("inf")), i))
    results: dict[int, NotebookResult] = {}
    broken: list[int] = []
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=get_context("spawn"))
    try:
        pending = {pool.submit(execute, tasks[i]): i for i in order}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                try:
                    results[i] = future.result()
                except BrokenProcessPool:
                    broken.append(i)
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot travel back: this notebook fails
                    spec = tasks[i].spec
                    results[i] = NotebookResult(
                        spec.file,
                        spec.title,
                        "failed",
                        0.0,
                        f"the worker process failed: {type(exc).__name__}: {exc}"[:2000],
                    )
                    _say(f"{tasks[i].label} {spec.file} FAILED: {results[i].error}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for i in sorted(broken):
        results[i] = _isolated(tasks[i])
    return [results[i] for i in range(len(tasks))]


def _isolated(task: Task) -> NotebookResult:
    """Run one task in a fresh worker process; a dead worker is a failure of that notebook."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        try:
            return pool.submit(execute, task).result()
        except BrokenProcessPool as exc:
            spec = task.spec
            result = NotebookResult(
                spec.file, spec.title, "failed", 0.0, f"the worker process running the notebook died ({exc})"[:2000]
            )
            _say(f"{task.label} {spec.file} FAILED: {result.error}")
            return result
