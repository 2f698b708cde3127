"""Renewal pipeline (who renews, who is in a save play, who asked to cancel) and the coverage plan."""
