"""The song catalogue of a generated sample: artists, songs and their ids, the songs plays
name that no song file holds, and the weighted draws and log-style JSON both sides use.

Songs copy the upstream quirks: tie siblings (same artist, title modulo case and spaces,
duration within 0.5 s), and artists whose attributes disagree between their song files.
"""

from __future__ import annotations

import bisect
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.sample import names

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = _LETTERS + "0123456789"
_HEX = "0123456789ABCDEF"
_ID_INFIXES = ("128F", "12903", "12A6D", "12AB0", "1187B", "11E8")
_LOG_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class _Artist:
    artist_id: str
    name: str
    location: str
    latitude: float | None
    longitude: float | None


@dataclass(slots=True)
class Song:
    title: str
    duration: float
    year: int
    artist: _Artist
    track_id: str = ""
    song_id: str = ""
    location: str = ""
    latitude: float | None = None
    longitude: float | None = None



@dataclass(frozen=True, slots=True)
class Unknown:
    artist: str
    title: str
    length: str


def log_json(value: str) -> str:
    """A JSON string as the log producer writes it: raw UTF-8, `/` escaped as `\\/`."""
    return _LOG_ENCODER.encode(value).replace("/", "\\/")


def cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def pick(rng: random.Random, cum: Sequence[float]) -> int:
    """Index drawn with the weights behind the cumulative list `cum`."""
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def zipf(rng: random.Random, count: int, exponent: float = 0.9) -> list[float]:
    """Cumulative popularity weights for `count` items, in a shuffled order."""
    weights = [1.0 / (rank + 1) ** exponent for rank in range(count)]
    rng.shuffle(weights)
    return cumulative(weights)


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


def case_variant(rng: random.Random, text: str) -> str:
    return rng.choice((text.upper(), text.lower(), text.title()))



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


def _tie_sibling(rng: random.Random, song: Song) -> Song:
    """Another song of the same artist, same title modulo case/space, duration within 0.5 s."""
    title = rng.choice((song.title, song.title.upper(), song.title.lower(), song.title + " "))
    duration = song.duration
    if rng.random() < 0.5:
        offset = rng.uniform(0.01, 0.5)
        duration = round(song.duration + (offset if song.duration < 300 else -offset), 5)
    return Song(title, duration, _year(rng), song.artist)


def _assign_ids(rng: random.Random, songs: list[Song]) -> None:
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


def _apply_artist_attributes(rng: random.Random, songs: list[Song]) -> None:
    """Copy artist attributes into song files; some artists disagree between their files.

    For those, the file with the smallest song_id holds the missing or first value, so
    `first non-empty value in song_id order` is exercised.
    """
    by_artist: dict[str, list[Song]] = {}
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


def _apply_variant(rng: random.Random, group: list[Song], kind: str) -> None:
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


def build_catalog(rng: random.Random, count: int, artist_names: set[str]) -> list[Song]:
    """`count` songs by ~count/1.8 artists, 1.5% of them tie siblings of another song."""
    ties = max(1, round(count * 0.015)) if count >= 20 else 0
    base = count - ties
    used_ids: set[str] = set()
    artists = [_new_artist(rng, used_ids, artist_names) for _ in range(max(1, round(base / 1.8)))]
    owners = list(range(len(artists)))[:base]
    owners += [rng.randrange(len(artists)) for _ in range(base - len(owners))]
    rng.shuffle(owners)
    songs = [Song(names.song_title(rng), _duration(rng), _year(rng), artists[i]) for i in owners]
    songs += [_tie_sibling(rng, songs[i]) for i in sorted(rng.sample(range(base), ties))]
    _assign_ids(rng, songs)
    _apply_artist_attributes(rng, songs)
    return songs


def song_json(song: Song) -> str:
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


def unknown_pool(rng: random.Random, count: int, artist_names: set[str]) -> list[Unknown]:
    """Songs that plays name but no song file holds: their artists are not in the catalogue."""
    artists = [_unique(rng, names.artist_name, artist_names) for _ in range(max(1, count // 2))]
    pool = []
    for _ in range(count):
        artist = artists[rng.randrange(len(artists))]
        title = names.song_title(rng)
        pool.append(Unknown(log_json(artist), log_json(title), repr(_duration(rng))))
    return pool
