"""The HTTP collection API in front of the Kinesis stream (docs/collector.md)."""
