"""The platform every step stands on: conf, the Spark session and its jars, the lakehouse and its
tables, the run log, the landing zone, data contracts' runner and the writer lock."""
