"""Events as they happen, the whole streaming job: `produce` (a source onto a stream),
`deliver` (a stream into raw log objects), and `stream` (the Spark source, the streaming
query, each micro-batch landed through the staging loop's steps, then a build). Kinesis
itself is reached through the adapter below it, ingest.kinesis."""
