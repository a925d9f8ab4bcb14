"""The one exception type the CLI turns into a clear message, and the CLI's exit codes."""

# Exit codes (docs/staging.md): 0 done; 1 a scheduled cycle failed; 2 a problem to fix (bad
# input, setting, source or service), said in one `error:` line; 75 another stage of the
# same source and target runs (--no-wait); 130 interrupted.
EXIT_OK, EXIT_CYCLE_FAILED, EXIT_ERROR, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


class IngestError(Exception):
    """A problem the user can fix: bad input, missing tool, unreachable service."""
