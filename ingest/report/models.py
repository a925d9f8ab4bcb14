"""The models the dashboard and the report read: exactly the exposure's `depends_on`.

`models/marts/_marts__exposures.yml` declares the `listening_activity_dashboard` exposure;
tests/report/test_exposure.py checks that its `depends_on` equals MODELS_READ and that the
SQL of ingest/report/queries.py names no other model. A reader refuses any other model.
"""

from __future__ import annotations

EXPOSURE = "listening_activity_dashboard"
MODELS_READ: tuple[str, ...] = ("fct_songplays", "dim_time", "dim_users", "dim_songs",
                                "dim_artists")
