"""Webhooks: registration, HMAC-SHA256 signed events, retries with exponential backoff, and a delivery log.

An event is queued once per (webhook, event id) — a unique constraint, so a sensor evaluated twice for the same
run end never delivers twice — and sent by whoever claims it first (a conditional UPDATE), so concurrent senders
never post the same delivery twice either. Dagster-free: `webhook_sensors.py` calls these functions.

Signature: `X-Vidassets-Signature: t=<unix seconds>,v1=<hex hmac_sha256(secret, "<t>.<raw body>")>`, plus
`X-Vidassets-Timestamp` and `X-Vidassets-Event-Id` (deliveries retry with the same id: receivers deduplicate on
it). `verify_signature` is what a receiver runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import httpx
import sqlalchemy as sa

from vidassets.api.db import deliveries, webhooks
from vidassets.api.settings import ApiSettings

SIGNATURE_HEADER = "X-Vidassets-Signature"
TIMESTAMP_HEADER = "X-Vidassets-Timestamp"
EVENT_ID_HEADER = "X-Vidassets-Event-Id"
EVENT_TYPES = {"completed": "video.completed", "rejected": "video.rejected", "failed": "video.failed"}
CLAIM_S = 60.0
MAX_ERROR_CHARS = 500


class BadWebhook(ValueError):
    pass


def check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BadWebhook(f"url {url!r}: must be an absolute http(s) URL")
    if len(url) > 2048:
        raise BadWebhook("url is longer than 2048 characters")
    return url


def register(engine: sa.Engine, user: str, url: str) -> dict[str, Any]:
    """A new webhook; its signing secret is returned here only."""
    hook = {"id": secrets.token_hex(8), "user": user, "url": check_url(url),
            "secret": f"whsec_{secrets.token_urlsafe(32)}", "created_at": time.time()}
    with engine.begin() as conn:
        conn.execute(webhooks.insert().values(**hook))
    return {k: hook[k] for k in ("id", "url", "secret", "created_at")}


def list_hooks(engine: sa.Engine, user: str) -> list[dict[str, Any]]:
    query = sa.select(webhooks.c.id, webhooks.c.url, webhooks.c.created_at).where(
        webhooks.c.user == user, webhooks.c.deleted_at.is_(None)).order_by(webhooks.c.created_at)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def delete_hook(engine: sa.Engine, user: str, hook_id: str) -> bool:
    """Soft delete (the delivery log keeps referring to it); pending deliveries are not sent any more."""
    with engine.begin() as conn:
        done = conn.execute(webhooks.update().where(
            webhooks.c.id == hook_id, webhooks.c.user == user, webhooks.c.deleted_at.is_(None)
        ).values(deleted_at=time.time())).rowcount
        conn.execute(deliveries.update().where(
            deliveries.c.webhook_id == hook_id, deliveries.c.status == "pending"
        ).values(status="failed", last_error="webhook deleted"))
    return bool(done)


def list_deliveries(engine: sa.Engine, user: str, limit: int = 50) -> list[dict[str, Any]]:
    columns = [deliveries.c[name] for name in (
        "id", "webhook_id", "event_id", "event_type", "video_id", "status", "attempts", "last_status_code",
        "last_error", "created_at", "delivered_at", "next_attempt_at")]
    query = sa.select(*columns).where(deliveries.c.user == user).order_by(deliveries.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        for name in ("created_at", "delivered_at", "next_attempt_at"):
            row[name] = _iso(row[name])
    return rows


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp else None


# ------------------------------------------------------------------------------------------ events

def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, body: bytes, header: str, tolerance_s: float = 300, now: float | None = None) -> bool:
    """What a receiver checks: a valid HMAC over `<t>.<body>` with a timestamp within `tolerance_s`."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def enqueue(engine: sa.Engine, user: str, event_id: str, event_type: str, video_id: str,
            data: dict[str, Any]) -> int:
    """Queue the event for each of the user's webhooks; an event already queued is not queued again.
    Returns how many deliveries were added."""
    now = time.time()
    added = 0
    with engine.connect() as conn:
        hook_ids = [row.id for row in conn.execute(
            sa.select(webhooks.c.id).where(webhooks.c.user == user, webhooks.c.deleted_at.is_(None)))]
    for hook_id in hook_ids:
        payload = json.dumps({"id": event_id, "type": event_type, "created_at": now, "data": data},
                             separators=(",", ":"), default=str)
        try:
            with engine.begin() as conn:
                conn.execute(deliveries.insert().values(
                    webhook_id=hook_id, user=user, event_id=event_id, event_type=event_type, video_id=video_id,
                    payload=payload, status="pending", attempts=0, next_attempt_at=now, created_at=now))
            added += 1
        except sa.exc.IntegrityError:
            continue  # this webhook already has this event
    return added


Sender = Callable[[str, bytes, dict[str, str], float], int]


def http_send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    response = httpx.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    return response.status_code


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def _claim(engine: sa.Engine, delivery_id: int, now: float) -> bool:
    with engine.begin() as conn:
        claimed = conn.execute(deliveries.update().where(
            deliveries.c.id == delivery_id, deliveries.c.status == "pending",
            sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        ).values(claimed_until=now + CLAIM_S)).rowcount
    return claimed == 1


def deliver_due(engine: sa.Engine, settings: ApiSettings, send: Sender = http_send, limit: int = 100,
                log: Callable[[str], None] | None = None) -> DeliveryReport:
    """Send every pending delivery whose time has come; failures back off (base * 2^(attempt-1))."""
    now = time.time()
    report = DeliveryReport()
    query = (sa.select(deliveries, webhooks.c.url, webhooks.c.secret)
             .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
             .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                    webhooks.c.deleted_at.is_(None))
             .order_by(deliveries.c.id).limit(limit))
    with engine.connect() as conn:
        due = list(conn.execute(query))
    for row in due:
        if not _claim(engine, row.id, now):
            continue  # someone else is sending it
        body = row.payload.encode()
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(row.secret, timestamp, body),
                   TIMESTAMP_HEADER: str(timestamp), EVENT_ID_HEADER: row.event_id,
                   "User-Agent": "vidassets-webhooks/1"}
        code: int | None = None
        error: str | None = None
        try:
            code = send(row.url, body, headers, settings.webhook_timeout_s)
            if not 200 <= code < 300:
                error = f"receiver answered HTTP {code}"
        except (httpx.HTTPError, OSError) as err:
            error = f"{type(err).__name__}: {err}"[:MAX_ERROR_CHARS]
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status_code": code, "last_error": error,
                                  "claimed_until": None}
        if error is None:
            values.update(status="delivered", delivered_at=time.time())
            report.delivered += 1
        elif attempts >= settings.webhook_max_attempts:
            values.update(status="failed")
            report.failed += 1
        else:
            values.update(next_attempt_at=time.time() + settings.webhook_backoff_s * 2 ** (attempts - 1))
            report.retrying += 1
        if log:
            log(f"webhook {row.webhook_id} event {row.event_id} attempt {attempts}: {error or 'delivered'}")
        with engine.begin() as conn:
            conn.execute(deliveries.update().where(deliveries.c.id == row.id).values(**values))
    return report
