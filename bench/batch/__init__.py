"""The batch benchmark (`make bench`, `python -m bench`): the pipeline against two baselines.

Each size is generated once, with a fixed seed, into `<state>/bench/<size>/data`: 31 days of
logs. The first 30 days and the songs, hard-linked into `<state>/bench/<size>/source`, are
the full source; the 31st day arrives for the incremental run.

Each run starts from an empty state folder (its own Spark conf, warehouse and Derby
metastore; a throw-away database on Postgres; throw-away schemas on a Thrift Server) and
runs every step as its own process, as a user runs it, JVM start-up included:

1. `python -m ingest stage --target T --source <source>`;
2. `dbt build --target T` (docs excluded); per-node times from its run_results.json;
3. the 31st day lands in the source (the incremental run). On the spark target it arrives as
   in production: the build marker a scheduled cycle would have written after the full build
   is recorded, then one `python -m ingest run --once` stages and builds it in one process,
   its data tests scoped to the rebuilt days. Other targets stage and `dbt build` again;
4. nothing new (spark target): `python -m ingest run --once` (cold: its own process) and
   one scheduler process running two idle cycles, the second timed in-process (warm);
5. the baselines on the same 30 days: `bench/batch/baseline_etl.py` (the textbook PySpark job,
   same Spark settings) and `bench/batch/baseline_duckdb.py` (the same contract in plain DuckDB
   SQL), the latter again on the 31 days (its +1 day is a full rerun).

Every step records its wall time and the peak RSS of its whole process tree (sampled every
0.2 s). The row counts of the project's marts (read from the warehouse's parquet files) are
compared with the DuckDB baseline's, after the full run and after the +1 day. The results go
to `<out>/<date>-<size>.json` and `.png`, to a section of BENCHMARKS.md between
`<!-- bench:<size>:start -->` and `<!-- bench:<size>:end -->`, and to the table of targets
across sizes (`<!-- bench:targets:start -->`), from the latest results of each size.
"""
