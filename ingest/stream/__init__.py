"""Events as they happen: Kinesis streams, the producer, the delivery to S3, the Spark source."""
