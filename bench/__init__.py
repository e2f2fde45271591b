"""Benchmarks: synthetic data (generate.py), cases (cases.py) and the runner (run.py). See README.md here."""
