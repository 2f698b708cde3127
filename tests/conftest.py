import os
import shutil
from pathlib import Path

import pytest

from insights import paths
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
