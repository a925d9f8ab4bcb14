"""The low-level Kinesis Data Streams adapter, below every job that uses a stream.

`client`: where the streams are (a typed KinesisEndpoint, resolved once by a CLI), the boto3
client, stream names, botocore failures as one line. `records`: the one StreamRecord read
from a shard, the Entry to put, getting and putting records. `shards`: creating a stream,
listing its shards. Neither `ingest.collect` nor `ingest.stream` talks to Kinesis otherwise;
nothing here reads a setting or the environment (boto3's own chain aside).
"""
