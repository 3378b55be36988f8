"""Warm workers: runs execute in long-lived Celery workers (dagster-celery's run launcher) that keep loaded
models across runs. Everything here but the worker app itself is Dagster-free."""
