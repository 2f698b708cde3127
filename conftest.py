"""Test session setup shared by pytest (tests/) and nbval (notebooks/).

Every test and every notebook kernel sees a private, small demo dataset and private
report/processed folders through the INSIGHTS_* environment variables, so the suite
never reads or writes the checkout's data/ or reports/.
"""

import os
import shutil
import tempfile
from pathlib import Path

TEST_ACCOUNTS = 300
TEST_SEED = 11


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # pragma: no cover - xdist workers inherit the env
        return
    base = Path(tempfile.mkdtemp(prefix="insights-tests-"))
    config._insights_tmp = base
    env = {
        "INSIGHTS_DATA_DIR": base / "raw",
        "INSIGHTS_PROCESSED_DIR": base / "processed",
        "INSIGHTS_REPORTS_DIR": base / "reports",
    }
    for key, value in env.items():
        os.environ[key] = str(value)
    os.environ.pop("INSIGHTS_HOME", None)
    os.environ.pop("INSIGHTS_CONFIG_DIR", None)

    from insights.demo import DemoSpec, write_demo

    write_demo(env["INSIGHTS_DATA_DIR"], DemoSpec(n_accounts=TEST_ACCOUNTS, seed=TEST_SEED))


def pytest_unconfigure(config):
    base = getattr(config, "_insights_tmp", None)
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)
