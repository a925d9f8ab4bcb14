"""Tests of the dbt docs in a browser."""
