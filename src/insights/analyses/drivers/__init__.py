"""Retention drivers: ranking with uncertainty, survival view, figures."""
