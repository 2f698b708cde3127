"""Stage 2, typed tables to metrics.

Periods, churn derived from contract terms, leakage-safe snapshots, and event-scale monthly usage
(``insights.metrics.usage``).
"""
