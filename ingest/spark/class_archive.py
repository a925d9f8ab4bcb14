"""The Spark driver's class-data-sharing archive: pyspark's classes, parsed once at setup.

A Spark JVM spends most of its start loading, parsing and linking some 15,000 classes from
pyspark's jars. JDK 17 can keep them, parsed, in an archive file that each later JVM maps
(`-XX:SharedArchiveFile`): a cold session and its first statements took 7.5 CPU s instead of
11-12 (BENCHMARKS.md, the dev loop). `make setup` (`python -m ingest spark-conf`) writes the
archive once per venv, by running a short session with `-XX:ArchiveClassesAtExit`.

The JVM accepts an archive only for the class path it was made with, and never with a
non-empty folder on it; Spark's launcher puts SPARK_CONF_DIR first. So a command's session
starts with SPARK_CONF_DIR an empty folder next to the archive, reads the project's
spark-defaults.conf through `--properties-file` (the Hive settings are in it too, as
`spark.hadoop.*`) and log4j2.properties through `-Dlog4j2.configurationFile`. Whatever does
not match (another Java, other jars, a shared metastore's JDBC driver on the class path, a
user's own Spark configuration or PYSPARK_SUBMIT_ARGS) starts as before, without the archive.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import IngestError

log = logging.getLogger(__name__)

FOLDER = "sparkify-class-archive"
ARCHIVE = "classes.jsa"
STAMP = "classes.key"
# the JVM's own notes about the archive (a refused archive is one warning line): off
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
_LAUNCH = threading.Lock()  # one session launch at a time changes the process environment
# what the archive's session runs: the catalog, parquet tables, the plans dbt's models make
WORKLOAD = (
    "create database if not exists archive_raw",
    "create table if not exists archive_raw.events (user_id string, ts bigint, song string, "
    "event_date date) using parquet partitioned by (event_date)",
    "insert overwrite table archive_raw.events partition (event_date) select cast(id % 7 as "
    "string), id * 1000, concat('song ', id % 5), date_add(date'2018-11-01', cast(id % 3 as "
    "int)) from range(200)",
    "create or replace view archive_raw.stg as select user_id, to_timestamp(ts / 1000) as "
    "start_time, trim(lower(song)) as song, event_date from archive_raw.events",
    "create table if not exists archive_raw.plays using parquet partitioned by (event_date) as "
    "select s.user_id, s.start_time, s.song, row_number() over (partition by s.user_id order "
    "by s.start_time desc) as rn, s.event_date from archive_raw.stg s left join (select "
    "distinct song from archive_raw.stg) d on s.song = d.song",
    "describe table extended archive_raw.plays",
    "show table extended in archive_raw like '*'",
    "select count(*) as n, count(distinct user_id) from archive_raw.plays where user_id is "
    "null or rn > 1 group by event_date having count(*) > 0",
    "drop view if exists archive_raw.stg",
    "drop table if exists archive_raw.plays",
    "drop table if exists archive_raw.events",
    "drop database if exists archive_raw cascade",
)


@dataclass(frozen=True)
class ClassArchive:
    """Where a venv's archive lives: next to pyspark's jars, whose classes it holds."""

    folder: Path

    @classmethod
    def of_pyspark(cls) -> ClassArchive:
        from pyspark.find_spark_home import _find_spark_home

        return cls(Path(_find_spark_home()) / FOLDER)

    @property
    def archive(self) -> Path:
        return self.folder / ARCHIVE

    @property
    def empty_conf(self) -> Path:
        """The SPARK_CONF_DIR of a session that uses the archive: an empty folder."""
        return self.folder / "empty-conf"

    def usable(self, key: str) -> bool:
        stamp = self.folder / STAMP
        return (self.archive.is_file() and stamp.is_file()
                and stamp.read_text(encoding="utf-8") == key
                and self.empty_conf.is_dir() and not any(self.empty_conf.iterdir()))


@dataclass(frozen=True)
class Launch:
    """How to start a driver JVM with (or to make) the archive: its extra Java options and
    the environment the launcher must see."""

    java_options: str
    environment: dict[str, str]

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The environment set while pyspark launches its JVM (pyspark reads it from this
        process's environment), restored afterwards."""
        with _LAUNCH:
            saved = {name: os.environ.get(name) for name in self.environment}
            os.environ.update(self.environment)
            try:
                yield
            finally:
                for name, value in saved.items():
                    if value is None:
                        del os.environ[name]
                    else:
                        os.environ[name] = value


def archive_key(java: Path) -> str:
    """What the archive was made for: this Java binary (path, size, time) and pyspark's
    version. The JVM checks the rest itself (its build, each jar) and starts without an
    archive that does not match."""
    import pyspark

    binary = java.resolve()
    info = binary.stat()
    return f"{binary} {info.st_size} {info.st_mtime_ns} pyspark {pyspark.__version__}\n"


def launch(archive: ClassArchive, conf: Path, *, making: Path | None = None) -> Launch:
    """The launch that maps `archive` (or, with `making`, writes a new one there at exit)
    with the project's configuration in `conf`."""
    option = (f"-XX:ArchiveClassesAtExit={making}" if making is not None
              else f"-XX:SharedArchiveFile={archive.archive}")
    return Launch(
        java_options=" ".join([option, QUIET,
                               f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}"]),
        environment={"SPARK_CONF_DIR": str(archive.empty_conf),
                     "PYSPARK_SUBMIT_ARGS":
                         f"--properties-file {conf / 'spark-defaults.conf'} pyspark-shell"},
    )


def make_archive(archive: ClassArchive, key: str, java: Path, start: Any) -> Path:
    """Write the archive: `start(path)` starts a session whose JVM writes one to `path` as
    it exits; it runs WORKLOAD and stops. The archive is put in place once `java` maps it
    (a torn archive would stop every JVM with a fatal error). IngestError when no usable
    archive came out of it."""
    archive.folder.mkdir(parents=True, exist_ok=True)
    archive.empty_conf.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.folder, prefix="making-") as scratch:
        made = Path(scratch) / ARCHIVE
        session = start(made)
        for statement in WORKLOAD:
            session.sql(statement).collect()
        _stop_jvm(session)
        if not made.is_file() or made.stat().st_size == 0:
            raise IngestError("the JVM wrote no class-data-sharing archive")
        check = subprocess.run([str(java), f"-XX:SharedArchiveFile={made}", *QUIET.split(),
                                "-version"], capture_output=True, text=True, timeout=60,
                               check=False, cwd=scratch)  # a crash's hs_err file goes there
        if check.returncode != 0:
            raise IngestError(f"{java} cannot map the archive it wrote (exit "
                              f"{check.returncode}): {check.stdout.strip()[:200]}")
        os.replace(made, archive.archive)
    (archive.folder / STAMP).write_text(key, encoding="utf-8")
    return archive.archive


def _stop_jvm(session: Any, timeout: float = 180) -> None:
    """Stop the session and wait for its JVM to end (it writes the archive as it exits)."""
    from pyspark import SparkContext

    session.stop()
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    if gateway is not None:
        gateway.shutdown()
    if process is None:
        return
    if process.stdin is not None:
        process.stdin.close()  # the JVM ends when its Python's pipe closes
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if process.poll() is None:
        process.kill()
        raise IngestError(f"the JVM did not end within {timeout:g} s of its session")
    if process.returncode != 0:
        raise IngestError(f"the JVM that wrote the archive exited {process.returncode}")
    SparkContext._gateway = None
    SparkContext._jvm = None


def remove(archive: ClassArchive) -> None:
    shutil.rmtree(archive.folder, ignore_errors=True)
