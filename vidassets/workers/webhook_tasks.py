"""Webhook deliveries on the warm workers: one Celery task per delivery, on the `cpu` queue, ahead of queued runs.

The API's database is the record (`vidassets.api.webhooks`): whoever hands a delivery out (the webhook sensors in
the daemon, and a task that finished, for the same user's next one) first claims it there with a lease, then sends
`deliver_webhook(delivery id, token)`. The task sends with the overall deadline (`outbound.post`), records the
outcome, and retries through Celery (`self.retry` with the backoff) under a new lease. A task lost anywhere — a
broker restart without the message, a worker killed mid-send — leaves its lease to run out: the delivery is due
again and the sensors hand it out anew; the token makes a late duplicate task do nothing.
"""

from __future__ import annotations

import functools
import logging

from celery import Celery, Task

from vidassets.api import webhooks
from vidassets.api.db import engine_for
from vidassets.api.settings import ApiSettings
from vidassets.workers.broker import celery_settings
from vidassets.workers.queues import CPU_QUEUE

TASK_NAME = "vidassets.deliver_webhook"
BROKER_PRIORITY = 0  # Redis serves 0 first: a delivery goes before the runs waiting on the `cpu` queue
SUBMIT_RETRY = {"max_retries": 1, "interval_start": 0.0, "interval_step": 0.5, "interval_max": 0.5}

log = logging.getLogger("vidassets.workers.webhooks")


def register(app: Celery) -> Task:
    """Add the delivery task to the workers' app (`celery_app.py`)."""

    @app.task(name=TASK_NAME, bind=True, acks_late=True, max_retries=None, ignore_result=True)
    def deliver_webhook(self: Task, delivery_id: int, token: float) -> str:
        settings = ApiSettings.from_env()
        engine = engine_for(settings.db_url)
        claim = webhooks.Claim(delivery_id, "", token)
        outcome = webhooks.send_claimed(engine, settings, claim, log=log.info)
        if outcome.user is not None:  # the user's place is free: hand out their next due delivery
            try:
                webhooks.dispatch_due(engine, settings, submitter(self.app), users={outcome.user})
            except Exception as error:  # noqa: BLE001 - the sensors hand it out on their next pass
                log.warning("could not hand out the next delivery: %s: %s", type(error).__name__, error)
        if outcome.status == "retrying":
            raise self.retry(args=(delivery_id, outcome.token), countdown=outcome.retry_in_s)
        return outcome.status

    return deliver_webhook


def submitter(app: Celery) -> webhooks.Submit:
    """`webhooks.Submit` for `app`: publish the claim's task to the `cpu` queue (fails fast when the broker is
    down; the claim is then given back)."""

    def submit(claim: webhooks.Claim) -> None:
        app.send_task(TASK_NAME, args=[claim.delivery_id, claim.token], queue=CPU_QUEUE, priority=BROKER_PRIORITY,
                      retry=True, retry_policy=SUBMIT_RETRY)

    return submit


@functools.cache
def producer(broker_url: str) -> Celery:
    """A publishing-only app for processes that are not workers (the daemon's sensors), with the workers'
    transport options (priority steps, key separator)."""
    app = Celery("vidassets-webhooks", broker=broker_url, set_as_current=False)
    app.conf.update(celery_settings())
    app.conf.broker_connection_retry_on_startup = False
    app.conf.broker_connection_timeout = 2.0
    return app
