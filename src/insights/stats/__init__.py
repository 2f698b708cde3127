"""Generic statistics on any DataFrame.

Intervals and comparisons, stratified and adjusted tests, sequential and Bayesian readouts,
dominance analysis, driver ranking, survival and classifier evaluation.

Nothing here knows the nine raw tables: column names are parameters.
"""
