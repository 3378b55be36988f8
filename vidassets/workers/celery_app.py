"""The Celery app every run worker serves: dagster-celery's run tasks over our broker settings.

`celery -A vidassets.workers.celery_app worker -Q gpu ...` (see `command.py`). Each pool child executes runs
in its own process (dagster-celery calls Dagster's run body in-process), so vidassets' per-process model cache
serves every run that child executes until it is recycled. The `cpu` queue also carries webhook deliveries
(`webhook_tasks.py`).
"""

from typing import Any

from celery.signals import worker_process_init
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task

from vidassets.settings import load_settings
from vidassets.workers.broker import celery_settings
from vidassets.workers.preload import start_preload
from vidassets.workers.queues import CPU_QUEUE
from vidassets.workers.webhook_tasks import register as register_webhook_task

# This module is the worker's entry point (`celery -A`): importing it is launching a worker, so its settings are
# read here.
_workers = load_settings().workers
app = make_app(
    app_args={
        "broker": _workers.broker_url,
        "backend": _workers.result_backend,
        "include": [],
        "config_source": celery_settings(),
        "task_default_queue": CPU_QUEUE,
    }
)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
deliver_webhook = register_webhook_task(app)  # webhook deliveries, on the `cpu` queue (webhook_tasks.py)


@worker_process_init.connect
def _preload_models(**_: Any) -> None:
    """Each new pool child (at start and after recycling) loads its models before the first run needs them."""
    if load_settings().workers.preload:
        start_preload()
