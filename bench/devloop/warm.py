"""The dev loop's warm engine measured from inside: `python -m bench.devloop.warm WORK N
TARGET [dbt build arguments]` runs N builds on one ingest.dev.engine.WarmEngine (one process,
one JVM) into the dbt target folder TARGET, each with its own log folder WORK/dev-<i>/logs
and a copy of its run_results.json in WORK/dev-<i>,
and writes each build's wall and CPU seconds (this process and its JVM) to WORK/dev-costs.json.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import psutil

from ingest.dev.engine import WarmEngine
from ingest.paths import project_root
from ingest.spark.commands import resolved


def _tree_cpu() -> float:
    me = psutil.Process(os.getpid())
    total = 0.0
    for member in (me, *me.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    work, builds, target, select = Path(argv[0]), int(argv[1]), Path(argv[2]), argv[3:]
    state, setup = resolved()
    project = project_root()
    engine = WarmEngine(state, setup, project, ["--target-path", str(target), *select])
    costs = []
    for number in range(1, builds + 1):
        logs = work / f"dev-{number}"
        shutil.rmtree(logs, ignore_errors=True)
        cpu, started = _tree_cpu(), time.monotonic()
        build = engine.build(["--log-path", str(logs / "logs")])
        wall = time.monotonic() - started
        if not build.succeeded:
            print(build.describe(), file=sys.stderr)
            return 1
        shutil.copy2(target / "run_results.json", logs / "run_results.json")
        costs.append({"wall_seconds": round(wall, 2),
                      "cpu_seconds": round(_tree_cpu() - cpu, 2),
                      "load_average": os.getloadavg()[0]})
        print(build.describe(), flush=True)
    (work / "dev-costs.json").write_text(json.dumps(costs, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
