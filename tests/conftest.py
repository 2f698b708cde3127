"""Shared fixtures. Each dataset is built on first use only, so a run that needs none builds none.

Sizes: *tiny* (50 accounts, the generator's minimum) for tests that corrupt or re-read files many
times; *small* (the session's 300 accounts, written by the root conftest.py for tests and notebook
kernels alike) for unit and integration tests; *default* (2,000 accounts) only in tests marked
``slow`` (acceptance checks against the ground truth that need the default size).
"""

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

from insights.data import paths
from insights.demo import GROUND_TRUTH_FILE, DemoSpec, generate, write_demo

TINY_ACCOUNTS = 50

# Hypothesis: few examples in CI (the default), many locally with HYPOTHESIS_PROFILE=long.
settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("long", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _private_copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The session's small demo dataset (read-only: copy it before changing anything)."""
    return Path(os.environ["INSIGHTS_DATA_DIR"])


@pytest.fixture(scope="session")
def demo_report(demo_dir) -> Path:
    """The quarterly report of the session's small demo (read-only), built once per test run.

    ``make test`` runs on several pytest-xdist workers: the first to ask builds the report
    (``run_report(data_dir=demo_dir, jobs=2)``) under an exclusive lock in the session's shared
    temporary folder (the parent of ``demo_dir``, made by the root conftest.py), and the others
    wait for it and read the same folder. Tests that change a report copy it first.
    """
    from insights.report.runner import run_report

    base = demo_dir.parent
    reports, done = base / "demo-report", base / "demo-report.done"
    with open(base / "demo-report.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            mp = pytest.MonkeyPatch()
            mp.setenv("INSIGHTS_REPORTS_DIR", str(reports))
            try:
                outcome = run_report(data_dir=demo_dir, jobs=2)
            finally:
                mp.undo()
            assert outcome.ok, outcome.summary()
            done.write_text(outcome.folder.name)
        return reports / done.read_text()


@pytest.fixture
def demo_copy(demo_dir, tmp_path) -> Path:
    """A private copy of the small demo dataset that a test may corrupt."""
    return _private_copy(demo_dir, tmp_path)


@pytest.fixture(scope="session")
def small_demo(demo_dir):
    """The session's small demo dataset in memory (the same spec as ``demo_dir``): tables and ground truth."""
    spec = json.loads((demo_dir / GROUND_TRUTH_FILE).read_text())["generator"]
    return generate(DemoSpec(n_accounts=spec["accounts"], seed=spec["seed"]))


@pytest.fixture(scope="session")
def tiny_demo_dir(tmp_path_factory) -> Path:
    """A 50-account demo dataset on disk, for tests that copy and re-validate it many times (read-only)."""
    folder = tmp_path_factory.mktemp("tiny-demo") / "raw"
    write_demo(folder, DemoSpec(n_accounts=TINY_ACCOUNTS, seed=11))
    return folder


@pytest.fixture
def tiny_demo_copy(tiny_demo_dir, tmp_path) -> Path:
    """A private copy of the tiny demo dataset that a test may corrupt."""
    return _private_copy(tiny_demo_dir, tmp_path)


@pytest.fixture(scope="session")
def default_demo():
    """The default-size demo dataset (2,000 accounts) in memory; use it only in tests marked slow."""
    return generate(DemoSpec())


@pytest.fixture
def project_root() -> Path:
    return paths.project_root()


def _ensure_java() -> str | None:
    """Return None if java runs, else the reason it cannot be had (installs Debian's JRE as root)."""
    if shutil.which("java"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "java is not installed and cannot be installed here (not root or no apt-get); install Java 17+"
    try:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "openjdk-17-jre-headless"],
            check=True,
            capture_output=True,
            timeout=900,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return f"java is not installed and apt-get install openjdk-17-jre-headless failed: {exc}"
    return None if shutil.which("java") else "java still not found after installing openjdk-17-jre-headless"


@pytest.fixture(scope="session")
def spark():
    """A local Spark session shared by the Spark tests, or a skip that says why (pyspark, sqlglot, Java)."""
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"pyspark/sqlglot not installed ({exc}); install the extra: pip install -e '.[dev,spark]'")
    reason = _ensure_java()
    if reason:
        pytest.skip(reason)
    from insights.metrics.usage.spark_engine import spark_session

    try:
        session = spark_session()
    except Exception as exc:  # noqa: BLE001 - a JVM that does not start is an environment problem
        pytest.skip(f"Spark could not start a local session: {exc}")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def pytest_collection_modifyitems(config, items):
    """Refuse a test that uses the default-size demo without being marked slow (it would slow the fast tier)."""
    unmarked = [
        item.nodeid
        for item in items
        if "default_demo" in getattr(item, "fixturenames", ()) and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use the default-size demo (default_demo) but are not marked "
            "@pytest.mark.slow; mark them, or use small_demo / demo_dir instead:\n  " + "\n  ".join(unmarked)
        )
