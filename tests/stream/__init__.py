"""Tests of the streaming path (Kinesis on a moto server)."""
