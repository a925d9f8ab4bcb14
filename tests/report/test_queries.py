"""The query module against built marts: each figure equals an independent count.

On PostgreSQL every figure is recomputed by SQL written another way (the play's hour and
weekday from its timestamp rather than dim_time, months as text, filters as `exists`), or in
Python for the rankings and level changes. On the embedded Spark, the same raw data is built
once and DuckDB reads the warehouse's parquet files: every figure equals PostgreSQL's, and
the headline equals Spark SQL's own count.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import IngestError
from ingest.paths import StatePaths
from ingest.report import health, queries
from ingest.report.commands import report_source
from ingest.report.pages import PAGES
from ingest.report.queries import Filters
from ingest.report.readers import ParquetReader, Reader, WarehouseReader
from tests.support.project import PROJECT_DIR, postgres_rows
from tests.support.report_data import BAD_AT, START, BuiltMarts

pytestmark = pytest.mark.postgres
FIGURES = [figure for figures in PAGES.values() for figure in figures]
MIXED = Filters(START + dt.timedelta(days=2), START + dt.timedelta(days=7), "free", "FL")


def _independent_where(filters: Filters) -> str:
    conditions = ["true"]
    if filters.start:
        conditions.append(f"cast(f.start_time as date) >= '{filters.start}'")
    if filters.end:
        conditions.append(f"f.start_time < timestamp '{filters.end}' + interval '1 day'")
    if filters.level:
        conditions.append(f"f.level = '{filters.level}'")
    if filters.state:
        conditions.append("exists (select 1 from sparkify.dim_users u where u.user_id = "
                          f"f.user_id and u.state_code = '{filters.state}')")
    return " and ".join(conditions)


class Independent:
    """Each figure's numbers by other SQL (or Python over plain rows) on PostgreSQL."""

    def __init__(self, database: str, filters: Filters) -> None:
        self.database, self.filters = database, filters

    def rows(self, select: str, *, level: bool = True) -> list[dict[str, Any]]:
        filters = self.filters if level else Filters(self.filters.start, self.filters.end,
                                                     None, self.filters.state)
        sql = (f"with plays as (select f.* from sparkify.fct_songplays f "
               f"where {_independent_where(filters)}) {select}")
        return postgres_rows(self.database, sql)

    def tuples(self, select: str) -> tuple[tuple[Any, ...], ...]:
        return tuple(tuple(row.values()) for row in self.rows(select))

    def plays_per_day(self) -> Any:
        return self.tuples("select cast(start_time as date) as day, count(*) as n from plays "
                           "group by 1 order by 1")

    def plays_per_hour(self) -> Any:
        return self.tuples("select cast(extract(hour from start_time) as int) as hour, "
                           "count(*) as n from plays group by 1 order by 1")

    def hour_by_weekday(self) -> Any:
        return self.tuples("select cast(extract(isodow from start_time) as int) as weekday, "
                           "cast(extract(hour from start_time) as int) as hour, count(*) as n "
                           "from plays group by 1, 2 order by 1, 2")

    def _activity(self, period: str) -> Any:
        return self.tuples(
            f"select {period} as period, count(*) filter (where level = 'free') as free, "
            "count(*) filter (where level = 'paid') as paid, count(distinct user_id) as users "
            "from plays group by 1 order by 1")

    def activity_per_month(self) -> Any:
        return self._activity("to_date(to_char(start_time, 'YYYY-MM') || '-01', 'YYYY-MM-DD')")

    def activity_per_week(self) -> Any:
        return self._activity("cast(start_time as date) - "
                              "cast(extract(isodow from start_time) as int) + 1")

    def users_by_level_and_gender(self) -> Any:
        return self.tuples(
            "select u.level, coalesce(u.gender, '?') as gender, count(*) as n "
            "from sparkify.dim_users u "
            "where exists (select 1 from plays where plays.user_id = u.user_id) "
            "group by 1, 2 order by 1, 2")

    def level_changes_per_day(self) -> Any:
        plays = self.rows("select user_id, start_time, session_id, item_in_session, level "
                          "from plays", level=False)
        plays.sort(key=lambda p: (p["user_id"], p["start_time"], p["session_id"],
                                  p["item_in_session"]))
        changes = Counter((later["start_time"].date(), earlier["level"], later["level"])
                          for earlier, later in itertools.pairwise(plays)
                          if earlier["user_id"] == later["user_id"]
                          and earlier["level"] != later["level"])
        return tuple((*key, count) for key, count in sorted(changes.items()))

    def _top(self, key: str, extra: str, joined: str) -> list[tuple[Any, ...]]:
        counts = self.rows(f"select {key} as key, count(*) as plays from plays "
                           f"where {key} is not null group by {key}")
        ranked = sorted(counts, key=lambda row: (-row["plays"], row["key"]))[:queries.TOP]
        names = {row["key"]: row for row in postgres_rows(
            self.database, f"select {extra} from {joined}")}
        return [(row["key"], names[row["key"]], row["plays"]) for row in ranked]

    def top_users(self) -> Any:
        return tuple((key, u["first_name"], u["last_name"], u["level"], plays)
                     for key, u, plays in self._top(
                         "user_id", "user_id as key, first_name, last_name, level",
                         "sparkify.dim_users"))

    def top_songs(self) -> Any:
        return tuple((key, s["title"], s["artist"], plays) for key, s, plays in self._top(
            "song_id", "s.song_id as key, s.title, a.name as artist",
            "sparkify.dim_songs s left join sparkify.dim_artists a using (artist_id)"))

    def top_artists(self) -> Any:
        return tuple((key, a["name"], plays) for key, a, plays in self._top(
            "artist_id", "artist_id as key, name", "sparkify.dim_artists"))

    def plays_per_state(self) -> Any:
        rows = self.rows(
            "select coalesce(u.state_code, '?') as code, "
            "coalesce(u.state_name, u.state_code, 'unknown') as name, "
            "coalesce(u.census_region, 'unknown') as region, count(*) as plays, "
            "count(distinct plays.user_id) as users "
            "from plays, sparkify.dim_users u where u.user_id = plays.user_id "
            "group by 1, 2, 3")
        return tuple(tuple(row.values()) for row in sorted(
            rows, key=lambda row: (-row["plays"], row["code"])))

    def plays_per_region(self) -> Any:
        rows = self.rows(
            "select coalesce(u.census_region, 'unknown') as region, count(*) as plays, "
            "count(distinct plays.user_id) as users "
            "from plays, sparkify.dim_users u where u.user_id = plays.user_id group by 1")
        return tuple(tuple(row.values()) for row in sorted(
            rows, key=lambda row: (-row["plays"], row["region"])))

    def matching_per_day(self) -> Any:
        return self.tuples(
            "select start_date, count(*) filter (where song_id is not null) as matched, "
            "count(*) filter (where song_id is null) as unmatched from plays "
            "group by 1 order by 1")


@pytest.fixture()
def pg_reader(pg_settings: BuiltMarts) -> Any:
    reader = report_source().reader()
    assert isinstance(reader, WarehouseReader)
    yield reader
    reader.close()


@pytest.mark.parametrize("filters", [Filters(), MIXED], ids=["everything", "filtered"])
@pytest.mark.parametrize("figure", FIGURES, ids=lambda figure: figure.__name__)
def test_each_figure_equals_an_independent_count(
        pg_reader: Reader, pg_settings: BuiltMarts, figure: Any, filters: Filters) -> None:
    table = figure(pg_reader, filters)
    expected = getattr(Independent(str(pg_settings.database), filters), figure.__name__)()
    assert table.rows == expected
    assert table.rows or filters == MIXED, f"{figure.__name__} is empty on the whole data set"


def test_headline_and_filter_options(pg_reader: Reader, pg_settings: BuiltMarts) -> None:
    independent = Independent(str(pg_settings.database), MIXED)
    for filters in (Filters(), MIXED):
        independent.filters = filters
        row = independent.rows(
            "select count(*) as plays, count(distinct user_id) as users, "
            "count(song_id) as matched, count(*) filter (where level = 'paid') as paid, "
            "max(start_time) as latest from plays")[0]
        top = queries.headline(pg_reader, filters)
        assert (top.plays, top.users, top.matched_plays, top.paid_plays, top.latest_play) \
            == (row["plays"], row["users"], row["matched"], row["paid"], row["latest"])
    whole, mixed = queries.headline(pg_reader, Filters()), queries.headline(pg_reader, MIXED)
    assert 0 < mixed.plays < whole.plays, "the filters must change the figures"
    options = queries.filter_options(pg_reader)
    assert (options.first_day, options.last_day) == (whole.first_day, whole.last_day)
    assert "FL" in options.states and options.states == tuple(sorted(options.states))


def test_health_from_the_warehouse_ledger(pg_settings: BuiltMarts) -> None:
    source = report_source()
    snapshot = source.ledger()
    ledger = postgres_rows(str(pg_settings.database),
                           "select count(*) as objects, sum(rows_loaded) as rows_loaded, "
                           "sum(rows_quarantined) as bad from sparkify_raw._loaded_objects "
                           "where status in ('loaded', 'quarantined')")[0]
    loads = health.loads_per_day(snapshot)
    assert sum(loads.column("objects")) == ledger["objects"]
    assert sum(loads.column("rows_loaded")) == ledger["rows_loaded"]
    assert sum(loads.column("lines_quarantined")) == ledger["bad"] == len(BAD_AT)
    reasons = health.quarantine_reasons(snapshot)
    assert sum(reasons.column("lines")) == len(BAD_AT)
    assert any(reason.startswith("not valid JSON") for reason in reasons.column("reason"))
    problems = health.problem_objects(snapshot)
    assert problems.column("status") == ["rejected"]
    assert "gzip" in problems.rows[0][-1]
    build = source.build()
    assert build is not None and build.command == "build" and not build.failures
    assert build.count("model", "success") == len(list((PROJECT_DIR / "models").rglob(
        "*.sql")))
    assert build.count("test", "pass") > 40


def test_errors_a_user_can_cause(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not 'int_users__latest_attributes'"):
        ParquetReader(tmp_path, "sparkify").relation("int_users__latest_attributes")
    with pytest.raises(IngestError, match=r"no parquet files of sparkify\.fct_songplays"):
        queries.headline(ParquetReader(tmp_path, "sparkify"), Filters())
    with pytest.raises(IngestError, match="two-letter"):
        Filters(state="CA'; drop table x; --")
    assert health.last_build(tmp_path) is None


# --- the Spark path: DuckDB over the warehouse's parquet files, no JVM needed to read --------

@pytest.fixture(scope="module")
def spark_reader(spark: Any, session_state: Path, report_raw: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Any:
    from ingest.run.dbt import run_dbt
    from tests.support.staging import stage_spark

    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPARKIFY_SCHEMA", "report")
        env.setenv("SPARKIFY_RAW_SCHEMA", "report_raw")
        stage_spark(str(report_raw), schema="report_raw", state=StatePaths(session_state),
                    spark=spark)
        target = tmp_path_factory.mktemp("report_spark") / "target"
        # models and the seed only: the models' own tests run elsewhere (seconds on Spark)
        run_dbt(PROJECT_DIR, ["build", "--resource-type", "model", "--resource-type", "seed",
                              "--target-path", str(target)], target="spark")
    reader = ParquetReader(StatePaths(session_state).warehouse, "report")
    yield reader
    reader.close()


@pytest.mark.spark
def test_spark_warehouse_files_give_the_same_figures(
        spark_reader: ParquetReader, pg_reader: Reader, spark: Any, session_state: Path,
        report_raw: Path) -> None:
    for filters in (Filters(), MIXED):
        for figure in FIGURES:
            assert figure(spark_reader, filters) == figure(pg_reader, filters), \
                figure.__name__
        assert queries.headline(spark_reader, filters) == queries.headline(pg_reader, filters)
    plays, matched = spark.sql("select count(*), count(song_id) from report.fct_songplays"
                               ).collect()[0]
    top = queries.headline(spark_reader, Filters())
    assert (top.plays, top.matched_plays) == (plays, matched)
    snapshot = health.read_ledger("spark", "report_raw", StatePaths(session_state))
    mine = [entry for entry in snapshot.entries if entry.source_uri.endswith(report_raw.name)]
    assert len(mine) == len(list(report_raw.rglob("*.json")))
    assert {entry.status for entry in mine} == {"loaded", "quarantined", "rejected"}
