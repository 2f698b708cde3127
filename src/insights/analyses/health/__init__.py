"""Health score: segment-relative component scores, bands, backtest and fitted weights."""
