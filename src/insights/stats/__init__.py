"""Generic statistics on any DataFrame: intervals and comparisons, stratified and adjusted tests,
sequential and Bayesian readouts, dominance analysis, survival and classifier evaluation.

Nothing here knows the nine raw tables: column names are parameters.
"""
