"""Benchmarks that print the speed and size figures (run: make bench)."""
