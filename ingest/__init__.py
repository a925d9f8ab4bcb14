"""Sparkify ingest: generate raw data, move it to S3, stage it for dbt."""

__version__ = "0.1.0"
