"""The Sparkify contract in plain DuckDB SQL: the job a user might write instead of the project.

    python bench/batch/baseline_duckdb.py --input RAW_DIR --output OUT_DIR [--counts COUNTS.json]

One process, one in-memory DuckDB database, the raw files read where they are:
`song_data/**/*.json` (one song per file) and `log_data/**/*.json` (one file per day), with
explicit column types (no inference). The same rules as the project's marts:

- events: duplicate deliveries (same userId, sessionId, itemInSession on the same UTC day
  of ts) dropped, the first kept (smallest ts, then page, then level); the same key on
  another day is another event;
- songplays: the NextSong events of known users; a play matches a song when the trimmed,
  lower-cased title and artist name are equal and |duration - length| <= 1.0 s; among
  several candidates the smallest difference wins, then the smallest song_id; unmatched
  plays stay, with a null song_id;
- users: the attributes of each user's latest event; songs: one row per song_id; artists:
  the first known value of each attribute in song_id order; time: one row per play time.

The five tables are written as parquet files below OUT_DIR (overwritten). `--counts` writes
their row counts and the number of matched plays as JSON (the benchmark compares them with
the project's marts). Nothing here is tuned: DuckDB's defaults (all cores, 80% of RAM).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

TABLES = ("artists", "songplays", "songs", "time", "users")

SONG_COLUMNS = """{
    num_songs: 'INTEGER', artist_id: 'VARCHAR', artist_latitude: 'DOUBLE',
    artist_longitude: 'DOUBLE', artist_location: 'VARCHAR', artist_name: 'VARCHAR',
    song_id: 'VARCHAR', title: 'VARCHAR', duration: 'DOUBLE', year: 'INTEGER'
}"""

LOG_COLUMNS = """{
    artist: 'VARCHAR', auth: 'VARCHAR', firstName: 'VARCHAR', gender: 'VARCHAR',
    itemInSession: 'INTEGER', lastName: 'VARCHAR', length: 'DOUBLE', level: 'VARCHAR',
    location: 'VARCHAR', method: 'VARCHAR', page: 'VARCHAR', registration: 'DOUBLE',
    sessionId: 'INTEGER', song: 'VARCHAR', status: 'INTEGER', ts: 'BIGINT',
    userAgent: 'VARCHAR', userId: 'VARCHAR'
}"""

SQL = """
create table raw_songs as
select * from read_json('{input}/song_data/**/*.json', format = 'newline_delimited',
                        columns = {song_columns});

create table raw_events as
select * from read_json('{input}/log_data/**/*.json', format = 'newline_delimited',
                        columns = {log_columns});

-- songs: cleaned, one row per song_id
create table songs_clean as
select
    song_id,
    nullif(trim(title), '') as title,
    artist_id,
    nullif(trim(artist_name), '') as artist_name,
    nullif(trim(artist_location), '') as artist_location,
    artist_latitude,
    artist_longitude,
    duration,
    nullif(year, 0) as year
from raw_songs;

create table songs as
select distinct on (song_id) song_id, title, artist_id, year, duration
from songs_clean
order by song_id, artist_id, title, duration;

create table artists as
select
    artist_id,
    arg_min(artist_name, song_id) filter (where artist_name is not null) as name,
    arg_min(artist_location, song_id) filter (where artist_location is not null) as location,
    arg_min(artist_latitude, song_id) filter (where artist_latitude is not null) as latitude,
    arg_min(artist_longitude, song_id) filter (where artist_longitude is not null)
        as longitude
from songs_clean
group by artist_id;

-- events: the first delivery of each (user, session, item) on its UTC day
create table events as
select
    cast(nullif(userId, '') as integer) as user_id,
    sessionId as session_id,
    itemInSession as item_in_session,
    ts,
    make_timestamp(ts * 1000) as start_time,
    page,
    level,
    firstName as first_name,
    lastName as last_name,
    gender,
    nullif(trim(location), '') as location,
    case when userAgent like '"%"' and length(userAgent) >= 2
        then userAgent[2:-2] else userAgent end as user_agent,
    song,
    artist,
    length
from raw_events
qualify row_number() over (
    partition by nullif(userId, ''), sessionId, itemInSession,
        cast(make_timestamp(ts * 1000) as date)
    order by ts, page, level
) = 1;

create table users as
select user_id, first_name, last_name, gender, level, location
from events
where user_id is not null
qualify row_number() over (
    partition by user_id order by ts desc, item_in_session desc, session_id desc
) = 1;

-- songplays: NextSong events of known users, matched to the closest song
create table plays as
select
    md5(concat_ws('|', cast(user_id as varchar), cast(session_id as varchar),
                  cast(item_in_session as varchar),
                  cast(cast(start_time as date) as varchar))) as songplay_id,
    start_time, user_id, level, session_id, item_in_session, location, user_agent, length,
    lower(trim(song)) as title_key,
    lower(trim(artist)) as artist_key
from events
where page = 'NextSong' and user_id is not null;

create table best_matches as
select plays.songplay_id, songs_clean.song_id, songs_clean.artist_id
from plays
join songs_clean
    on plays.title_key = lower(trim(songs_clean.title))
    and plays.artist_key = lower(trim(songs_clean.artist_name))
    and abs(songs_clean.duration - plays.length) <= 1.0
qualify row_number() over (
    partition by plays.songplay_id
    order by abs(songs_clean.duration - plays.length), songs_clean.song_id
) = 1;

create table songplays as
select
    plays.songplay_id, plays.start_time, plays.user_id, plays.level,
    best_matches.song_id, best_matches.artist_id, plays.session_id, plays.item_in_session,
    plays.location, plays.user_agent
from plays
left join best_matches using (songplay_id);

create table time as
select
    start_time,
    hour(start_time) as hour,
    day(start_time) as day,
    weekofyear(start_time) as week,
    month(start_time) as month,
    year(start_time) as year,
    isodow(start_time) as weekday
from (select distinct start_time from songplays);
"""


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run(input_dir: Path, output_dir: Path) -> dict[str, int]:
    """Build the five tables from `input_dir`, write them to `output_dir`; their row counts
    and the matched plays."""
    import duckdb

    if output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True)
    connection = duckdb.connect()
    try:
        connection.execute("set time zone 'UTC'")
        connection.execute(SQL.format(input=str(input_dir).replace("'", "''"),
                                      song_columns=SONG_COLUMNS, log_columns=LOG_COLUMNS))
        counts: dict[str, int] = {}
        for table in TABLES:
            target = sql_string(str(output_dir / f"{table}.parquet"))
            connection.execute(f"copy {table} to {target} (format parquet)")
            row = connection.execute(f"select count(*) from {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
        row = connection.execute("select count(song_id) from songplays").fetchone()
        counts["matched_plays"] = int(row[0]) if row else 0
    finally:
        connection.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="The Sparkify contract in plain DuckDB SQL.")
    parser.add_argument("--input", required=True, type=Path,
                        help="folder with song_data/ and log_data/")
    parser.add_argument("--output", required=True, type=Path,
                        help="folder for the five parquet tables")
    parser.add_argument("--counts", type=Path, default=None,
                        help="write the row counts and matched plays here (JSON)")
    args = parser.parse_args()
    started = time.monotonic()
    counts = run(args.input.resolve(), args.output.resolve())
    if args.counts:
        args.counts.write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    print(f"DuckDB baseline: wrote {', '.join(TABLES)} to {args.output} in "
          f"{time.monotonic() - started:.1f} s: "
          + ", ".join(f"{name} {count:,}" for name, count in counts.items()))


if __name__ == "__main__":
    main()
