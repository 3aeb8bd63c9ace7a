"""Scheduling the night: the Airflow DAG (radar_dag.py) and the steps it runs as nightly decides them."""
