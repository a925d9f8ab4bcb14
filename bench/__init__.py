"""The benchmark harness (BENCHMARKS.md), not part of the installed package.

One sub-package per benchmark, each run as its own command, and the parts they share:

- `batch/`: `python -m bench --size S|M|L` (`make bench`, `make bench-thrift`,
  `make bench-cluster`): stage + dbt build, the one-more-day incremental run and the idle
  scheduled cycles, against a PySpark and a DuckDB baseline;
- `stream/`: `python -m bench.stream`: how long from an event put on Kinesis to its row in
  the marts, under a continuous stream;
- `collect/`: `python -m bench.collect` (`make bench-collect`): the collector's load figures
  at 1, 10 and 50 clients, and the load tool itself (`--url`);
- `common/`: what they share: the machine the figures were measured on, the memory of process
  trees, a step's environment, replacing a marked section of BENCHMARKS.md.

The benchmarks import `common/`, never each other (.importlinter). Their results are in
`bench/results/`.
"""
