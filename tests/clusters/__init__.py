"""Tests of AWS clusters against moto."""
