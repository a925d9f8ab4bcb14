"""Helpers shared by the sparkify DAGs (not DAGs themselves: .airflowignore skips them)."""
