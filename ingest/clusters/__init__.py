"""AWS clusters the project can create and remove: EMR (Spark) and Redshift."""
