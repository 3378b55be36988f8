"""Broker and result-backend settings shared by the run launcher (producer) and the workers (consumers).

Both sides must agree on the transport options (priority steps, key separator), so they come from here.
VIDASSETS_BROKER_URL and VIDASSETS_RESULT_BACKEND (`vidassets.settings`: `Settings.workers`) choose the servers;
production uses ElastiCache Redis or SQS with a database result backend (docs/DEPLOY.md).
"""

from __future__ import annotations

from typing import Any

PRIORITY_STEPS = list(range(10))  # every Redis priority gets its own list, so ordering is exact
KEY_SEPARATOR = ":"  # `gpu:3` is the list holding priority-3 messages of queue `gpu`
# An unacknowledged message (its worker vanished before finishing) goes back to the queue after this long.
# Longer than the longest run, or a slow run would be delivered twice; Dagster's run monitoring fails and
# retries a run whose worker died long before this.
VISIBILITY_TIMEOUT_S = 6 * 3600


def celery_settings() -> dict[str, Any]:
    """Celery configuration for one-run-at-a-time workers that never hold a run another worker could start."""
    return {
        # A worker takes the next run only when it starts one (acks_late + prefetch 1): queued runs stay in the
        # broker, in priority order, for whichever worker frees up first.
        # prefetch 1 still reserves one message beside the running one; disable_prefetch (Redis) reserves none,
        # so a busy worker never holds a run another worker, or a later higher-priority run, should go first.
        "task_acks_late": True,
        "task_reject_on_worker_lost": False,  # a run whose process died is failed and retried by Dagster, not here
        "worker_prefetch_multiplier": 1,
        "worker_disable_prefetch": True,
        "task_track_started": True,  # STARTED + worker hostname and pid: what the launcher's health check reads
        "result_extended": True,
        "result_expires": 7 * 24 * 3600,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # keep reconnecting while the broker restarts
        "worker_cancel_long_running_tasks_on_connection_loss": False,  # a broker restart must not kill runs
        "broker_transport_options": {
            "priority_steps": PRIORITY_STEPS,
            "sep": KEY_SEPARATOR,
            "queue_order_strategy": "priority",
            "visibility_timeout": VISIBILITY_TIMEOUT_S,
        },
        "result_backend_transport_options": {"retry_policy": {"timeout": 5.0}},
        "worker_hijack_root_logger": False,
    }


def queue_keys(queue: str) -> list[str]:
    """The Redis lists holding `queue`'s messages, highest priority first."""
    return [queue if step == 0 else f"{queue}{KEY_SEPARATOR}{step}" for step in PRIORITY_STEPS]
