"""Benchmarks that print tables (never timed tests), and the seeded parallel sweeps."""
