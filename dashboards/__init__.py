"""The Streamlit dashboard over the marts (`make dashboard`; docs/dashboard.md)."""
