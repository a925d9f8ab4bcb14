"""The plotly figure of each Table (ingest.report.queries, ingest.report.health).

`figure(table)` draws any of them: the dashboard shows it, the static report writes it as
HTML and PNG. Date axes are typed as dates (plotly would read "2018-11" as a category, or
a month as a day), so the periods land where they belong. plotly is the `dashboard` extra:
imported here only, and this module only when a chart is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from ingest.report.queries import Table

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ISO 1..7
LEVEL_COLOURS = {"free": "#8da0cb", "paid": "#fc8d62"}


def _layout(figure: go.Figure, table: Table, **axes: Any) -> go.Figure:
    figure.update_layout(title={"text": table.title}, template="plotly_white",
                         margin={"l": 10, "r": 10, "t": 50, "b": 10}, height=380,
                         legend={"orientation": "h", "y": -0.2}, **axes)
    if not table.rows:
        figure.add_annotation(text="nothing to show", showarrow=False,
                              xref="paper", yref="paper", x=0.5, y=0.5)
    return figure


def _dates(table: Table, column: str, fmt: str = "%Y-%m-%d") -> dict[str, Any]:
    return {"xaxis": {"type": "date", "tickformat": fmt, "title": column}}


def _bars(table: Table, x: str, y: str, **axes: Any) -> go.Figure:
    figure = go.Figure(go.Bar(x=table.column(x), y=table.column(y), name=y))
    return _layout(figure, table, yaxis={"title": y}, **axes)


def _ranked(table: Table, labels: list[str], value: str) -> go.Figure:
    """Horizontal bars, the largest on top."""
    figure = go.Figure(go.Bar(x=table.column(value), y=labels, orientation="h", name=value))
    return _layout(figure, table, yaxis={"autorange": "reversed", "type": "category"},
                   xaxis={"title": value})


def plays_per_day(table: Table) -> go.Figure:
    return _bars(table, "day", "plays", **_dates(table, "day"))


def plays_per_hour(table: Table) -> go.Figure:
    figure = _bars(table, "hour", "plays")
    figure.update_xaxes(type="linear", dtick=2, range=[-0.5, 23.5], title="hour (UTC)")
    return figure


def hour_by_weekday(table: Table) -> go.Figure:
    grid: list[list[int | None]] = [[None] * 24 for _ in WEEKDAYS]
    for weekday, hour, plays in table.rows:
        grid[int(weekday) - 1][int(hour)] = int(plays)
    figure = go.Figure(go.Heatmap(z=grid, x=list(range(24)), y=list(WEEKDAYS),
                                  colorscale="Blues", hoverongaps=False,
                                  colorbar={"title": "plays"}))
    return _layout(figure, table, xaxis={"title": "hour (UTC)", "dtick": 2},
                   yaxis={"autorange": "reversed", "type": "category"})


def _activity(table: Table, fmt: str) -> go.Figure:
    periods = table.column("period_start")
    figure = go.Figure([
        go.Bar(x=periods, y=table.column("free_plays"), name="free plays",
               marker_color=LEVEL_COLOURS["free"]),
        go.Bar(x=periods, y=table.column("paid_plays"), name="paid plays",
               marker_color=LEVEL_COLOURS["paid"]),
        go.Scatter(x=periods, y=table.column("active_users"), name="active users",
                   mode="lines+markers", yaxis="y2"),
    ])
    return _layout(figure, table, barmode="stack", yaxis={"title": "plays"},
                   yaxis2={"title": "active users", "overlaying": "y", "side": "right",
                           "rangemode": "tozero"},
                   **_dates(table, "period_start", fmt))


def activity_per_month(table: Table) -> go.Figure:
    figure = _activity(table, "%Y-%m")
    figure.update_xaxes(dtick="M1")
    return figure


def activity_per_week(table: Table) -> go.Figure:
    return _activity(table, "%Y-%m-%d")


def _split(table: Table, x: str, series: str, y: str, **axes: Any) -> go.Figure:
    """One bar trace per value of `series`."""
    names = sorted({str(value) for value in table.column(series)})
    traces = [go.Bar(x=[row[table.columns.index(x)] for row in table.rows
                        if str(row[table.columns.index(series)]) == name],
                     y=[row[table.columns.index(y)] for row in table.rows
                        if str(row[table.columns.index(series)]) == name], name=name)
              for name in names]
    return _layout(go.Figure(traces), table, yaxis={"title": y}, **axes)


def users_by_level_and_gender(table: Table) -> go.Figure:
    return _split(table, "level", "gender", "users", barmode="group",
                  xaxis={"type": "category", "title": "level"})


def level_changes_per_day(table: Table) -> go.Figure:
    labelled = Table(table.name, table.title, ("day", "change", "changes"),
                     tuple((day, f"{old} → {new}", count)
                           for day, old, new, count in table.rows))
    return _split(labelled, "day", "change", "changes", barmode="stack",
                  **_dates(table, "day"))


def top_users(table: Table) -> go.Figure:
    labels = [f"{first or ''} {last or ''} ({user_id}, {level})".strip()
              for user_id, first, last, level, _plays in table.rows]
    return _ranked(table, labels, "plays")


def plays_per_state(table: Table) -> go.Figure:
    labels = [f"{name} ({region})" for _code, name, region, _p, _u in table.rows]
    figure = _ranked(table, labels, "plays")
    figure.update_traces(hovertext=[f"{users} users" for users in table.column("users")])
    figure.update_layout(height=max(380, 22 * len(table.rows) + 100))
    return figure


def plays_per_region(table: Table) -> go.Figure:
    figure = go.Figure([
        go.Bar(x=table.column("census_region"), y=table.column("plays"), name="plays",
               offsetgroup="plays"),
        go.Bar(x=table.column("census_region"), y=table.column("users"), name="users",
               yaxis="y2", offsetgroup="users"),
    ])
    return _layout(figure, table, barmode="group", xaxis={"type": "category"},
                   yaxis={"title": "plays"},
                   yaxis2={"title": "users", "overlaying": "y", "side": "right"})


def top_songs(table: Table) -> go.Figure:
    labels = [f"{title} — {artist}" for _id, title, artist, _plays in table.rows]
    return _ranked(table, labels, "plays")


def top_artists(table: Table) -> go.Figure:
    return _ranked(table, [str(name) for name in table.column("artist")], "plays")


def matching_per_day(table: Table) -> go.Figure:
    days = table.column("day")
    figure = go.Figure([
        go.Bar(x=days, y=table.column("matched"), name="matched to a song"),
        go.Bar(x=days, y=table.column("unmatched"), name="unmatched"),
    ])
    return _layout(figure, table, barmode="stack", yaxis={"title": "plays"},
                   **_dates(table, "day"))


def loads_per_day(table: Table) -> go.Figure:
    return _split(table, "day", "table", "rows_loaded", barmode="group",
                  **_dates(table, "day"))


def quarantine_reasons(table: Table) -> go.Figure:
    labels = [f"{name}: {reason[:60]}" for name, reason, _lines in table.rows]
    return _ranked(table, labels, "lines")


CHARTS: dict[str, Callable[[Table], go.Figure]] = {
    chart.__name__: chart for chart in (
        plays_per_day, plays_per_hour, hour_by_weekday, activity_per_month, activity_per_week,
        users_by_level_and_gender, level_changes_per_day, top_users, plays_per_state,
        plays_per_region, top_songs, top_artists, matching_per_day, loads_per_day,
        quarantine_reasons,
    )
}


def figure(table: Table) -> go.Figure:
    """The chart of `table` (by its name)."""
    return CHARTS[table.name](table)
