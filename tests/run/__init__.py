"""Tests of the pipeline, scheduled cycles, builds."""
