"""The driver's class-data-sharing archive (ingest.spark.class_archive): a command's session
maps it and keeps the project's settings; whatever does not match starts without it.

The JVM test starts a session in its own process with the JVM's class-loading log on, and
reads from that log where pyspark's classes came from: the archive ("shared objects file
(top)") or the jars.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.paths import StatePaths
from ingest.settings import PostgresSettings, SparkSettings
from ingest.spark import session as spark_session_module
from ingest.spark.class_archive import ARCHIVE, STAMP, ClassArchive, Launch, archive_key, launch
from ingest.spark.conf import SparkSetup
from ingest.spark.session import archive_launch, ensure_class_archive, java_binary
from tests.support.project import PROJECT_DIR, spark_setup

FROM_ARCHIVE = "source: shared objects file (top)"  # the JVM's class+load log
START = textwrap.dedent("""\
    import logging
    logging.basicConfig(level=logging.INFO)
    from ingest.paths import StatePaths
    from ingest.settings import ProjectSettings
    from ingest.spark.session import spark_session
    from tests.support.project import spark_setup
    spark = spark_session(StatePaths.of(ProjectSettings.read()), spark_setup())
    spark.sql("create database if not exists archived").collect()
    spark.sql("create table archived.t using parquet as select id from range(3)").collect()
    print("rows", spark.sql("select count(*) from archived.t").collect()[0][0])
""")


@pytest.mark.spark
def test_a_commands_session_maps_the_archive_and_keeps_the_projects_settings(
        tmp_path: Path) -> None:
    setup = spark_setup()
    archive = ensure_class_archive(setup)  # `make setup` made it; made here if not
    assert archive.is_file()
    loads = tmp_path / "class-load.log"
    state = tmp_path / "state"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYSPARK")}
    env.update(SPARKIFY_STATE_DIR=str(state), SPARK_CONF_DIR=str(tmp_path / "conf"),
               PYTHONPATH=str(PROJECT_DIR),
               SPARKIFY_SPARK_JAVA_OPTIONS=f"{setup.spark.java_options} "
                                           f"-Xlog:class+load=info:file={loads}")
    result = subprocess.run([sys.executable, "-c", START], env=env, cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rows 3" in result.stdout
    assert "class archive" in result.stderr  # the start's log line says so
    # Spark's classes came from the archive, not its jars (lambdas are made at run time)
    spark_classes = [line for line in loads.read_text().splitlines()
                     if " org.apache.spark." in line]
    archived = [line for line in spark_classes if FROM_ARCHIVE in line]
    from_jars = [line for line in spark_classes if "source: jar:" in line
                 or "source: file:" in line]
    assert len(archived) > 1000 and len(from_jars) < 0.05 * len(archived), from_jars[:5]
    # the project's log4j2.properties and Hive settings, though no conf folder is on the
    # class path: Spark's quiet logging, and the table in this state's warehouse and metastore
    assert "Using Spark's default log4j profile" not in result.stderr
    assert list((state / "spark" / "warehouse" / "archived.db" / "t").glob("*.parquet"))
    assert (state / "spark" / "metastore_db").is_dir()
    assert not list(Path(tmp_path / "conf").glob("*.jsa"))


def _archive(folder: Path, key: str) -> ClassArchive:
    archive = ClassArchive(folder)
    archive.empty_conf.mkdir(parents=True)
    (folder / ARCHIVE).write_bytes(b"archive")
    (folder / STAMP).write_text(key, encoding="utf-8")
    return archive


@pytest.fixture()
def fake_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ClassArchive:
    """An archive for this Java in a temporary folder, as the session code finds it."""
    key = archive_key(java_binary(None))
    archive = _archive(tmp_path / "archive", key)
    monkeypatch.setattr(spark_session_module.ClassArchive, "of_pyspark", lambda: archive)
    return archive


def _setup(**spark: str) -> SparkSetup:
    return SparkSetup(SparkSettings.read().model_copy(update=spark), PostgresSettings.read())


def test_a_matching_archive_gives_the_launch(fake_archive: ClassArchive, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    found = archive_launch(StatePaths(tmp_path), _setup(), java_binary(None), conf)
    assert found == launch(fake_archive, conf)
    assert found is not None
    assert f"-XX:SharedArchiveFile={fake_archive.archive}" in found.java_options
    assert found.environment["SPARK_CONF_DIR"] == str(fake_archive.empty_conf)
    assert str(conf / "spark-defaults.conf") in found.environment["PYSPARK_SUBMIT_ARGS"]


def test_whatever_does_not_match_starts_without_the_archive(
        fake_archive: ClassArchive, tmp_path: Path) -> None:
    state, java, conf = StatePaths(tmp_path), java_binary(None), tmp_path / "conf"
    assert archive_launch(state, _setup(), java, None) is None, "a user's own conf"
    assert archive_launch(state, _setup(submit_args="--jars x.jar pyspark-shell"), java,
                          conf) is None, "the user's PYSPARK_SUBMIT_ARGS"
    assert archive_launch(state, _setup(metastore="postgres"), java, conf) is None, (
        "a shared metastore puts its JDBC driver on the class path")
    assert archive_launch(state, _setup(), tmp_path / "no-java", conf) is None
    (fake_archive.folder / STAMP).write_text("another java\n", encoding="utf-8")
    assert archive_launch(state, _setup(), java, conf) is None, "made for another Java"
    (fake_archive.folder / STAMP).write_text(archive_key(java), encoding="utf-8")
    (fake_archive.empty_conf / "spark-defaults.conf").write_text("x", encoding="utf-8")
    assert archive_launch(state, _setup(), java, conf) is None, (
        "the JVM refuses a non-empty folder on the class path")


NAMES = st.sampled_from(["SPARK_CONF_DIR", "PYSPARK_SUBMIT_ARGS", "SPARKIFY_ARCHIVE_TEST"])
VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


@given(before=st.dictionaries(NAMES, VALUES), during=st.dictionaries(NAMES, VALUES),
       fails=st.booleans())
def test_the_launch_environment_is_put_back(before: dict[str, str], during: dict[str, str],
                                            fails: bool) -> None:
    names = ("SPARK_CONF_DIR", "PYSPARK_SUBMIT_ARGS", "SPARKIFY_ARCHIVE_TEST")
    saved = {name: os.environ.pop(name, None) for name in names}
    try:
        os.environ.update(before)
        try:
            with Launch("", during).applied():
                assert {name: os.environ[name] for name in during} == during
                if fails:
                    raise RuntimeError("the launch failed")
        except RuntimeError:
            assert fails
        assert {name: os.environ.get(name) for name in names} == {
            name: before.get(name) for name in names}
    finally:
        for name in names:
            os.environ.pop(name, None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})
