"""The dashboard's and the static report's data: queries over the marts, charts, the report."""
