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


class ContractError(InsightsError):
    """Raw data breaks the data contract.

    Holds every violation found (never only the first), so the user can fix them all
    in one pass.

    Parameters
    ----------
    violations : list of insights.validation.Violation
        All violations found.
    """

    exit_code = 2

    def __init__(self, violations):
        self.violations = list(violations)
        from insights.validation import format_violations

        super().__init__(
            f"The raw data breaks the data contract ({len(self.violations)} problem(s)); "
            "fix them in the source files and run again:\n" + format_violations(self.violations)
        )
