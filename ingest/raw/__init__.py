"""The raw data: its contract (layout, fields), the verification rules, and reading sources."""
