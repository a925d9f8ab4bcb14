"""Tests of the project's checks and the docs' commands."""
