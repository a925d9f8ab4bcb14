"""Tests of the synthetic data."""
