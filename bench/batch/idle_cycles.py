"""`python -m bench.batch.idle_cycles`: scheduled cycles in one process, each timed (warm).

What `python -m ingest run --every …` does between its sleeps (`run_cycle` under the cycle
lock), without the sleeps; the bench takes the last cycle as the warm nothing-new figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.settings import ProjectSettings

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `--cycles` cycles; write their seconds and whether each built to `--out`."""
    from ingest.raw.sources import parse_source
    from ingest.run.scheduler import CycleConfig, cycle_lock, run_cycle
    from ingest.stage.dispatch import StageRequest

    parser = argparse.ArgumentParser(prog="python -m bench.batch.idle_cycles")
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="JSON: seconds and builds")
    parser.add_argument("--target", choices=["spark"], default="spark")
    parser.add_argument("--source", required=True)
    parser.add_argument("--raw-schema", required=True)
    parser.add_argument("--schema", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    state = StatePaths.of(ProjectSettings.read())
    config = CycleConfig(StageRequest("spark", parse_source(args.source), args.raw_schema,
                                      state), args.schema)
    seconds: list[float] = []
    built: list[bool] = []
    for number in range(1, args.cycles + 1):
        started = time.perf_counter()
        with cycle_lock(state.root / "run.lock") as acquired:
            if not acquired:
                raise IngestError(f"another cycle holds {state.root / 'run.lock'}")
            built.append(run_cycle(config))
        seconds.append(time.perf_counter() - started)
        log.info("cycle %d in this process: %.2f s, %s", number, seconds[-1],
                 "dbt build ran" if built[-1] else "no dbt build")
    args.out.write_text(json.dumps({"seconds": seconds, "built": built}) + "\n",
                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
