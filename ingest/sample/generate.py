"""Synthetic Sparkify raw data: song files and daily event logs in the upstream format.

The output copies the public `udacity-dend` data byte for byte in shape, quirks included:
one-line song files without a trailing newline, `\\/` escapes and blank lines in the logs,
user agents wrapped in literal quotes, user ids as strings, level changes, duplicate events,
and plays whose title, artist or length differ slightly from the song files.
"""

from __future__ import annotations

import bisect
import datetime
import json
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ingest.sample import names

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
_EPOCH = datetime.date(1970, 1, 1)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = _LETTERS + "0123456789"
_HEX = "0123456789ABCDEF"
_ID_INFIXES = ("128F", "12903", "12A6D", "12AB0", "1187B", "11E8")
_LOG_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

# Session shape, tuned so the page mix lands near the public set's (NextSong ~85%,
# logged-out events ~3.5%, Home ~10%).
_MEAN_BODY = 15.0
_P_LOGIN_PREFIX = 0.2
_P_LOGOUT_SUFFIX = 0.18
_BODY_PAGES: tuple[tuple[str, float], ...] = (
    ("NextSong", 0.895), ("Home", 0.072), ("Settings", 0.008), ("Help", 0.007),
    ("About", 0.004), ("Level", 0.012), ("Error", 0.0012),
)
_BODY_CUM = tuple(sum(w for _, w in _BODY_PAGES[: i + 1]) for i in range(len(_BODY_PAGES)))
_PAGE_METHOD = {
    "NextSong": ("PUT", 200), "Home": ("GET", 200), "About": ("GET", 200),
    "Help": ("GET", 200), "Settings": ("GET", 200), "Downgrade": ("GET", 200),
    "Upgrade": ("GET", 200), "Login": ("PUT", 307), "Logout": ("PUT", 307),
    "Submit Upgrade": ("PUT", 307), "Submit Downgrade": ("PUT", 307),
    "Save Settings": ("PUT", 307), "Error": ("GET", 404),
}
# `METHOD","page":"PAGE"` and the status, ready to paste into a log line.
_PAGE_FRAGMENT = {
    page: (f'{method}","page":"{page}"', str(status))
    for page, (method, status) in _PAGE_METHOD.items()
}
_LOGGED_OUT = (
    ',"auth":"Logged Out","firstName":null,"gender":null,"itemInSession":',
    ',"lastName":null,"length":',
    ',"location":null,"method":"',
    ',"registration":null,"sessionId":',
    ',"userAgent":null,"userId":""}',
)


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate; the defaults give a set the size of the public sample."""

    songs: int = 71
    days: int = 30
    events_per_day: int = 270
    seed: int = 42
    start_date: datetime.date = datetime.date(2018, 11, 1)
    users: int | None = None
    known_song_share: float = 0.4
    duplicate_share: float = 0.002
    blank_line_share: float = 0.001

    @property
    def user_count(self) -> int:
        """`users`, or one user per ~70 events (between 10 and 5000)."""
        if self.users is not None:
            return self.users
        return max(10, min(5000, self.events_per_day * self.days // 70))

    def validate(self) -> None:
        """Raise ValueError on counts below zero or shares outside [0, 1]."""
        for name in ("songs", "days", "events_per_day", "user_count"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.events_per_day > 0 and self.user_count < 1:
            raise ValueError("events need at least one user")
        for name in ("known_song_share", "duplicate_share", "blank_line_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


@dataclass(frozen=True)
class GenerateStats:
    """What was written; events and next_song_events count duplicate lines too."""

    song_files: int
    log_files: int
    events: int
    next_song_events: int
    bytes_written: int


@dataclass(slots=True)
class _Artist:
    artist_id: str
    name: str
    location: str
    latitude: float | None
    longitude: float | None


@dataclass(slots=True)
class _Song:
    title: str
    duration: float
    year: int
    artist: _Artist
    track_id: str = ""
    song_id: str = ""
    location: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(slots=True)
class _User:
    user_id: int
    level: str
    change_day: int
    fragments: tuple[str, str, str, str, str]
    busy_until: int = 0


@dataclass(frozen=True, slots=True)
class _Unknown:
    artist: str
    title: str
    length: str


def _log_json(value: str) -> str:
    """A JSON string as the log producer writes it: raw UTF-8, `/` escaped as `\\/`."""
    return _LOG_ENCODER.encode(value).replace("/", "\\/")


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _pick(rng: random.Random, cum: Sequence[float]) -> int:
    """Index drawn with the weights behind the cumulative list `cum`."""
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _zipf(rng: random.Random, count: int, exponent: float = 0.9) -> list[float]:
    """Cumulative popularity weights for `count` items, in a shuffled order."""
    weights = [1.0 / (rank + 1) ** exponent for rank in range(count)]
    rng.shuffle(weights)
    return _cumulative(weights)


def _new_id(rng: random.Random, prefix: str, used: set[str], head: str = "") -> str:
    """`prefix` + 16 upper-case letters/digits shaped like the upstream ids, unique in `used`."""
    while True:
        body = head + "".join(rng.choices(_ALNUM if prefix == "AR" else _LETTERS, k=5 - len(head)))
        body += rng.choice(_ID_INFIXES)
        body += "".join(rng.choices(_HEX, k=16 - len(body)))
        candidate = prefix + body
        if candidate not in used:
            used.add(candidate)
            return candidate


def _unique(rng: random.Random, make: Callable[[random.Random], str], taken: set[str]) -> str:
    """A name from `make` whose trimmed lower-case form is not in `taken` (then added)."""
    name = make(rng)
    for attempt in range(2, 1000):
        if name.strip().lower() not in taken:
            break
        name = make(rng) if attempt < 30 else f"{make(rng)} {attempt}"
    taken.add(name.strip().lower())
    return name


def _case_variant(rng: random.Random, text: str) -> str:
    return rng.choice((text.upper(), text.lower(), text.title()))


# --- song catalogue ------------------------------------------------------------------------


def _duration(rng: random.Random) -> float:
    return round(min(600.0, max(30.0, rng.lognormvariate(5.4, 0.35))), 5)


def _year(rng: random.Random) -> int:
    return 0 if rng.random() < 0.6 else rng.randint(1959, 2010)


def _new_artist(rng: random.Random, used_ids: set[str], taken: set[str]) -> _Artist:
    name = _unique(rng, names.artist_name, taken)
    location, latitude, longitude = "", None, None
    if rng.random() < 0.5:
        location, lat, lon = names.artist_location(rng)
        if rng.random() < 0.4:
            latitude = round(lat + rng.uniform(-0.05, 0.05), 5)
            longitude = round(lon + rng.uniform(-0.05, 0.05), 5)
    return _Artist(_new_id(rng, "AR", used_ids), name, location, latitude, longitude)


def _tie_sibling(rng: random.Random, song: _Song) -> _Song:
    """Another song of the same artist, same title modulo case/space, duration within 0.5 s."""
    title = rng.choice((song.title, song.title.upper(), song.title.lower(), song.title + " "))
    duration = song.duration
    if rng.random() < 0.5:
        offset = rng.uniform(0.01, 0.5)
        duration = round(song.duration + (offset if song.duration < 300 else -offset), 5)
    return _Song(title, duration, _year(rng), song.artist)


def _assign_ids(rng: random.Random, songs: list[_Song]) -> None:
    """Track and song ids; track ids start `TRA` + a few letters, like the upstream folders."""
    fourth = _LETTERS[: max(2, min(26, len(songs) // 600 + 1))]
    used: set[str] = set()
    for song in songs:
        song.track_id = _new_id(rng, "TR", used, "A" + rng.choice(fourth) + rng.choice(_LETTERS))
        song.song_id = _new_id(rng, "SO", used)


def _located(rng: random.Random, artist: _Artist, coordinates: bool) -> None:
    """Give an artist a location (and coordinates) if it has none."""
    if not artist.location:
        artist.location = names.artist_location(rng)[0]
    if coordinates and artist.latitude is None:
        _, lat, lon = next(x for x in names.ARTIST_LOCATIONS if x[0] == artist.location)
        artist.latitude, artist.longitude = lat, lon


def _apply_artist_attributes(rng: random.Random, songs: list[_Song]) -> None:
    """Copy artist attributes into song files; some artists disagree between their files.

    For those, the file with the smallest song_id holds the missing or first value, so
    `first non-empty value in song_id order` is exercised.
    """
    by_artist: dict[str, list[_Song]] = {}
    for song in songs:
        by_artist.setdefault(song.artist.artist_id, []).append(song)
    multi = [group for group in by_artist.values() if len(group) > 1]
    rng.shuffle(multi)
    variants = max(min(3, len(multi)), round(0.3 * len(multi)))
    kinds: dict[str, str] = {}
    for index, group in enumerate(multi[:variants]):
        kinds[group[0].artist.artist_id] = ("empty", "null", "two")[index % 3]
    for artist_id, group in by_artist.items():
        _apply_variant(rng, sorted(group, key=lambda s: s.song_id), kinds.get(artist_id, ""))


def _apply_variant(rng: random.Random, group: list[_Song], kind: str) -> None:
    artist = group[0].artist
    if kind:
        _located(rng, artist, coordinates=kind == "null")
    other = rng.choice([x[0] for x in names.ARTIST_LOCATIONS if x[0] != artist.location])
    for index, song in enumerate(group):
        song.location, song.latitude, song.longitude = (
            artist.location, artist.latitude, artist.longitude)
        if index == 0 and kind == "empty":
            song.location = ""
        elif index == 0 and kind == "null":
            song.latitude = song.longitude = None
        elif index > 0 and kind == "two":
            song.location = other


def _build_catalog(rng: random.Random, count: int, artist_names: set[str]) -> list[_Song]:
    """`count` songs by ~count/1.8 artists, 1.5% of them tie siblings of another song."""
    ties = max(1, round(count * 0.015)) if count >= 20 else 0
    base = count - ties
    used_ids: set[str] = set()
    artists = [_new_artist(rng, used_ids, artist_names) for _ in range(max(1, round(base / 1.8)))]
    owners = list(range(len(artists)))[:base]
    owners += [rng.randrange(len(artists)) for _ in range(base - len(owners))]
    rng.shuffle(owners)
    songs = [_Song(names.song_title(rng), _duration(rng), _year(rng), artists[i]) for i in owners]
    songs += [_tie_sibling(rng, songs[i]) for i in sorted(rng.sample(range(base), ties))]
    _assign_ids(rng, songs)
    _apply_artist_attributes(rng, songs)
    return songs


def _song_json(song: _Song) -> str:
    return json.dumps({
        "num_songs": 1,
        "artist_id": song.artist.artist_id,
        "artist_latitude": song.latitude,
        "artist_longitude": song.longitude,
        "artist_location": song.location,
        "artist_name": song.artist.name,
        "song_id": song.song_id,
        "title": song.title,
        "duration": song.duration,
        "year": song.year,
    })


def _write_songs(out_dir: Path, songs: list[_Song], writer: _FileWriter) -> int:
    """Queue one file per song on `writer`; return the bytes to be written."""
    made: set[Path] = set()
    written = 0
    for song in songs:
        tid = song.track_id
        folder = out_dir / "song_data" / tid[2] / tid[3] / tid[4]
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        data = _song_json(song).encode("utf-8")
        writer.write(folder / f"{tid}.json", data)
        written += len(data)
    return written


class _FileWriter:
    """Writes files on a few threads while the caller computes the next ones.

    Generating is CPU-bound Python and writing is system calls (which release the GIL): at
    size L (100,000 song files, 3 GB of logs) the writes, done in line, took about a third of
    the time. Every write is waited for (and its error raised) by `close`.
    """

    def __init__(self, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads,
                                        thread_name_prefix="generate-write")
        self._pending: list[Future[int]] = []

    def write(self, path: Path, data: bytes) -> None:
        self._pending.append(self._pool.submit(path.write_bytes, data))
        if len(self._pending) >= 4096:
            self._drain(keep=1024)

    def _drain(self, keep: int = 0) -> None:
        while len(self._pending) > keep:
            self._pending.pop(0).result()

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _unknown_pool(rng: random.Random, count: int, artist_names: set[str]) -> list[_Unknown]:
    """Songs that plays name but no song file holds: their artists are not in the catalogue."""
    artists = [_unique(rng, names.artist_name, artist_names) for _ in range(max(1, count // 2))]
    pool = []
    for _ in range(count):
        artist = artists[rng.randrange(len(artists))]
        title = names.song_title(rng)
        pool.append(_Unknown(_log_json(artist), _log_json(title), repr(_duration(rng))))
    return pool


# --- users and events ----------------------------------------------------------------------


def _user_fragments(rng: random.Random, user_id: int, registration: int) -> tuple[
        str, str, str, str, str]:
    gender = "F" if rng.random() < 0.5 else "M"
    first = rng.choice(names.FEMALE_FIRST if gender == "F" else names.MALE_FIRST)
    user_agent = '"' + rng.choice(names.USER_AGENTS) + '"'
    return (
        f',"auth":"Logged In","firstName":{_log_json(first)},"gender":"{gender}"'
        ',"itemInSession":',
        f',"lastName":{_log_json(rng.choice(names.LAST_NAMES))},"length":',
        f',"location":{_log_json(rng.choice(names.US_METROS))},"method":"',
        f',"registration":{float(registration)!r},"sessionId":',
        f',"userAgent":{_log_json(user_agent)},"userId":"{user_id}"}}',
    )


def _build_users(rng: random.Random, config: GenerateConfig, start_ms: int) -> list[_User]:
    count = config.user_count
    changers = max(1 if count >= 10 else 0, round(count * 0.08)) if config.days else 0
    change_at = set(rng.sample(range(count), min(changers, count)))
    users = []
    for index in range(count):
        registration = start_ms - rng.randint(DAY_MS, 200 * DAY_MS)
        level = "paid" if rng.random() < 0.3 else "free"
        change_day = rng.randrange(config.days) if index in change_at else -1
        fragments = _user_fragments(rng, index + 2, registration)
        users.append(_User(index + 2, level, change_day, fragments))
    return users


def _body_pages(rng: random.Random, level: str) -> tuple[str, ...]:
    page = _BODY_PAGES[_pick(rng, _BODY_CUM)][0]
    if page == "Level":
        return ("Downgrade",) if level == "paid" else ("Upgrade",)
    if page == "Settings" and rng.random() < 0.25:
        return ("Settings", "Save Settings")
    return (page,)


class _EventWriter:
    """Plans sessions and renders their events as log lines (state: rng, ids, users)."""

    def __init__(self, rng: random.Random, config: GenerateConfig, songs: list[_Song],
                 users: list[_User], unknown: list[_Unknown]) -> None:
        self.rng = rng
        self.config = config
        self.songs = songs
        self.song_cum = _zipf(rng, len(songs)) if songs else []
        self.users = users
        self.user_cum = _cumulative([rng.paretovariate(1.3) for _ in users])
        self.unknown = unknown
        self.unknown_cum = _zipf(rng, len(unknown))
        self.encoded: dict[str, str] = {}
        self.next_session = 1

    def _encode(self, text: str) -> str:
        cached = self.encoded.get(text)
        if cached is None:
            cached = self.encoded[text] = _log_json(text)
        return cached

    def play(self) -> tuple[str, str, str]:
        """JSON artist, song and length of one NextSong event."""
        rng = self.rng
        if not self.songs or rng.random() >= self.config.known_song_share:
            song = self.unknown[_pick(rng, self.unknown_cum)]
            return song.artist, song.title, song.length
        known = self.songs[_pick(rng, self.song_cum)]
        title, artist, length = known.title, known.artist.name, known.duration
        if rng.random() < 0.15:
            title = rng.choice((" " + title, title + " ", title + "  ", " " + title + " "))
        if rng.random() < 0.15:
            title = _case_variant(rng, title)
        if rng.random() < 0.08:
            artist = _case_variant(rng, artist)
        roll = rng.random()
        if roll < 0.03:
            length = round(length + rng.choice((-1, 1)) * rng.uniform(1.5, 5.0), 5)
        elif roll > 0.3:
            length = round(length + rng.uniform(-0.6, 0.6), 5)
        return self._encode(artist), self._encode(title), repr(length)

    def plan(self, change: bool, level: str) -> list[tuple[str, bool]]:
        """Pages of one session as (page, logged in); `Body` is drawn when rendered."""
        rng = self.rng
        pages: list[tuple[str, bool]] = []
        if rng.random() < _P_LOGIN_PREFIX:
            pages.append(("Home", False))
            if rng.random() < 0.3:
                pages.append((rng.choice(("About", "Help", "Home")), False))
            pages += [("Login", False), ("Home", True)]
        body = 1 + int(rng.expovariate(1.0 / _MEAN_BODY))
        change_at = rng.randint(0, min(2, body)) if change else -1
        for index in range(body + 1):
            if index == change_at:
                step = "Upgrade" if level == "free" else "Downgrade"
                pages += [(step, True), (f"Submit {step}", True), ("Home", True)]
            if index < body:
                pages.append(("Body", True))
        if rng.random() < _P_LOGOUT_SUFFIX:
            pages.append(("Logout", True))
            if rng.random() < 0.5:
                pages.append(("Home", False))
        return pages

    def session(self, user: _User, start: int, day_end: int, budget: int,
                change: bool) -> list[tuple[int, int, int, bool, str]]:
        """Events of one session as (ts, sessionId, itemInSession, is NextSong, line)."""
        rng = self.rng
        sid = self.next_session
        self.next_session += 1
        events: list[tuple[int, int, int, bool, str]] = []
        ts = start
        for slot, logged_in in self.plan(change, user.level):
            for page in _body_pages(rng, user.level) if slot == "Body" else (slot,):
                if ts >= day_end or len(events) >= budget:
                    user.busy_until = ts
                    return events
                line, seconds = self.line(user, logged_in, page, sid, len(events), ts)
                events.append((ts, sid, len(events), page == "NextSong", line))
                if page.startswith("Submit "):
                    user.level = "paid" if page == "Submit Upgrade" else "free"
                    user.change_day = -1
                ts += int(seconds * 1000) + rng.randint(1, 2000)
        user.busy_until = ts
        return events

    def line(self, user: _User, logged_in: bool, page: str, sid: int, item: int,
             ts: int) -> tuple[str, float]:
        """One log line and the seconds until the next event."""
        artist = song = length = "null"
        seconds = self.rng.uniform(1.0, 90.0)
        if page == "NextSong":
            artist, song, length = self.play()
            seconds = float(length)
        f = user.fragments if logged_in else _LOGGED_OUT
        page_part, status = _PAGE_FRAGMENT[page]
        return (
            f'{{"artist":{artist}{f[0]}{item}{f[1]}{length},"level":"{user.level}"{f[2]}'
            f'{page_part}{f[3]}{sid},"song":{song},"status":{status},"ts":{ts}{f[4]}'
        ), seconds

    def day(self, day_index: int, day_start: int) -> list[tuple[int, int, int, bool, str]]:
        """All events of one day, sorted by time."""
        rng = self.rng
        budget = round(self.config.events_per_day * rng.uniform(0.9, 1.1))
        day_end = day_start + DAY_MS
        events: list[tuple[int, int, int, bool, str]] = []
        for user in self.users:
            if 0 <= user.change_day <= day_index and len(events) < budget:
                start = day_start + rng.randrange(DAY_MS // 2)
                events += self.session(user, start, day_end, budget - len(events), True)
        while len(events) < budget:
            user = self.users[_pick(rng, self.user_cum)]
            start = day_start + rng.randrange(DAY_MS)
            if start < user.busy_until:
                shifted = user.busy_until + rng.randint(60_000, 3_600_000)
                start = shifted if shifted < day_end else start
            events += self.session(user, start, day_end, budget - len(events), False)
        events.sort()
        return events


def _lay_out(rng: random.Random, config: GenerateConfig, events: list[tuple[str, bool]],
             force_duplicate: bool) -> tuple[list[str], int, int]:
    """Lines of a day file (duplicates right after their event, blank lines between events),
    the number of event lines and of NextSong lines."""
    count = len(events)
    duplicate = [rng.random() < config.duplicate_share for _ in range(count)]
    if force_duplicate and count and not any(duplicate):
        duplicate[rng.randrange(count)] = True
    blank_after = [rng.random() < config.blank_line_share for _ in range(max(0, count - 1))]
    wants_blank = config.events_per_day >= 100 and config.blank_line_share > 0
    if wants_blank and blank_after and not any(blank_after):
        blank_after[rng.randrange(len(blank_after))] = True
    lines: list[str] = []
    songs = 0
    for index, (line, is_song) in enumerate(events):
        copies = 2 if duplicate[index] else 1
        lines += [line] * copies
        songs += copies if is_song else 0
        if index < count - 1 and blank_after[index]:
            lines.append("")
    return lines, count + sum(duplicate), songs


def _day_path(out_dir: Path, date: datetime.date) -> Path:
    return out_dir / "log_data" / f"{date:%Y}" / f"{date:%m}" / f"{date:%Y-%m-%d}-events.json"


def generate(out_dir: Path, config: GenerateConfig,
             progress: Callable[[str], None] | None = None) -> GenerateStats:
    """Write song_data/ and log_data/ below `out_dir`; same config, same bytes."""
    config.validate()
    report = progress or (lambda _message: None)
    rng = random.Random(config.seed)
    artist_names: set[str] = set()
    files = _FileWriter()
    try:
        songs = _build_catalog(rng, config.songs, artist_names)
        written = _write_songs(out_dir, songs, files)
        report(f"wrote {len(songs)} song files")
        plays = config.events_per_day * config.days * (1.0 - config.known_song_share)
        unknown = _unknown_pool(rng, max(50, min(30_000, int(plays) // 3)), artist_names)
        start_ms = (config.start_date - _EPOCH).days * DAY_MS
        writer = _EventWriter(rng, config, songs, _build_users(rng, config, start_ms), unknown)
        events = next_songs = duplicates = 0
        for day_index in range(config.days):
            date = config.start_date + datetime.timedelta(days=day_index)
            day_events = writer.day(day_index, start_ms + day_index * DAY_MS)
            force = (config.duplicate_share > 0 and duplicates == 0
                     and day_index == config.days - 1)
            pairs = [(event[4], event[3]) for event in day_events]
            lines, day_count, day_songs = _lay_out(rng, config, pairs, force)
            path = _day_path(out_dir, date)
            path.parent.mkdir(parents=True, exist_ok=True)
            data = "\n".join(lines).encode("utf-8")
            files.write(path, data)
            written += len(data)
            events += day_count
            next_songs += day_songs
            duplicates += day_count - len(day_events)
            report(f"wrote {path.name}: {day_count} events")
    finally:
        files.close()
    log.debug("generated %d songs and %d events in %s", len(songs), events, out_dir)
    return GenerateStats(len(songs), config.days, events, next_songs, written)
