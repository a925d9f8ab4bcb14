"""What a driver JVM runs while it records the classes of the class-data-sharing archive:
`python -m ingest.spark.class_archive_workload <java options>`, started by
ingest.spark.class_archive with SPARK_CONF_DIR set to a throwaway state's conf.

The statements touch what a dbt build and a stage touch (the Hive metastore on Derby,
partitioned parquet tables, JSON, views, joins, windows, aggregates, `insert overwrite`,
dbt-spark's `show table extended` and `describe extended`), so their classes are archived.
The JVM writes the archive when it exits: the driver is stopped and its gateway closed here,
then this process waits for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

STATEMENTS = (
    "create database if not exists cds",
    "create table cds.events (id int, name string, at timestamp, event_date date) "
    "using parquet partitioned by (event_date)",
    "insert into cds.events values (1, 'a', timestamp'2018-11-01 10:00:00', date'2018-11-01'), "
    "(2, 'b', timestamp'2018-11-02 11:00:00', date'2018-11-02'), "
    "(3, 'a', timestamp'2018-11-02 12:00:00', date'2018-11-02')",
    "alter table cds.events add if not exists partition (event_date = '2018-11-03')",
    "show partitions cds.events",
    "refresh table cds.events",
    "show tblproperties cds.events",
    "describe extended cds.events",
    "show table extended in cds like '*'",
    "create or replace view cds.latest as select *, row_number() over "
    "(partition by name order by at desc) as position from cds.events",
    "create table cds.daily using parquet as select event_date, count(*) as plays, "
    "max(at) as last_at, collect_set(name) as names from cds.events group by event_date",
    "create or replace view cds.joined as select l.name, d.plays, date_format(l.at, 'HH') as "
    "hour, cast(l.id as bigint) as id from cds.latest as l left join cds.daily as d "
    "on l.event_date = d.event_date where l.position = 1",
    "select * from cds.joined order by name",
    "insert overwrite table cds.daily select event_date, count(distinct name), max(at), "
    "array(min(name)) from cds.events group by event_date",
    "select count(*), sum(plays) from cds.daily where event_date is not null",
    "create or replace temporary view recent as select * from cds.events "
    "where at > timestamp'2018-11-01 12:00:00'",
    "select name, count(*) from recent group by name having count(*) > 0",
    "drop view cds.joined",
    "drop view cds.latest",
    "drop table cds.daily",
    "drop table cds.events",
)


def main(java_options: str, work: Path) -> int:
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.enableHiveSupport()
             .config("spark.driver.extraJavaOptions", java_options).getOrCreate())
    for statement in STATEMENTS:
        spark.sql(statement).collect()
    sample = work / "sample.json"
    sample.write_text('{"song_id": "S1", "duration": 1.5, "year": 2001}\n', encoding="utf-8")
    spark.read.option("mode", "FAILFAST").json(str(sample)).filter("year > 2000").collect()
    driver: Any = getattr(spark.sparkContext._gateway, "proc", None)  # spark-submit's Popen
    spark.stop()
    if driver is None or driver.stdin is None:
        return 3
    driver.stdin.close()  # the driver exits on its stdin's end, writing the archive
    return int(driver.wait(timeout=600))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
