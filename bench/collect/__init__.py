"""The collector's load benchmark: `python -m bench.collect` (`bench.collect.levels`), and
the load tool it drives (`bench.collect.load`)."""
