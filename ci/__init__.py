"""CI checks on the dbt project: SQL lint, docs and key-test coverage, structure rules.

Each check is a module with a `main()` (`python -m ci.<module> --help`) and a function that
returns the problems it found, so tests can run it on a copy of the project.
"""
