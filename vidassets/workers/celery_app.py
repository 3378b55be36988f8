"""The Celery app every run worker serves: dagster-celery's run tasks over our broker settings.

`celery -A vidassets.workers.celery_app worker -Q gpu ...` (see `command.py`). Each pool child executes runs
in its own process (dagster-celery calls Dagster's run body in-process), so vidassets' per-process model cache
serves every run that child executes until it is recycled.
"""

import os
from typing import Any

from celery.signals import worker_process_init
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task

from vidassets.workers.broker import broker_url, celery_settings, result_backend_url
from vidassets.workers.preload import PRELOAD_ENV, start_preload
from vidassets.workers.queues import CPU_QUEUE

app = make_app(
    app_args={
        "broker": broker_url(),
        "backend": result_backend_url(),
        "include": [],
        "config_source": celery_settings(),
        "task_default_queue": CPU_QUEUE,
    }
)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)


@worker_process_init.connect
def _preload_models(**_: Any) -> None:
    """Each new pool child (at start and after recycling) loads its models before the first run needs them."""
    if os.environ.get(PRELOAD_ENV) == "1":
        start_preload()
