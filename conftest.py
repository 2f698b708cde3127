"""Test session setup shared by pytest (tests/) and nbval (notebooks/).

Every test and every notebook kernel sees a private, small demo dataset and private
report/processed folders through the INSIGHTS_* environment variables, so the suite
never reads or writes the checkout's data/ or reports/.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

TEST_ACCOUNTS = 300
TEST_SEED = 11

#: Test files that take longest, longest first (seconds measured on 2 cores, 2026-12-06: the
#: 20,000-account report ~170, Spark on a cluster path ~170, PostgreSQL report ~120, the report
#: ~140, its pages ~85). ``make test`` runs on two pytest-xdist workers, a file at a time per
#: worker (``--dist loadfile --no-loadscope-reorder``), in collection order: starting these first
#: keeps one worker from running a long file alone at the end while the other sits idle.
LONGEST_FIRST = (
    "tests/test_report_scale.py",
    "tests/test_usage_cluster.py",
    "tests/test_report.py",
    "tests/test_warehouse.py",
    "tests/test_report_pages.py",
    "tests/test_usage_spark.py",
    "tests/test_report_from_events.py",
    "tests/test_examples.py",
    "tests/test_report_safety.py",
    "tests/test_optional_tables.py",
)


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # pytest-xdist worker: the controller's env, and a reports folder of its own
        # a report run locks its reports folder (insights.report.folder_lock), so two workers'
        # report tests in one folder would refuse each other
        shared = Path(os.environ["INSIGHTS_REPORTS_DIR"])
        os.environ["INSIGHTS_REPORTS_DIR"] = str(shared.with_name(f"{shared.name}-{config.workerinput['workerid']}"))
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


def pytest_collection_modifyitems(config, items):
    """Run the files of ``LONGEST_FIRST`` first, in that order; every other item keeps its place after them."""
    root = Path(str(config.rootpath))
    missing = [name for name in LONGEST_FIRST if not (root / name).is_file()]
    if missing:
        raise pytest.UsageError(f"conftest.py LONGEST_FIRST names files that do not exist: {', '.join(missing)}")
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item) -> int:
        try:
            name = Path(str(item.path)).relative_to(root).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=key)  # stable: the order inside a file, and of the other files, is unchanged


def pytest_unconfigure(config):
    base = getattr(config, "_insights_tmp", None)
    if base is not None:
        shutil.rmtree(base, ignore_errors=True)
