"""Churn-risk model validated by time, calibrated probabilities, and expected ARR at risk in a window (``exposure``)."""
