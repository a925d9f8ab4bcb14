"""Test suite: pytest for the ingest and the pipeline; dbt singular tests live in dbt/."""
