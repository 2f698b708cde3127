"""Pilots of CS playbooks: design, assignment, readout."""
