"""The dev loop's warm engine: `dbt build` again and again in one process, on one Spark JVM."""
