"""Webhooks: registration, HMAC-SHA256 signed events, retries with exponential backoff, and a delivery log.

An event is queued once per (webhook, event id) — a unique constraint, so a sensor evaluated twice for the same
run end never delivers twice — and sent by whoever claims it first (a conditional UPDATE), so concurrent senders
never post the same delivery twice either. Dagster-free: `vidassets/sensors/webhooks.py` calls these functions.

Signature: `X-Vidassets-Signature: t=<unix seconds>,v1=<hex hmac_sha256(secret, "<t>.<raw body>")>`, plus
`X-Vidassets-Timestamp` and `X-Vidassets-Event-Id` (deliveries retry with the same id: receivers deduplicate on
it). `verify_signature` is what a receiver runs.

Where a webhook may point is `outbound.py`'s rule, checked at registration and again at every send; a URL that may
not be sent to fails its delivery at once with the reason, a send that does not end by the deadline is retried.
A user has at most `webhook_max_per_user` webhooks and `webhook_max_pending` deliveries in flight; each pass over
due deliveries takes users in turn, so one user's backlog does not go before another's first event.
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

import sqlalchemy as sa

from vidassets.api import outbound
from vidassets.api.db import deliveries, webhooks
from vidassets.api.settings import ApiSettings

SIGNATURE_HEADER = "X-Vidassets-Signature"
TIMESTAMP_HEADER = "X-Vidassets-Timestamp"
EVENT_ID_HEADER = "X-Vidassets-Event-Id"
EVENT_TYPES = {"completed": "video.completed", "rejected": "video.rejected", "failed": "video.failed"}
CLAIM_S = 60.0  # how long a claimed delivery is left alone (at least twice the delivery deadline)
PASS_BUDGET_S = 40.0  # one `deliver_due` call claims no new delivery after this (a sensor tick times out at 60 s)
MAX_ERROR_CHARS = 500


class BadWebhook(ValueError):
    """A URL that may not be registered (422)."""


class TooManyWebhooks(BadWebhook):
    """The user has `webhook_max_per_user` webhooks already (409)."""


def check_url(url: str, settings: ApiSettings) -> str:
    """The URL if deliveries may be sent to it now (`outbound.check_destination`), else `BadWebhook` saying why."""
    try:
        outbound.check_destination(url, settings.webhook_allow_private, settings.webhook_timeout_s)
    except outbound.Refused as err:
        raise BadWebhook(str(err)) from None
    except outbound.SendFailed:
        # The same words as for a name that resolves to a private address: no probing of internal names.
        host = outbound.parse_url(url)[1]
        raise BadWebhook(f"url {url!r}: host {host!r} does not resolve to public addresses only") from None
    return url


def register(engine: sa.Engine, settings: ApiSettings, user: str, url: str) -> dict[str, Any]:
    """A new webhook; its signing secret is returned here only."""
    hook = {"id": secrets.token_hex(8), "user": user, "url": check_url(url, settings),
            "secret": f"whsec_{secrets.token_urlsafe(32)}", "created_at": time.time()}
    with engine.begin() as conn:
        _lock_user(conn, "webhooks", user)
        count = conn.execute(sa.select(sa.func.count()).select_from(webhooks).where(
            webhooks.c.user == user, webhooks.c.deleted_at.is_(None))).scalar_one()
        if count >= settings.webhook_max_per_user:
            raise TooManyWebhooks(f"you have {count} webhooks, the limit per user; delete one first")
        conn.execute(webhooks.insert().values(**hook))
    return {k: hook[k] for k in ("id", "url", "secret", "created_at")}


def _lock_user(conn: sa.Connection, scope: str, user: str) -> None:
    """Serialise this transaction with any other on (`scope`, `user`) until it ends, so a count-then-insert cap
    check is atomic: two registrations racing for the last place do not both see room. PostgreSQL: a transaction
    advisory lock on the pair; sqlite: the database's write lock taken before the count (`BEGIN IMMEDIATE`)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:scope), hashtext(:user))"),
                     {"scope": f"vidassets.{scope}", "user": user})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def list_hooks(engine: sa.Engine, user: str) -> list[dict[str, Any]]:
    query = sa.select(webhooks.c.id, webhooks.c.url, webhooks.c.created_at).where(
        webhooks.c.user == user, webhooks.c.deleted_at.is_(None)).order_by(webhooks.c.created_at)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def delete_hook(engine: sa.Engine, user: str, hook_id: str) -> bool:
    """Soft delete (the delivery log keeps referring to it); its pending deliveries are not sent any more.
    Another user's webhook id changes nothing (and answers False, like an unknown id)."""
    with engine.begin() as conn:
        done = conn.execute(webhooks.update().where(
            webhooks.c.id == hook_id, webhooks.c.user == user, webhooks.c.deleted_at.is_(None)
        ).values(deleted_at=time.time())).rowcount
        if done:
            conn.execute(deliveries.update().where(
                deliveries.c.webhook_id == hook_id, deliveries.c.user == user, deliveries.c.status == "pending"
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
        raw_timestamp = fields["t"]
    except (ValueError, KeyError):
        return False
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        return False
    timestamp = int(raw_timestamp)
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    given = fields.get("v1", "")
    if not given.isascii():
        return False  # a hex digest is ASCII (and compare_digest raises on other str)
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected.encode(), given.encode())


def enqueue(engine: sa.Engine, user: str, event_id: str, event_type: str, video_id: str,
            data: dict[str, Any], *, max_pending: int) -> int:
    """Queue the event for each of the user's webhooks; an event already queued is not queued again. Over the
    user's `max_pending` deliveries in flight, the delivery is logged as failed with that reason instead.
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
                _lock_user(conn, "deliveries", user)
                pending = conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                    deliveries.c.user == user, deliveries.c.status == "pending")).scalar_one()
                state: dict[str, Any] = {"status": "pending"}
                if pending >= max_pending:
                    state = {"status": "failed",
                             "last_error": f"not sent: {pending} deliveries of this user in flight (the limit)"}
                conn.execute(deliveries.insert().values(
                    webhook_id=hook_id, user=user, event_id=event_id, event_type=event_type, video_id=video_id,
                    payload=payload, attempts=0, next_attempt_at=now, created_at=now, **state))
            added += 1
        except sa.exc.IntegrityError:
            continue  # this webhook already has this event
    return added


Sender = Callable[[str, bytes, dict[str, str], float], int]
"""(url, body, headers, deadline_s) -> HTTP status; raises `outbound.Refused` (fail now) or an OSError (retry)."""


def http_sender(settings: ApiSettings) -> Sender:
    """The real send: `outbound.post` under the operator's allow-list."""
    def send(url: str, body: bytes, headers: dict[str, str], deadline_s: float) -> int:
        return outbound.post(url, body, headers, settings.webhook_allow_private, deadline_s)
    return send


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def _claim(engine: sa.Engine, delivery_id: int, claim_s: float) -> bool:
    now = time.time()
    with engine.begin() as conn:
        claimed = conn.execute(deliveries.update().where(
            deliveries.c.id == delivery_id, deliveries.c.status == "pending",
            sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        ).values(claimed_until=now + claim_s)).rowcount
    return claimed == 1


def deliver_due(engine: sa.Engine, settings: ApiSettings, send: Sender | None = None, limit: int = 100,
                log: Callable[[str], None] | None = None, budget_s: float = PASS_BUDGET_S) -> DeliveryReport:
    """Send pending deliveries whose time has come, users in turn, each within `webhook_timeout_s`; failures back
    off (base * 2^(attempt-1)), a URL that may not be sent to fails at once. Stops claiming after `budget_s`:
    what is left waits for the next call."""
    send = send or http_sender(settings)
    started = time.monotonic()
    claim_s = max(CLAIM_S, 2 * settings.webhook_timeout_s)
    now = time.time()
    report = DeliveryReport()
    # Users in turn: each user's n-th oldest due delivery before anyone's (n+1)-th, also across `limit`.
    turn = sa.func.row_number().over(partition_by=deliveries.c.user, order_by=deliveries.c.id).label("turn")
    due_ids = (sa.select(deliveries.c.id, turn)
               .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
               .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                      webhooks.c.deleted_at.is_(None))).subquery()
    query = (sa.select(deliveries, webhooks.c.url, webhooks.c.secret)
             .join(due_ids, due_ids.c.id == deliveries.c.id)
             .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
             .order_by(due_ids.c.turn, deliveries.c.id).limit(limit))
    with engine.connect() as conn:
        due = list(conn.execute(query))
    for number, row in enumerate(due):
        if number and time.monotonic() - started + settings.webhook_timeout_s > budget_s:
            break
        if not _claim(engine, row.id, claim_s):
            continue  # someone else is sending it
        body = row.payload.encode()
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(row.secret, timestamp, body),
                   TIMESTAMP_HEADER: str(timestamp), EVENT_ID_HEADER: row.event_id,
                   "User-Agent": "vidassets-webhooks/1"}
        code: int | None = None
        error: str | None = None
        final = False
        try:
            code = send(row.url, body, headers, settings.webhook_timeout_s)
            if not 200 <= code < 300:
                error = f"receiver answered HTTP {code}"
        except outbound.Refused as err:
            error, final = f"not sent: {err}", True
        except OSError as err:
            error = str(err) if isinstance(err, outbound.SendFailed) else f"{type(err).__name__}: {err}"
        except Exception as err:  # noqa: BLE001 - one bad delivery must not stop the others behind it
            error, final = f"not sent: {type(err).__name__}: {err}", True
        error = error[:MAX_ERROR_CHARS] if error else None
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status_code": code, "last_error": error,
                                  "claimed_until": None}
        if error is None:
            values.update(status="delivered", delivered_at=time.time())
            report.delivered += 1
        elif final or attempts >= settings.webhook_max_attempts:
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
