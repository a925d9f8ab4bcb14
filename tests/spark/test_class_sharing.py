"""Class-data sharing for the project's Spark drivers (ingest.spark.class_sharing): the archive
is named by the jars and the java it holds classes of, the conf puts pyspark's jars before the
conf folder and points the driver at the archive, `spark-archive` makes it once, and a driver
maps it (and starts quietly without it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.settings import SparkSettings
from ingest.spark.class_archive import check_maps
from ingest.spark.class_sharing import class_sharing, spark_home
from ingest.spark.conf import spark_defaults
from tests.support.project import PROJECT_DIR, spark_setup

ARCHIVE_OPTION = "-XX:SharedArchiveFile="


def _fake_home(tmp_path: Path) -> tuple[Path, Path]:
    home, java = tmp_path / "pyspark", tmp_path / "jdk" / "bin" / "java"
    (home / "jars").mkdir(parents=True)
    java.parent.mkdir(parents=True)
    for name in ("spark-core.jar", "hive-exec.jar"):
        (home / "jars" / name).write_bytes(b"PK" + name.encode())
    java.write_bytes(b"\x7fELF")
    return home, java


def _settings(monkeypatch: pytest.MonkeyPatch, java: Path | None = None) -> SparkSettings:
    if java is not None:
        monkeypatch.setenv("JAVA_HOME", str(java.parent.parent))
    return SparkSettings.read()


def test_the_archive_is_named_by_the_jars_and_the_java(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, java = _fake_home(tmp_path)
    settings = _settings(monkeypatch, java)
    first = class_sharing(settings, home)
    assert first is not None and first == class_sharing(settings, home)
    assert first.archive.parent == home / "sparkify-cds"
    assert first.jars == str(home / "jars" / "*")

    (home / "jars" / "hive-exec.jar").write_bytes(b"PK another build")
    second = class_sharing(settings, home)
    assert second is not None and second.archive != first.archive

    java.write_bytes(b"\x7fELF another JDK")
    third = class_sharing(settings, home)
    assert third is not None and third.archive not in {first.archive, second.archive}


def test_off_or_without_java_there_is_no_archive(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home, java = _fake_home(tmp_path)
    monkeypatch.setenv("SPARKIFY_SPARK_CLASS_SHARING", "false")
    assert class_sharing(_settings(monkeypatch, java), home) is None
    defaults = spark_defaults(StatePaths(tmp_path / "state"), spark_setup())
    assert "spark.driver.extraClassPath" not in defaults
    assert ARCHIVE_OPTION not in defaults["spark.driver.extraJavaOptions"]

    monkeypatch.delenv("SPARKIFY_SPARK_CLASS_SHARING")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    assert class_sharing(SparkSettings.read(), home) is None


@pytest.mark.parametrize("metastore", ["derby", "postgres"])
def test_the_jars_come_first_and_the_archive_before_the_settings_options(
        metastore: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jdbc = tmp_path / "postgresql.jar"
    jdbc.write_bytes(b"PK")
    monkeypatch.setenv("SPARKIFY_METASTORE", metastore)
    monkeypatch.setenv("SPARKIFY_JDBC_JAR", str(jdbc))
    monkeypatch.setenv("SPARKIFY_SPARK_CLASS_ARCHIVE_DIR", str(tmp_path / "cds"))
    monkeypatch.setenv("SPARKIFY_SPARK_JAVA_OPTIONS", "-Xshare:off")
    defaults = spark_defaults(StatePaths(tmp_path / "state"), spark_setup())
    class_path = defaults["spark.driver.extraClassPath"].split(os.pathsep)
    assert class_path[0] == str(spark_home() / "jars" / "*")
    assert class_path[1:] == ([str(jdbc)] if metastore == "postgres" else [])
    options = defaults["spark.driver.extraJavaOptions"].split()
    archive = [option for option in options if option.startswith(ARCHIVE_OPTION)]
    assert len(archive) == 1 and archive[0].startswith(f"{ARCHIVE_OPTION}{tmp_path / 'cds'}/")
    assert options.index(archive[0]) < options.index("-Xshare:off")  # the user's option wins


def _driver_java(conf: Path) -> list[str]:
    """`java -version` with the class path and options a driver of this conf gets."""
    settings = dict(line.split(" ", 1) for line in
                    (conf / "spark-defaults.conf").read_text(encoding="utf-8").splitlines()
                    if line and not line.startswith("#"))
    class_path = os.pathsep.join((settings["spark.driver.extraClassPath"], str(conf)))
    return ["java", "-cp", class_path, *settings["spark.driver.extraJavaOptions"].split(),
            "-version"]


def _start_driver(env: dict[str, str], log_folder: Path) -> tuple[str, int]:
    """Start a driver with the conf of `env`, run one statement; its output and how many
    classes it mapped from an archive."""
    log_folder.mkdir(exist_ok=True)
    script = ("from pyspark.sql import SparkSession\n"
              "spark = SparkSession.builder.enableHiveSupport().getOrCreate()\n"
              "print(spark.sql('show databases').collect())\n")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False,
        env={**env, "JAVA_TOOL_OPTIONS": f"-Xlog:class+load=info:file={log_folder}/%p.log"})
    assert result.returncode == 0, result.stderr[-2000:]
    mapped = max((path.read_text().count("source: shared objects file (top)")
                  for path in log_folder.glob("*.log")), default=0)
    return result.stdout + result.stderr, mapped


@pytest.mark.spark
def test_spark_archive_is_made_once_and_mapped_by_a_driver(tmp_path: Path) -> None:
    archives = tmp_path / "cds"
    env = {**os.environ, "SPARKIFY_STATE_DIR": str(tmp_path / "state"),
           "SPARK_CONF_DIR": str(tmp_path / "conf"),
           "SPARKIFY_SPARK_CLASS_ARCHIVE_DIR": str(archives), "TZ": "UTC"}

    def ingest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=PROJECT_DIR, env=env,
                              capture_output=True, text=True, timeout=600, check=False)

    assert ingest("spark-conf").returncode == 0
    # no archive yet: a JVM with the driver's class path and options starts quietly without
    quiet = subprocess.run(_driver_java(tmp_path / "conf"), capture_output=True, text=True,
                           timeout=60, check=False)
    assert quiet.returncode == 0, quiet.stderr
    assert "sharing" not in quiet.stderr and "archive" not in quiet.stdout + quiet.stderr

    made = ingest("spark-archive")
    assert made.returncode == 0, made.stderr
    assert "archive of Spark's classes made" in made.stderr
    [archive] = archives.glob("*.jsa")
    assert archive.stat().st_size > 50_000_000
    assert not list(archives.glob(".*"))  # no partial file left
    again = ingest("spark-archive")
    assert again.returncode == 0 and "already made" in again.stderr
    assert list(archives.glob("*.jsa")) == [archive]

    cut = tmp_path / "cut.jsa"  # as a full disk leaves it: every JVM mapping it would crash
    cut.write_bytes(archive.read_bytes()[:1_000_000])
    with pytest.raises(IngestError, match="archive made is not usable"):
        check_maps(cut, str(spark_home() / "jars" / "*"), spark_setup(), tmp_path)

    output, mapped = _start_driver(env, tmp_path / "after")
    assert mapped > 10_000, output[-2000:]
    assert "shared archive" not in output.lower()
