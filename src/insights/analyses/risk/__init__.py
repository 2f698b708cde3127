"""Churn-risk model validated by time, calibrated probabilities, ARR at risk and the risk list."""
