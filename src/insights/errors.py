"""Project exceptions: every error a user can cause says what to fix."""

from __future__ import annotations


class InsightsError(Exception):
    """Base class for errors caused by input, parameters or files.

    The command-line interface prints these without a traceback and exits non-zero.
    """

    exit_code = 1


class ParameterError(InsightsError):
    """A parameter (quarter, path, size, seed...) is invalid."""

    exit_code = 2


class ConfigError(InsightsError):
    """A file under ``config/`` is missing or invalid."""

    exit_code = 2


class ReportExistsError(InsightsError):
    """A report folder already exists and ``force`` was not given."""

    exit_code = 2


class ReportLockedError(InsightsError):
    """Another report is being written into the same reports folder."""

    exit_code = 2


class ContractError(InsightsError):
    """Raw data breaks the data contract.

    Holds every violation found (never only the first), so the user can fix them all
    in one pass.

    Parameters
    ----------
    violations : list of insights.data.validation.Violation
        All violations found.
    """

    exit_code = 2

    def __init__(self, violations):
        self.violations = list(violations)
        super().__init__(
            f"The raw data breaks the data contract ({len(self.violations)} problem(s)); "
            "fix them in the source files and run again:\n" + format_violations(self.violations)
        )


def format_violations(violations) -> str:
    """Render contract violations as a fixed-width text table (table, column, rule, count, examples).

    Plain Python, so that raising or printing a ``ContractError`` needs no pandas.

    Parameters
    ----------
    violations : list of insights.data.validation.Violation
        The violations to show, in order.

    Returns
    -------
    str
        One header line and one line per violation, columns right-aligned; examples cut at 80
        characters. ``"no violations"`` for an empty list.
    """
    if not violations:
        return "no violations"
    header = ("table", "column", "rule", "count", "examples")
    rows = [(v.table, v.column, v.rule, str(v.count), ", ".join(v.examples)[:80]) for v in violations]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(" ".join(cell.rjust(w) for cell, w in zip(r, widths)) for r in [header, *rows])


class MappingError(ContractError):
    """A source mapping file (``config/sources.yaml``) cannot produce contract tables.

    Holds every problem found (unknown tables, keys or columns, values left unmapped, missing
    files), each with the fix, so the user corrects the mapping in one pass.

    Parameters
    ----------
    violations : list of insights.data.sources.spec.MappingProblem
        All problems found; each has ``table``, ``column``, ``rule``, ``count``, ``examples`` and ``fix``.
    where : str
        The mapping file (or source) the problems are in, for the message.
    """

    def __init__(self, violations, where: str):
        self.violations = list(violations)
        fixes = "\n".join(
            f"  - {v.table}.{v.column}: {v.fix}" if v.column != "—" else f"  - {v.table}: {v.fix}"
            for v in self.violations
            if getattr(v, "fix", "")
        )
        Exception.__init__(
            self,
            f"The source mapping {where} cannot be applied ({len(self.violations)} problem(s)); "
            "fix them in the mapping file and run again:\n"
            + format_violations(self.violations)
            + (f"\nHow to fix:\n{fixes}" if fixes else ""),
        )
