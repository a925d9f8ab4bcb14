"""What was staged: the ledger of objects and batches, and the archive of finished objects."""
