"""Reliability checks run against a real service process: ``make reliability`` (see ``run_all.py``)."""
