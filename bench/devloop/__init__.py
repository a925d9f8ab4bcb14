"""`python -m bench.devloop`: what one `dbt build` of the `make run` sample costs, cold and on a
warm engine, per node and per SQL statement (BENCHMARKS.md, "dev loop"; issue 26)."""
