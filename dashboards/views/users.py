"""Users: who listens, who upgrades, where they are."""

from dashboards.ui import marts_page
from ingest.report.pages import USERS

marts_page(USERS, "Users by level and gender, level changes (free → paid and back), the top "
           "users, and plays and users per US state and census region.")
