"""The textbook Sparkify ETL: the PySpark job most teams write first. The benchmark baseline.

    python bench/batch/baseline_etl.py --input RAW_DIR --output OUT_DIR

RAW_DIR holds `song_data/A/B/C/TR….json` (one song per file) and
`log_data/YYYY/MM/YYYY-MM-DD-events.json` (one file per day). The job:

- reads both with `spark.read.json` and lets Spark INFER the schemas, which lists and opens
  every tiny song file (and reads them again for each table built from them: no cache);
- keeps the `NextSong` events of known users and drops duplicate events;
- builds the five star-schema tables: `songs` (partitioned by year and artist_id, as the
  classic assignment asks), `artists`, `users` (latest attributes per user), `time` and
  `songplays` (both partitioned by year and month), the plays matched to songs by the classic
  equality of song title, artist name and duration;
- writes them as parquet below OUT_DIR, overwriting.

It is written plainly, not made slow on purpose: built-in functions only (no Python UDFs),
and the project's Spark settings. Those come from the Spark configuration folder
(`$SPARK_CONF_DIR`, else pyspark's `conf/`) that `python -m ingest spark-conf` writes:
the benchmark harness writes one per run. Without one, the job sets the same driver memory,
shuffle partitions and UTC time zone itself.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any


def spark_session() -> Any:
    """The session, with the project's settings (its spark-defaults.conf, or the same values)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("sparkify-baseline-etl")
    if not _project_conf_present():
        from ingest.settings import SparkSettings

        spark = SparkSettings.read()
        builder = (builder.master("local[*]")
                   .config("spark.driver.memory", spark.driver_memory)
                   .config("spark.sql.shuffle.partitions", str(spark.shuffle_partitions))
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.ui.enabled", "false"))
    return builder.getOrCreate()


def _project_conf_present() -> bool:
    folder = os.environ.get("SPARK_CONF_DIR")
    if not folder:
        from pyspark.find_spark_home import _find_spark_home

        folder = str(Path(_find_spark_home()) / "conf")
    return (Path(folder) / "spark-defaults.conf").is_file()


def run(spark: Any, input_dir: Path, output_dir: Path) -> None:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    out = str(output_dir)

    # --- songs and artists, from the song files (schema inferred) ---
    song_df = spark.read.json(str(input_dir / "song_data" / "*" / "*" / "*" / "*.json"))

    songs_table = song_df.select("song_id", "title", "artist_id", "year", "duration") \
        .dropDuplicates(["song_id"])
    songs_table.write.mode("overwrite").partitionBy("year", "artist_id") \
        .parquet(f"{out}/songs")

    artists_table = song_df.select(
        "artist_id",
        F.col("artist_name").alias("name"),
        F.col("artist_location").alias("location"),
        F.col("artist_latitude").alias("latitude"),
        F.col("artist_longitude").alias("longitude"),
    ).dropDuplicates(["artist_id"])
    artists_table.write.mode("overwrite").parquet(f"{out}/artists")

    # --- users, time and songplays, from the event logs (schema inferred) ---
    log_df = spark.read.json(str(input_dir / "log_data" / "*" / "*" / "*.json"))
    log_df = log_df.where(F.col("userId") != "") \
        .withColumn("start_time", F.timestamp_millis(F.col("ts"))) \
        .withColumn("event_date", F.to_date("start_time")) \
        .dropDuplicates(["userId", "sessionId", "itemInSession", "event_date"])
    plays = log_df.where(F.col("page") == "NextSong")

    latest = Window.partitionBy("userId").orderBy(F.col("ts").desc())
    users_table = log_df.withColumn("rank", F.row_number().over(latest)) \
        .where(F.col("rank") == 1) \
        .select(
            F.col("userId").cast("int").alias("user_id"),
            F.col("firstName").alias("first_name"),
            F.col("lastName").alias("last_name"),
            "gender",
            "level",
        )
    users_table.write.mode("overwrite").parquet(f"{out}/users")

    time_table = plays.select("start_time").dropDuplicates() \
        .withColumn("hour", F.hour("start_time")) \
        .withColumn("day", F.dayofmonth("start_time")) \
        .withColumn("week", F.weekofyear("start_time")) \
        .withColumn("month", F.month("start_time")) \
        .withColumn("year", F.year("start_time")) \
        .withColumn("weekday", F.dayofweek("start_time"))
    time_table.write.mode("overwrite").partitionBy("year", "month").parquet(f"{out}/time")

    song_keys = song_df.select("song_id", "artist_id", "title", "artist_name", "duration")
    songplays_table = plays.join(
        song_keys,
        (plays.song == song_keys.title)
        & (plays.artist == song_keys.artist_name)
        & (plays.length == song_keys.duration),
        "left",
    ).select(
        F.monotonically_increasing_id().alias("songplay_id"),
        "start_time",
        F.col("userId").cast("int").alias("user_id"),
        "level",
        "song_id",
        "artist_id",
        F.col("sessionId").alias("session_id"),
        "location",
        F.col("userAgent").alias("user_agent"),
        F.year("start_time").alias("year"),
        F.month("start_time").alias("month"),
    )
    songplays_table.write.mode("overwrite").partitionBy("year", "month") \
        .parquet(f"{out}/songplays")


def main() -> None:
    parser = argparse.ArgumentParser(description="The textbook Sparkify PySpark ETL job.")
    parser.add_argument("--input", required=True, type=Path,
                        help="folder with song_data/ and log_data/")
    parser.add_argument("--output", required=True, type=Path,
                        help="folder for the five parquet tables")
    args = parser.parse_args()
    started = time.monotonic()
    spark = spark_session()
    try:
        run(spark, args.input.resolve(), args.output.resolve())
    finally:
        spark.stop()
    print(f"baseline ETL: wrote songs, artists, users, time, songplays to {args.output} "
          f"in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
