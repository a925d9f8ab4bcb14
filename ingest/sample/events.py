"""The users and events of a generated sample: sessions planned page by page, rendered as
log lines exactly as the upstream producer writes them, and laid out as a day's file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ingest.sample import names
from ingest.sample.catalog import Song, Unknown, case_variant, cumulative, log_json, pick, zipf
from ingest.sample.config import GenerateConfig

DAY_MS = 86_400_000
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



@dataclass(slots=True)
class _User:
    user_id: int
    level: str
    change_day: int
    fragments: tuple[str, str, str, str, str]
    busy_until: int = 0



def _user_fragments(rng: random.Random, user_id: int, registration: int) -> tuple[
        str, str, str, str, str]:
    gender = "F" if rng.random() < 0.5 else "M"
    first = rng.choice(names.FEMALE_FIRST if gender == "F" else names.MALE_FIRST)
    user_agent = '"' + rng.choice(names.USER_AGENTS) + '"'
    return (
        f',"auth":"Logged In","firstName":{log_json(first)},"gender":"{gender}"'
        ',"itemInSession":',
        f',"lastName":{log_json(rng.choice(names.LAST_NAMES))},"length":',
        f',"location":{log_json(rng.choice(names.US_METROS))},"method":"',
        f',"registration":{float(registration)!r},"sessionId":',
        f',"userAgent":{log_json(user_agent)},"userId":"{user_id}"}}',
    )


def build_users(rng: random.Random, config: GenerateConfig, start_ms: int) -> list[_User]:
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
    page = _BODY_PAGES[pick(rng, _BODY_CUM)][0]
    if page == "Level":
        return ("Downgrade",) if level == "paid" else ("Upgrade",)
    if page == "Settings" and rng.random() < 0.25:
        return ("Settings", "Save Settings")
    return (page,)


class EventWriter:
    """Plans sessions and renders their events as log lines (state: rng, ids, users)."""

    def __init__(self, rng: random.Random, config: GenerateConfig, songs: list[Song],
                 users: list[_User], unknown: list[Unknown]) -> None:
        self.rng = rng
        self.config = config
        self.songs = songs
        self.song_cum = zipf(rng, len(songs)) if songs else []
        self.users = users
        self.user_cum = cumulative([rng.paretovariate(1.3) for _ in users])
        self.unknown = unknown
        self.unknown_cum = zipf(rng, len(unknown))
        self.encoded: dict[str, str] = {}
        self.next_session = 1

    def _encode(self, text: str) -> str:
        cached = self.encoded.get(text)
        if cached is None:
            cached = self.encoded[text] = log_json(text)
        return cached

    def play(self) -> tuple[str, str, str]:
        """JSON artist, song and length of one NextSong event."""
        rng = self.rng
        if not self.songs or rng.random() >= self.config.known_song_share:
            song = self.unknown[pick(rng, self.unknown_cum)]
            return song.artist, song.title, song.length
        known = self.songs[pick(rng, self.song_cum)]
        title, artist, length = known.title, known.artist.name, known.duration
        if rng.random() < 0.15:
            title = rng.choice((" " + title, title + " ", title + "  ", " " + title + " "))
        if rng.random() < 0.15:
            title = case_variant(rng, title)
        if rng.random() < 0.08:
            artist = case_variant(rng, artist)
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
            user = self.users[pick(rng, self.user_cum)]
            start = day_start + rng.randrange(DAY_MS)
            if start < user.busy_until:
                shifted = user.busy_until + rng.randint(60_000, 3_600_000)
                start = shifted if shifted < day_end else start
            events += self.session(user, start, day_end, budget - len(events), False)
        events.sort()
        return events


def lay_out(rng: random.Random, config: GenerateConfig, events: list[tuple[str, bool]],
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

