"""Running the pipeline: dbt invocations, build markers, the whole pipeline, the scheduled cycle."""
