"""Segments: rule-based tiers, behavioural segments, segment-relative benchmarks, profiles and trends."""
