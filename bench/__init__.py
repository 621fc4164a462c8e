"""Runnable benchmarks (SPEC §10). ``python -m bench`` / ``make bench``; results in bench/results/."""
