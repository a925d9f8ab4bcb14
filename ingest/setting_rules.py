"""The rules a setting's value obeys, from its variable or from its CLI option alike
(ingest.settings applies them to both): finite, bounded numbers, intervals, URLs, targets, and
no control characters in text that may reach a generated file or a log line."""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, SecretStr

TARGETS = ("spark", "spark_thrift", "postgres", "redshift")  # profiles/profiles.yml
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
_INTERVAL = re.compile(r"^(\d{1,12}(?:\.\d{1,6})?)(s|m|h)?$")


def no_control_characters(value: object) -> object:
    """A text without line breaks or other control characters: it may end up in a generated
    file (spark-defaults.conf, a dbt profile variable) or a log line."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str | Path):
        shown = str(text)
        if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in shown):
            raise ValueError("holds a line break or another control character")
    return value


def interval_seconds(text: str) -> float:
    """`90`, `90s`, `10m`, `1h` → seconds, above 0 and at most 7 days."""
    match = _INTERVAL.match(text.strip())
    seconds = 0.0
    if match:
        seconds = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    if not 0 < seconds <= MAX_INTERVAL_SECONDS:
        raise ValueError("use a number of s, m or h above 0 and at most 7 days (e.g. 10m)")
    return seconds


def _interval(text: str) -> str:
    interval_seconds(text)
    return text


def _url(text: str) -> str:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not a URL: use http(s)://host[:port]")
    return text


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _event_rate(text: str) -> str:
    if text != "max" and not (re.fullmatch(r"\d{1,9}(\.\d{1,6})?", text) and float(text) > 0):
        raise ValueError("use events per second above 0 (at most 9 digits), or max")
    return text


Interval = Annotated[str, AfterValidator(_interval)]
EventRate = Annotated[str, AfterValidator(_event_rate)]
Url = Annotated[str, AfterValidator(_url)]
Target = Literal["spark", "spark_thrift", "postgres", "redshift"]
Finite = Annotated[float, AfterValidator(_finite)]
