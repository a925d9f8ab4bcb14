"""`python -m ingest …`."""

from ingest.cli import main

if __name__ == "__main__":  # the verification workers (spawned) import this module too
    raise SystemExit(main())
