"""Every command and option of `insights`, given a bad value: exit 2 and one clear error line, no traceback.

The commands and their options are enumerated from the typer app, so a new command or option
fails ``test_every_option_has_bad_values_or_is_free`` until it gets bad values here (or is
declared free: a flag or free text, where no value is wrong).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from insights.cli.app import app
from test_usage_events import make_events_dir

PILOT = "value_review_2026q1"  # the tiny demo's pilot (seed 11, default end)

# Valid arguments each command needs (placeholders filled per test); the bad value is added to them.
BASE = {
    "demo-data": ["--out", "{tmp}/new-demo"],
    "validate": ["{data}"],
    "report": ["--data", "{data}"],
    "usage-monthly": ["--data", "{events}", "--out", "{tmp}/out/usage_monthly.parquet"],
    "pilot design": ["--data", "{data}"],
    "pilot assign": ["new_pilot", "--window-end", "2027-03-31", "--data", "{data}"],
    "pilot readout": [PILOT, "--data", "{data}"],
    "pilot target": [PILOT, "--data", "{data}"],
    "sources suggest": ["{data}/accounts.csv"],
}
PATHS = ["{tmp}/no-such-folder", "{tmp}/a-file.txt"]
# Bad values by option name; a command-specific entry ("command:option") replaces the shared one.
BAD = {
    "data": [*PATHS, "{tmp}/empty", "postgresql://127.0.0.1:1/nodb"],
    "data_dir": [*PATHS, "{tmp}/empty"],
    "demo-data:out": ["{tmp}/a-file.txt", "{data}"],
    "usage-monthly:out": ["{events}/usage_monthly.parquet", "{tmp}", "{tmp}/a-file.txt/x.parquet"],
    "demo-data:end": ["2026-13-31", "2026-08-15", "someday"],
    "usage-monthly:end": ["2026-13-01", "9999-12-31"],
    "start": ["2027-13-01", "soon"],
    "window_end": ["2027-13-01", "0000-00-00"],
    "as_of": ["2026-02-30"],
    "quarter": ["2026Q5", "2026.3", "1999Q1"],
    "pilot": ["no_such_pilot"],
    "pilot readout:pilot_id": ["no_such_pilot", "../etc/passwd"],
    "pilot assign:pilot_id": ["../escape", "Bad Id!", PILOT],
    "pilot target:pilot_id": ["no_such_pilot", "../etc/passwd"],
    "pilot target:treatment": ["no_such_arm"],
    "pilot target:out": ["{tmp}/a-file.txt/ranked.csv", "{tmp}"],
    "top": ["0", "-1"],
    "accounts": ["abc", "10"],
    "seed": ["abc", "-1"],
    "years": ["1", "two"],
    "jobs": ["0", "-1"],
    "memory_limit": ["lots", "0GB"],
    "engine": ["flink", "DuckDB"],
    "master": ["local[2]"],  # with the default engine, DuckDB: a master is for Spark only
    "mde": ["0", "-0.05", "1.5", "nan"],
    "quarters": ["0", "-1"],
    "alpha": ["0", "1.5"],
    "power": ["0", "1"],
    "treatment_share": ["0", "1", "1.5"],
    "max_smd": ["-1", "nan"],
    "looks": ["0"],
    "min_worthwhile": ["-1", "inf"],
    "level": ["0", "1.5"],
    "segment": ["NoSuchSegment"],
    # options of the k-arm pilots (branch pilots-k); unused where those options do not exist
    "treatments": ["0", "-1"],
    "arm": ["control"],
    "pilot assign:control": ["treatment"],
    "pilot readout:control": ["no_such_arm"],
    "adjust": ["nope"],
    "interval": ["nope"],
    # source mappings and database URLs (issue 15)
    "sources": ["{tmp}/no-such-mapping.yaml", "{tmp}/a-file.txt"],
    "source": ["not-a-url", "nosuchdriver://host/db", "postgresql://127.0.0.1:1/nodb"],
    "sources suggest:files": ["{tmp}/no-such-export.csv", "{tmp}"],
    "sources suggest:out": ["{tmp}/a-file.txt", "{tmp}/a-file.txt/mapping.yaml"],
}
# Options where no value is wrong: flags and free text.
FREE = {"force", "events", "description", "retrospective", "continuity_correction"}


def _commands(command=None, path=()):
    command = command or typer.main.get_command(app)
    if hasattr(command, "list_commands"):
        for name in command.list_commands(None):
            yield from _commands(command.get_command(None, name), (*path, name))
    else:
        yield " ".join(path), command


COMMANDS = dict(_commands())


def _cases():
    for name, command in COMMANDS.items():
        for param in command.params:
            if param.name in FREE:
                continue
            for value in BAD.get(f"{name}:{param.name}", BAD.get(param.name, [])):
                yield pytest.param(name, param, value, id=f"{name} {param.opts[0]}={value}")


def test_every_option_has_bad_values_or_is_free():
    assert set(BASE) == set(COMMANDS), "give every command its valid base arguments in BASE"
    uncovered = [
        f"{name} {param.opts[0]}"
        for name, command in COMMANDS.items()
        for param in command.params
        if param.name not in FREE and f"{name}:{param.name}" not in BAD and param.name not in BAD
    ]
    assert not uncovered, f"add bad values (BAD) or declare free (FREE): {uncovered}"


@pytest.fixture(scope="module")
def events(demo_dir, tmp_path_factory) -> Path:
    return make_events_dir(demo_dir, tmp_path_factory.mktemp("events") / "raw")


def _args(name: str, param, value: str) -> list[str]:
    """The base arguments with ``value`` given to ``param`` (replacing a positional or the base's own)."""
    args = list(BASE[name])
    if not param.opts[0].startswith("-"):  # a positional argument: the first base argument not an option
        index = next(
            i for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or not args[i - 1].startswith("-"))
        )
        args[index] = value
        return args
    if param.opts[0] in args:
        args[args.index(param.opts[0]) + 1] = value
        return args
    return [*args, param.opts[0], value]


@pytest.mark.parametrize(("name", "param", "value"), list(_cases()))
def test_a_bad_value_is_exit_2_and_one_line(name, param, value, tiny_demo_copy, events, tmp_path):
    (tmp_path / "a-file.txt").write_text("not a folder\n")
    (tmp_path / "empty").mkdir()
    fill = {"tmp": tmp_path, "data": tiny_demo_copy, "events": events}
    args = [a.format(**fill) for a in _args(name, param, value)]
    pilots_before = sorted((tiny_demo_copy / "pilots").iterdir())
    result = CliRunner().invoke(app, [*name.split(), *args])
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 2, f"{name} {args}: exit {result.exit_code}\n{output}"
    errors = [line for line in output.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and "Traceback" not in output, output
    assert sorted((tiny_demo_copy / "pilots").iterdir()) == pilots_before, "a refused command wrote a pilot"
