"""Executors (DESIGN §10): local and Ray give bit-identical alphas, evaluations and walk-forward results."""
