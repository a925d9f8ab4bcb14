"""The streaming latency benchmark: `python -m bench.stream` (see `bench.stream.latency`)."""
