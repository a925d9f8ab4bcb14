"""Tests of the dbt models on each engine."""
