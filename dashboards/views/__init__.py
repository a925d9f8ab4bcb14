"""The dashboard's pages, run by dashboards/app.py's navigation.

Not in a `pages/` folder: Streamlit would run a script there on its own, without app.py
(its legacy multipage mode).
"""
