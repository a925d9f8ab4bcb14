"""Listening activity: plays per day and hour, the weekly rhythm, free against paid."""

from dashboards.ui import marts_page
from ingest.report.pages import LISTENING

marts_page(LISTENING, "When people listen: plays per day and per hour of the day (UTC), the "
           "hour by weekday heat map, free and paid plays and active users per month and week.")
