"""Event-scale usage: ``usage_events -> usage_monthly`` out of core (DuckDB) or on Spark.

The metric definitions live in ``insights.metrics.usage.definitions`` (one SQL text); the engines only
provide the inputs under fixed names and run it.
"""

from insights.metrics.usage.definitions import CONTRACT_COLUMNS, MONTHLY_COLUMNS, MONTHLY_SQL, NON_FEATURE_EVENTS
from insights.metrics.usage.duckdb_engine import DEFAULT_MEMORY_LIMIT, build_usage_monthly, usage_monthly_frame
from insights.metrics.usage.window import UsageSummary, Window

__all__ = [
    "CONTRACT_COLUMNS",
    "DEFAULT_MEMORY_LIMIT",
    "MONTHLY_COLUMNS",
    "MONTHLY_SQL",
    "NON_FEATURE_EVENTS",
    "UsageSummary",
    "Window",
    "build_usage_monthly",
    "usage_monthly_frame",
]
