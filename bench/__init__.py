"""Benchmarks that keep Tidings honest: ratios against Temporal's own floor, measured in one run."""
