"""What the figures were measured on: CPU, memory, OS, versions, load and commit."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.common.memory import physical_cores, total_ram_gib
from ingest.paths import project_root

PACKAGES = ("pyspark", "dbt-core", "dbt-spark", "dbt-postgres", "psycopg2-binary")


@dataclass(frozen=True)
class Machine:
    """CPU, memory, OS and the versions that shape the figures."""

    cpu: str
    logical_cpus: int | None
    physical_cores: int | None
    ram_gib: float
    os: str
    python: str
    java: str
    versions: Mapping[str, str]
    spark_driver_memory: str
    spark_shuffle_partitions: str
    load_average_at_start: tuple[float, ...]
    git_commit: str
    load_average_at_end: tuple[float, ...] = ()


def machine() -> Machine:
    """CPU, memory, OS and the versions that shape the figures; the load at the start."""
    from ingest.settings import SparkSettings

    spark = SparkSettings.read()
    return Machine(
        cpu=_cpu(), logical_cpus=os.cpu_count(), physical_cores=physical_cores(),
        ram_gib=total_ram_gib(), os=_os_name(), python=platform.python_version(),
        java=_java(), versions=_versions(),
        spark_driver_memory=spark.driver_memory,
        spark_shuffle_partitions=str(spark.shuffle_partitions),
        load_average_at_start=load_average(), git_commit=_git_commit(),
    )


def load_average() -> tuple[float, ...]:
    """The 1, 5 and 15 minute load averages, to two decimals."""
    return tuple(round(value, 2) for value in os.getloadavg())


def _proc_field(path: str, prefix: str, separator: str) -> str | None:
    """The value of the first line of `path` starting with `prefix` (None when unreadable)."""
    with contextlib.suppress(OSError):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.startswith(prefix):
                return line.split(separator, 1)[1].strip()
    return None


def _cpu() -> str:
    return _proc_field("/proc/cpuinfo", "model name", ":") or (
        platform.processor() or platform.machine())


def _os_name() -> str:
    pretty = _proc_field("/etc/os-release", "PRETTY_NAME=", "=")
    return f"{pretty.strip(chr(34))} ({platform.release()})" if pretty else platform.platform()


def _java() -> str:
    try:
        text = subprocess.run(["java", "-version"], capture_output=True, text=True,
                              timeout=30, check=False).stderr
    except OSError:
        return "not found"
    return text.splitlines()[0] if text else "unknown"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def _git_commit() -> str:
    """The short commit, and whether the tree has changes besides the harness's outputs."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(),
                              capture_output=True, text=True, timeout=10, check=True)
        # the harness's own outputs (an earlier size of the same `make bench`) do not count
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)BENCHMARKS.md", ":(exclude)bench/results"],
                               cwd=project_root(), capture_output=True, text=True, timeout=10,
                               check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
