"""Staging: the one staging loop and its sinks (Spark landing, Postgres COPY, Redshift COPY)."""
