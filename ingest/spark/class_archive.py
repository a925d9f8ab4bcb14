"""Make the class-data-sharing archive of Spark's classes (ingest.spark.class_sharing says
where it goes and how drivers map it): `python -m ingest spark-archive`, run by `make setup`.

A driver JVM of a throwaway state runs ingest.spark.class_archive_workload with
`-XX:ArchiveClassesAtExit` and writes the classes it loaded when it exits, to a temporary
name beside the archive; only a complete archive is renamed into place. An archive already
made for these jars and this java is kept.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.spark.class_sharing import class_sharing, java_path
from ingest.spark.conf import SparkSetup, write_spark_conf

log = logging.getLogger(__name__)
TIMEOUT = 600.0


@dataclass(frozen=True)
class Archive:
    path: Path
    made: bool
    seconds: float = 0.0

    def describe(self) -> str:
        size = self.path.stat().st_size / 1e6
        if self.made:
            return (f"class-data-sharing archive of Spark's classes made in {self.seconds:.0f} s: "
                    f"{self.path} ({size:.0f} MB)")
        return f"class-data-sharing archive of Spark's classes already made: {self.path}"


def make_archive(setup: SparkSetup, *, timeout: float = TIMEOUT) -> Archive | None:
    """The archive for pyspark's jars and this java, made when missing (None: class sharing
    is off, SPARKIFY_SPARK_CLASS_SHARING, or there is no java)."""
    sharing = class_sharing(setup.spark)
    if sharing is None:
        return None
    if sharing.archive.is_file():
        return Archive(sharing.archive, made=False)
    try:
        sharing.archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"cannot make {sharing.archive.parent}: {exc.strerror}; set "
                          "SPARKIFY_SPARK_CLASS_ARCHIVE_DIR to a folder you can write") from None
    partial = sharing.archive.with_name(f".{sharing.archive.name}.{os.getpid()}.partial")
    started = time.monotonic()
    log.info("making the class-data-sharing archive of Spark's classes (about a minute)")
    try:
        with tempfile.TemporaryDirectory(prefix="sparkify-cds-") as folder:
            _record(setup, Path(folder), partial, timeout)
            if not partial.is_file() or partial.stat().st_size == 0:
                raise IngestError(f"the JVM wrote no class-data-sharing archive to {partial}")
            check_maps(partial, sharing.jars, setup, Path(folder))
        partial.replace(sharing.archive)
    finally:
        partial.unlink(missing_ok=True)
    for stale in sharing.archive.parent.glob("spark-*.jsa"):  # other jars' or java's
        if stale != sharing.archive:
            stale.unlink(missing_ok=True)
    return Archive(sharing.archive, made=True, seconds=time.monotonic() - started)


def check_maps(partial: Path, jars: str, setup: SparkSetup, work: Path) -> None:
    """A JVM maps the new archive (`-Xshare:on` fails when it cannot), so that no driver is
    handed a bad one: a cut archive (a full disk) crashes every JVM that maps it (SIGBUS).
    The JVM's crash report goes to `work`."""
    java = java_path(setup.spark)
    if java is None:
        raise IngestError("java disappeared while the class-data-sharing archive was made")
    result = subprocess.run([str(java), "-Xshare:on", f"-XX:SharedArchiveFile={partial}",
                             "-cp", jars, "-version"],
                            cwd=work, capture_output=True, text=True, timeout=60,
                            check=False)
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-2:])
        raise IngestError(f"the class-data-sharing archive made is not usable: {tail[-300:]}")


def _record(setup: SparkSetup, work: Path, partial: Path, timeout: float) -> None:
    """Run the workload in a driver of a throwaway Derby state that archives at its exit.

    Its class path is the project's (pyspark's jars first); bytecode is verified as the JVM
    does by default, so that drivers verifying and drivers not verifying both map it."""
    state = StatePaths(work / "state")
    spark = setup.spark.model_copy(update={"metastore": "derby", "master": "local[1]"})
    conf = write_spark_conf(state, SparkSetup(spark, setup.postgres), work / "conf")
    options = " ".join((f"-Dderby.system.home={state.spark}", "-Duser.timezone=UTC",
                        "-XX:TieredStopAtLevel=1", f"-XX:ArchiveClassesAtExit={partial}",
                        "-Xlog:disable", "-Xlog:all=error:stderr"))
    env = {**os.environ, "SPARK_CONF_DIR": str(conf), "SPARKIFY_STATE_DIR": str(state.root),
           "TZ": "UTC"}
    command = [sys.executable, "-m", "ingest.spark.class_archive_workload", options, str(work)]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise IngestError(f"making the class-data-sharing archive took over {timeout:.0f} s; "
                          "Spark starts without it") from None
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise IngestError("the JVM recording Spark's classes failed "
                          f"(exit {result.returncode}): {tail[-400:]}")
