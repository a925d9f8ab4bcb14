"""The benchmark harness (`make bench`, BENCHMARKS.md): not part of the installed package."""
