"""Tests of the raw contract and verification rules."""
