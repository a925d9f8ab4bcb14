"""Class-data sharing for the project's Spark drivers: where the archive of Spark's classes is,
and the class path and JVM option that let a driver map it.

A new driver JVM loads, parses and verifies some 20,000 classes from pyspark's jars before it
answers its first statement; a dynamic class-data-sharing archive (JDK 17) holds them ready to
map (ingest.spark.class_archive makes it, at setup). The JVM maps such an archive only when
every class path entry up to the last one its classes came from is what it was when the archive
was made, and no folder among them holds files. Spark's launcher puts the conf folder
(spark-defaults.conf, hive-site.xml…) first, so the project's conf puts pyspark's jars on the
driver's extra class path, which the launcher puts before the conf folder (and does not repeat
after it): every class then comes from a jar listed before any folder.

The archive's name is a digest of the java binary and of the jars (name, size, time): another
pyspark or JDK names a file that does not exist until `spark-archive` makes it, and a JVM
pointed at a missing archive starts without sharing, silently.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ingest.settings import SparkSettings

FOLDER = "sparkify-cds"


def spark_home() -> Path:
    """pyspark's folder (SPARK_HOME, else the installed package's)."""
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home())


def java_path(settings: SparkSettings) -> Path | None:
    """The java that Spark's launcher will run (JAVA_HOME's, else PATH's), links resolved."""
    found = (str(settings.java_home / "bin" / "java") if settings.java_home is not None
             else shutil.which("java"))
    if not found or not os.path.isfile(found):
        return None
    return Path(os.path.realpath(found))


@dataclass(frozen=True)
class ClassSharing:
    """The driver's class path head (pyspark's jars) and its archive of their classes."""

    jars: str
    archive: Path

    @property
    def java_option(self) -> str:
        return f"-XX:SharedArchiveFile={self.archive}"


def class_sharing(settings: SparkSettings, home: Path | None = None) -> ClassSharing | None:
    """What a driver needs to map the archive; None when SPARKIFY_SPARK_CLASS_SHARING is off
    or there is no java to make one for."""
    if not settings.class_sharing:
        return None
    java = java_path(settings)
    if java is None:
        return None
    home = home or spark_home()
    digest = hashlib.sha256()
    for path in [java, *sorted((home / "jars").glob("*.jar"))]:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    folder = settings.class_archive_dir or home / FOLDER
    return ClassSharing(str(home / "jars" / "*"), folder / f"spark-{digest.hexdigest()[:16]}.jsa")
