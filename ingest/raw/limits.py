"""What every target's types hold, in one place: the limits the line rules enforce.

A line the rules (ingest.raw.rules) accept must build on every target: the embedded Spark,
PostgreSQL and Redshift. So beyond its JSON type, each value is held to what the raw
tables and the dbt models do with it on every engine:

- `int` fits signed 32 bits (Spark `int`, PostgreSQL and Redshift `integer`); `bigint`
  signed 64 bits.
- Identifiers (`userId`, `sessionId`, `itemInSession`) are non-negative integers within
  `int`. `userId` is a string in the files that the staging model casts to an integer
  (`cast(nullif(userid, '') as int)`): it is `""` (logged out) or the canonical decimal
  digits of such an integer, no sign, no space, no leading zero ("07" and "7" would be one
  user under two event keys, which the uniqueness tests refuse). The files' integer `77` is
  read as "77".
- Epoch milliseconds (`ts`, `registration`) lie in 0001-01-01T00:00:00.000Z ..
  9999-12-31T23:59:59.999Z: the range of Spark's TIMESTAMP (`timestamp_millis` overflows
  outside it); PostgreSQL's `timestamp 'epoch' + ms / 1000.0 * interval '1 second'` and
  Redshift's timestamps hold more.
- Seconds (`length`, `duration`) lie in 0..MAX_SECONDS: the song match subtracts one from
  the other, and PostgreSQL raises "value out of range: overflow" where a double overflows.
- A text value is at most MAX_TEXT_BYTES of UTF-8: Redshift's `varchar(max)` (its COPY
  refuses a longer value).
- `level` and `gender` hold the values the models' data tests accept (levels required,
  gender null or one of GENDERS): tests/raw/test_limits.py reads the dbt YAML and checks
  that both name the same values.

The rules take the limits from here; FIELD_LIMITS says which field has which.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FIRST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_LAST = dt.datetime(9999, 12, 31, 23, 59, 59, 999_000, tzinfo=dt.UTC)
EPOCH_MS_MIN = (_FIRST - _EPOCH) // dt.timedelta(milliseconds=1)  # -62135596800000
EPOCH_MS_MAX = (_LAST - _EPOCH) // dt.timedelta(milliseconds=1)  # 253402300799999
EPOCH_MS_RANGE_TEXT = "0001-01-01T00:00:00.000Z..9999-12-31T23:59:59.999Z"

MAX_SECONDS = 1_000_000_000  # about 31.7 years
MAX_TEXT_BYTES = 65_535
# a str of at most this many characters is at most MAX_TEXT_BYTES of UTF-8 (4 bytes each)
MAX_TEXT_CHARS_UNCHECKED = MAX_TEXT_BYTES // 4

LEVELS = ("free", "paid")
GENDERS = ("F", "M")

Limit = Literal["id", "user_id", "epoch_ms", "seconds", "level", "gender"]
FIELD_LIMITS: dict[str, dict[str, Limit]] = {
    "log_data": {
        "userId": "user_id",
        "sessionId": "id",
        "itemInSession": "id",
        "ts": "epoch_ms",
        "registration": "epoch_ms",
        "length": "seconds",
        "level": "level",
        "gender": "gender",
    },
    "song_data": {
        "duration": "seconds",
    },
}
