"""Helpers the tests share: data builders, expected marts, the project's paths."""
