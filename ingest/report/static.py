"""`python -m ingest report`: the dashboard's charts as PNG files and one self-contained HTML
file (plotly.js inlined once), for e-mail or CI artifacts.

PNG export is plotly's own (kaleido), which drives the installed Chromium headless: no
network, no download. Without a Chromium, `--no-png` writes the HTML only.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.ledger.db import now_utc
from ingest.report.health import (
    BuildResults,
    LedgerSnapshot,
    loads_per_day,
    problem_objects,
    quarantine_reasons,
)
from ingest.report.pages import HEALTH, PAGES, page_tables
from ingest.report.queries import Filters, Headline, Table, headline
from ingest.report.readers import Reader

log = logging.getLogger(__name__)
HTML_NAME = "report.html"


@dataclass(frozen=True)
class ReportFiles:
    """What the report wrote: the HTML file and one PNG per chart."""

    html: Path
    images: tuple[Path, ...]
    tables: tuple[Table, ...]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def write_report(reader: Reader, out_dir: Path, *, filters: Filters | None = None,
                 snapshot: LedgerSnapshot | None = None, build: BuildResults | None = None,
                 png: bool = True, progress: Callable[[str], None] = log.info) -> ReportFiles:
    """Query every figure, draw it, write `out_dir/report.html` and `out_dir/<page>/<n>.png`."""
    from ingest.report.charts import figure

    filters = filters or Filters()
    sections: dict[str, list[Table]] = {
        page: page_tables(page, reader, filters) for page in PAGES}
    if snapshot is not None:
        sections[HEALTH] = [loads_per_day(snapshot), quarantine_reasons(snapshot)]
    top = headline(reader, filters)
    progress(f"queried {sum(map(len, sections.values()))} figures from {reader.where}")
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {(page, table.name): figure(table)
               for page, tables in sections.items() for table in tables}
    images: list[Path] = []
    if png:
        images = [out_dir / _slug(page) / f"{name}.png" for page, name in figures]
        for path in images:
            path.parent.mkdir(parents=True, exist_ok=True)
        _write_pngs(list(figures.values()), images)
        progress(f"wrote {len(images)} PNG files under {out_dir}")
    parts = [_head(reader, filters, top)]
    first = True
    for page, tables in sections.items():
        parts.append(f"<h2>{html.escape(page)}</h2>")
        if page == HEALTH and snapshot is not None:
            parts.append(_health_text(snapshot, build))
        for table in tables:
            parts.append(figures[(page, table.name)].to_html(
                full_html=False, include_plotlyjs=first, default_width="100%"))
            first = False
    page_html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                 "<title>Sparkify listening activity</title>"
                 "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}</style>"
                 "</head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    target = out_dir / HTML_NAME
    target.write_text(page_html, encoding="utf-8")
    progress(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB, self-contained)")
    return ReportFiles(target, tuple(images), tuple(t for ts in sections.values() for t in ts))


def _write_pngs(figures: list[object], paths: list[Path]) -> None:
    import plotly.io

    try:
        plotly.io.write_images(figures, paths, format="png", width=1000, height=450)
    except Exception as exc:  # kaleido: no Chromium, or one it cannot start
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestError(f"cannot write PNG files ({first}): plotly's export needs Chromium "
                          "(apt-get install chromium); --no-png writes the HTML only") from exc


def _head(reader: Reader, filters: Filters, top: Headline) -> str:
    chosen = [f"{label}: {value}" for label, value in (
        ("from", filters.start), ("to", filters.end), ("level", filters.level),
        ("state", filters.state)) if value is not None]
    rows = [("plays", f"{top.plays:,}"), ("users", f"{top.users:,}"),
            ("plays matched to a song", f"{top.matched_plays:,} ({top.matched_share:.1%})"),
            ("paid plays", f"{top.paid_plays:,}"),
            ("days", f"{top.first_day} to {top.last_day}")]
    cells = "".join(f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                    for k, v in rows)
    return (f"<h1>Sparkify listening activity</h1>"
            f"<p>{html.escape(reader.where)}; written {now_utc():%Y-%m-%d %H:%M} UTC"
            f"{'; ' + html.escape(', '.join(chosen)) if chosen else ''}</p>"
            f"<table>{cells}</table>")


def _health_text(snapshot: LedgerSnapshot, build: BuildResults | None) -> str:
    problems = problem_objects(snapshot)
    lines = [f"ledger: {snapshot.where}: {len(snapshot.entries)} objects, "
             f"{len(snapshot.quarantined)} quarantined lines, "
             f"{len(problems.rows)} pending, failed or rejected objects"]
    if build is None:
        lines.append("no dbt run_results.json found")
    else:
        lines.append(f"last dbt {build.command}: {build.generated_at:%Y-%m-%d %H:%M} UTC, "
                     f"{build.elapsed_seconds:.0f} s, {build.count('model')} models, "
                     f"{build.count('test', 'pass')} tests passed, "
                     f"{len(build.failures)} failed")
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)
