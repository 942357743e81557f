"""Benchmarks of django-slashml against baselines run in the same invocation: ``make bench``."""
