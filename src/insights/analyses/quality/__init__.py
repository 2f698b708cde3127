"""Data-quality profile of the raw tables."""
