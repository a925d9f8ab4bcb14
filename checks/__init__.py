"""Checks on the dbt project that need no warehouse (`make check`).

- `lint_sql`: sqlfluff over the models, analyses, macros and dbt tests (singular and
  generic), as Spark SQL and as Redshift (`python -m checks.lint_sql --help`);
- `bouncer/`: the project's own dbt-bouncer checks, for the rules dbt-bouncer has no check
  for (dbt-bouncer.yml at the top of the project lists every rule and says which are these).
"""
