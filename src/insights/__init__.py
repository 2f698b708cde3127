"""insights: customer-success analytics for B2B subscription companies.

The package holds every piece of logic; notebooks under ``notebooks/`` only set
parameters, call into it and draw figures. A notebook starts with
``ctx = insights.setup(quarter, data_dir)`` (``insights.context.setup``).

``import insights`` stays light: ``setup`` and ``Context`` are imported from
``insights.context`` (which loads pandas) on first use.
"""

__version__ = "0.1.0"

_LAZY = {"setup": "insights.context", "Context": "insights.context"}


def __getattr__(name: str):
    """Import ``setup`` and ``Context`` from ``insights.context`` when first asked for."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'insights' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
