"""Tests of the Spark session and the Thrift Server."""
