"""The Sparkify dashboard: `make dashboard` serves it on 127.0.0.1 (docs/dashboard.md).

`streamlit run dashboards/app.py` puts this folder on sys.path, not the project: the
project goes first so the pages can import `dashboards.ui`.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT = str(Path(__file__).resolve().parents[1])
if PROJECT not in sys.path:
    sys.path.insert(0, PROJECT)

import streamlit as st  # noqa: E402

PAGES = [
    st.Page("views/listening.py", title="Listening activity", default=True),  # at /
    st.Page("views/users.py", title="Users", url_path="users"),
    st.Page("views/songs.py", title="Songs and artists", url_path="songs"),
    st.Page("views/health.py", title="Pipeline health", url_path="health"),
]

st.set_page_config(page_title="Sparkify dashboard", layout="wide")
st.navigation(PAGES).run()
