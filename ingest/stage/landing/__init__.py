"""The Spark landing: a verified copy of a source's raw data as parquet files, and its ledger.

- folder: where a source's landing is (`landing_folder`), and what in it the tables read;
- format: the arrow schemas and how one object's rows become parquet parts;
- files: writing, renaming and listing the files durably;
- ledger: the SQLite ledger next to the files;
- sink: the staging core's sink that ties them together, and its repair.
"""
