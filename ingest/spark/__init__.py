"""The Spark runtime: the embedded session, its configuration, and the local Thrift Server."""
