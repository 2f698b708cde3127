import os
import shutil
import subprocess
from pathlib import Path

import pytest

from insights.data import paths
from insights.demo import DemoSpec, generate


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The session's small demo dataset (read-only: copy it before changing anything)."""
    return Path(os.environ["INSIGHTS_DATA_DIR"])


@pytest.fixture
def demo_copy(demo_dir, tmp_path) -> Path:
    """A private copy of the small demo dataset that a test may corrupt."""
    target = tmp_path / "raw"
    shutil.copytree(demo_dir, target)
    return target


@pytest.fixture(scope="session")
def default_demo():
    """The default-size demo dataset (2,000 accounts) in memory: tables and ground truth."""
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
        subprocess.run(["apt-get", "install", "-y", "openjdk-17-jre-headless"], check=True, capture_output=True,
                       timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
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
