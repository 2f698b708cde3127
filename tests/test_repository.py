"""Repository hygiene: environment files agree, notebooks are clean and thin, the two commands documented."""

import ast
import re
import subprocess
import tomllib

import nbformat
import pytest
import yaml

from insights.data import paths

ROOT = paths.project_root()
CONDA_NAMES = {"duckdb": "python-duckdb"}  # conda-forge names that differ from PyPI


def _name(req: str) -> str:
    return re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0].strip().lower()


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    # pip extras such as psycopg[binary] have no conda equivalent: compare names and versions only
    reqs = [re.sub(r"\[[^\]]*\]", "", r) for r in reqs]
    return {CONDA_NAMES.get(_name(r), _name(r)): r[len(_name(r)) :].strip() for r in reqs}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in conda and "-e .[dev]" in pip
    listed = {
        _name(d.replace("=", "==", 1) if re.match(r"^[\w-]+=\d", d) else d): d[len(_name(d)) :].strip()
        for d in conda
        if _name(d) not in ("python", "pip")
    }
    assert listed == _pyproject_requirements()
    assert "conda-forge" in env["channels"]


def _notebooks():
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in _notebooks()][:1] == ["01_data_quality.ipynb"]


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_is_stripped_and_thin(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs before committing"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters`"
    # the parameters cell holds only assignments of plain literals, and quarter is a string
    values = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), "parameters cell: assignments only"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert isinstance(values.get("quarter"), str) and "data_dir" in values
    # thin: no functions or classes defined in notebooks; logic comes from the package
    for cell in code:
        tree = ast.parse(cell.source)
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda)) for n in ast.walk(tree)), path.name
        assert "open(" not in cell.source and "Path(" not in cell.source, "paths come from insights.data.paths"


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, flags=re.S)
    assert blocks, "README needs a code block with the commands"
    first = [line.strip() for line in blocks[0].splitlines() if line.strip() and not line.startswith("#")]
    assert first == ["make report", "make test"]


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_make_help_lists_every_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    for target in ("report", "test", "lab", "venv", "validate"):
        assert re.search(rf"\b{target}\b", out), target


def test_generated_data_and_reports_are_ignored_by_git():
    ignored = subprocess.run(
        [
            "git",
            "check-ignore",
            "data/raw/accounts.csv",
            "reports/2026Q3/index.html",
            "data/processed/usage_monthly.parquet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert len(ignored.stdout.split()) == 3
    kept = subprocess.run(["git", "check-ignore", "data/raw/README.md"], cwd=ROOT, capture_output=True, text=True)
    assert kept.returncode == 1
