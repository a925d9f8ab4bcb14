"""Synthetic data in the raw format, and a local S3 endpoint to serve it from."""
