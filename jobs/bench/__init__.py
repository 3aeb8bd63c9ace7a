"""Benchmarks of the nightly pipeline (`make bench`, `python -m jobs.bench`): see jobs/bench/run.py.

- run.py: the orchestration (simulate, the first night, side by side, scoring) and its CLI;
- measure.py: wall time and peak memory of a child process tree;
- compare.py: Spark against DuckDB and scipy on the same Parquet inputs (a child process);
- report.py: BENCHMARKS.md's bench section and the plot, from the run's results.
"""
