"""The embedded Spark session (pyspark; local mode, or SPARKIFY_SPARK_MASTER's cluster), started
with clear errors."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.locks import hold_until_exit, lock_path
from ingest.paths import StatePaths
from ingest.spark.conf import (
    SparkSetup,
    conf_dir,
    resolved_master,
    spark_defaults,
    write_spark_conf,
)
from ingest.spark.metastore import ensure_schema

log = logging.getLogger(__name__)
OUR_HEADER = "# Written by `python -m ingest spark-conf`"
JAVA_HINT = ("Spark needs Java 17 or newer: install it (Debian/Ubuntu: "
             "`apt-get install openjdk-17-jre-headless`) or set JAVA_HOME to a Java 17+ folder.")


def java_binary(home: Path | None) -> Path:
    """The java that pyspark will start; IngestError when there is none or it is too old.

    Spark's launcher runs `$JAVA_HOME/bin/java` when JAVA_HOME is set (`home`, whatever PATH
    holds), else `java` on PATH: the same choice here.
    """
    if home is not None and not (home / "bin" / "java").is_file():
        raise IngestError(f"JAVA_HOME={home} has no bin/java. {JAVA_HINT}")
    found = str(home / "bin" / "java") if home is not None else shutil.which("java")
    if not found:
        raise IngestError(f"Java was not found on PATH or in JAVA_HOME. {JAVA_HINT}")
    try:
        result = subprocess.run([found, "-version"], capture_output=True, text=True,
                                timeout=30, check=False)
    except OSError as exc:
        raise IngestError(f"cannot run {found}: {exc}. {JAVA_HINT}") from exc
    match = re.search(r'version "(\d+)', result.stderr + result.stdout)
    if not match or int(match.group(1)) < 17:
        raise IngestError(f"{found} is not Java 17+ ({result.stderr.strip()[:80]}). {JAVA_HINT}")
    return Path(found)


def ensure_spark_conf(state: StatePaths, setup: SparkSetup) -> Path:
    """Write the project's Spark conf unless a user-provided one is in place."""
    folder = conf_dir(setup.spark)
    defaults = folder / "spark-defaults.conf"
    if defaults.is_file() and not defaults.read_text(encoding="utf-8").startswith(OUR_HEADER):
        log.info("using the Spark configuration in %s (not written by this project)", folder)
        return folder
    return write_spark_conf(state, setup, folder)


def spark_session(state: StatePaths, setup: SparkSetup, *, long_lived: bool = False) -> Any:
    """The process's SparkSession (the one dbt's session method will pick up too), with the
    Spark settings the CLI resolved (`setup`). A `long_lived` process (a stream) starts its
    JVM with the JIT's own settings, as the Thrift Server does, not a command's
    (SPARKIFY_SPARK_JAVA_OPTIONS): C2 pays back over hours."""
    java = java_binary(setup.spark.java_home)
    ensure_spark_conf(state, setup)
    metastore = setup.metastore(state)
    if metastore.shared:
        ensure_schema(java, metastore)
    else:  # Derby admits one JVM: commands on one state folder take turns
        claim_metastore(state, setup.spark.lock_wait)
    from pyspark.sql import SparkSession

    master = resolved_master(state, setup.spark)
    log.info("starting Spark (master %s, metastore: %s; the JVM takes 10-20 s to start)",
             master, metastore.describe())
    # Python workers (the Kinesis source's readers) must have the project's packages: run
    # them with this interpreter, not pyspark's default `python3` on PATH. The JVM's own
    # lookups read the conf; what pyspark wraps reads the context's pythonExec.
    python = str(setup.spark.python or sys.executable)
    builder = SparkSession.builder.enableHiveSupport().config("spark.pyspark.python", python)
    if long_lived:  # handed to spark-submit, so it applies to the JVM it starts
        options = spark_defaults(state, setup, long_lived=True)["spark.driver.extraJavaOptions"]
        builder = builder.config("spark.driver.extraJavaOptions", options)
    if not master.startswith("local"):
        # executors of a cluster start from their worker's environment: hand them what the
        # Python workers need to reach AWS (the Kinesis source), as spark.executorEnv.*
        for name, value in executor_environment().items():
            builder = builder.config(f"spark.executorEnv.{name}", value)
    try:
        session = builder.getOrCreate()
        session.sparkContext.pythonExec = python
        return session
    except Exception as exc:  # py4j and the JVM fail in many shapes
        text = str(exc)
        if _gateway_exited(exc):
            raise IngestError(f"Spark's JVM exited at once: no usable Java. {JAVA_HINT}") from exc
        if "XJ040" in text or "Failed to start database" in text:
            raise IngestError(
                f"the Spark metastore in {state.metastore} is in use by another Spark process "
                "(a dbt command, a scheduled cycle, a stream or a Thrift Server): the embedded "
                "Derby metastore admits one at a time. Wait for it and retry, or share a "
                "PostgreSQL metastore between them: SPARKIFY_METASTORE=postgres "
                "(docs/metastore.md)"
            ) from exc
        raise IngestError(f"Spark failed to start: {text.splitlines()[0][:300]}") from exc


# what the driver's environment hands on to a cluster's executors
EXECUTOR_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                      "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                      "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KINESIS", "TZ")


def executor_environment() -> dict[str, str]:
    """What a cluster's executors inherit from this process: a copy of its environment's
    EXECUTOR_VARIABLES, for their processes (as a child process's environment is)."""
    inherited = {**os.environ}
    return {name: inherited[name] for name in EXECUTOR_VARIABLES if inherited.get(name)}


def claim_metastore(state: StatePaths, wait: float) -> None:
    """Hold the state folder's Spark lock for the life of this process, waiting for another
    command's embedded Spark to end (`wait`: SPARKIFY_SPARK_LOCK_WAIT seconds at most).

    Derby admits one JVM per metastore: a `run` and a `stream` on one state folder would
    both start, and the second would fail at its first catalog call, after landing rows,
    with a py4j stack. They take turns instead; past the wait, the second stops with one
    line before it lands or builds anything (a `stream` starts Spark before reading)."""
    command = " ".join(["ingest", *sys.argv[1:3]]) if sys.argv[0].endswith(
        ("ingest", "__main__.py")) else Path(sys.argv[0]).name
    hold_until_exit(lock_path(state.locks, "spark", str(state.metastore)),
                    f"the embedded Spark of {state.root} ({command})",
                    timeout=wait)


def _gateway_exited(exc: Exception) -> bool:
    """pyspark's JAVA_GATEWAY_EXITED: the java it launched ended before it could connect."""
    condition = getattr(exc, "getCondition", lambda: None)()
    return condition == "JAVA_GATEWAY_EXITED" or "JAVA_GATEWAY_EXITED" in str(exc)


def spark_session_soon(state: StatePaths, setup: SparkSetup) -> Callable[[], Any]:
    """Start the session in a background thread; the returned call waits for it.

    The JVM takes 10-20 s to start, mostly in its own process: the caller does its Python
    work meanwhile (staging verifies the new raw objects). Errors surface on the call.
    """
    java_binary(setup.spark.java_home)  # no Java: say so now, before the long work
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            outcome["spark"] = spark_session(state, setup)
        except BaseException as exc:  # handed to the waiting caller
            outcome["error"] = exc

    thread = threading.Thread(target=start, name="spark-start", daemon=True)
    thread.start()

    def wait() -> Any:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["spark"]

    return wait
