"""The dashboard's pages, run by dashboards/app.py's navigation (not in pages/: Streamlit would run a pages/ script
without app.py, the legacy multipage mode)."""
