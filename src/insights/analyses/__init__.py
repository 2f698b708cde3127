"""Stage 3: the questions a CS team asks, each a sub-package with its own figures.

Data quality, segments, health, renewals, churn risk, retention drivers and pilots.
"""
