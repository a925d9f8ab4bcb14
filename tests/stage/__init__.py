"""Tests of staging into each target."""
