"""Benchmarks run by `make bench`: every `*_bench.py` module here exposes `run() -> list[dict]`."""
