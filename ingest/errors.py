"""The one exception type the CLI turns into a clear message instead of a traceback."""


class IngestError(Exception):
    """A problem the user can fix: bad input, missing tool, unreachable service."""
