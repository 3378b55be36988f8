"""Webhooks: registration, HMAC-SHA256 signed events, retries with exponential backoff, and a delivery log.

An event is queued once per (webhook, event id) — a unique constraint, so a sensor evaluated twice for the same
run end never delivers twice. Sending is claim, then send: `claim_due` takes due deliveries with a lease (a
conditional UPDATE of `claimed_until`, whose value is the claim's token) and `send_claimed` sends only for the
current token, so concurrent senders never post the same delivery twice and a sender given up on (its lease
over, the delivery claimed again) records nothing. The sensors (`vidassets/sensors/webhooks.py`) hand claims to
the `cpu` workers (`dispatch_due`, `vidassets/workers/webhook_tasks.py`), whose task calls `send_claimed`; this
module is Dagster- and Celery-free, and the database is the record: a claim whose task was lost is due again when
its lease runs out.

Signature: `X-Vidassets-Signature: t=<unix seconds>,v1=<hex hmac_sha256(secret, "<t>.<raw body>")>`, plus
`X-Vidassets-Timestamp` and `X-Vidassets-Event-Id` (deliveries retry with the same id: receivers deduplicate on
it). `verify_signature` is what a receiver runs.

Where a webhook may point is `outbound.py`'s rule, checked at registration and again at every send; a URL that may
not be sent to fails its delivery at once with the reason, a send that does not end by the deadline is retried.
A user has at most `webhook_max_per_user` webhooks and `webhook_max_pending` deliveries in flight (counted under
the user's lock, `_lock_user`) and `webhook_sending_per_user` on the workers at once; each hand-out takes users in
turn, so one user's backlog does not go before another's first event.
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
PASS_BUDGET_S = 40.0  # one `deliver_due` call claims no new delivery after this
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

Submit = Callable[["Claim"], None]
"""Hand a claimed delivery to the workers (`vidassets.workers.webhook_tasks.submitter`); raises when it cannot."""


def http_sender(settings: ApiSettings) -> Sender:
    """The real send: `outbound.post` under the operator's allow-list."""
    def send(url: str, body: bytes, headers: dict[str, str], deadline_s: float) -> int:
        return outbound.post(url, body, headers, settings.webhook_allow_private, deadline_s)
    return send


@dataclass(frozen=True)
class Claim:
    """A due delivery taken for sending. `token` is the `claimed_until` written by the claim: whoever sends must
    present it, so a task that was given up on (lease over, claimed again) finds the token changed and does
    nothing."""

    delivery_id: int
    user: str
    token: float


@dataclass(frozen=True)
class Outcome:
    """What one send did: `delivered`, `failed`, `retrying` (again after `retry_in_s`, under lease `token`) or
    `stale` (not this sender's claim any more: nothing sent)."""

    status: str
    user: str | None = None
    error: str | None = None
    retry_in_s: float | None = None
    token: float | None = None


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def _due_rows(engine: sa.Engine, now: float, limit: int, users: set[str] | None) -> list[sa.Row]:
    """Due, unclaimed deliveries of live webhooks, users in turn: each user's n-th oldest before anyone's
    (n+1)-th, also across `limit`."""
    turn = sa.func.row_number().over(partition_by=deliveries.c.user, order_by=deliveries.c.id).label("turn")
    conditions = [deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                  sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
                  webhooks.c.deleted_at.is_(None)]
    if users is not None:
        conditions.append(deliveries.c.user.in_(sorted(users)))
    due_ids = (sa.select(deliveries.c.id, turn).join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
               .where(*conditions)).subquery()
    query = (sa.select(deliveries.c.id, deliveries.c.user).join(due_ids, due_ids.c.id == deliveries.c.id)
             .order_by(due_ids.c.turn, deliveries.c.id).limit(limit))
    with engine.connect() as conn:
        return list(conn.execute(query))


def _sending(user: str, now: float) -> sa.ColumnElement[bool]:
    """The user's deliveries handed out and not yet reported (a retry waiting for its backoff is not sending)."""
    return sa.and_(deliveries.c.user == user, deliveries.c.status == "pending",
                   deliveries.c.claimed_until >= now, deliveries.c.next_attempt_at <= now)


def _claim(engine: sa.Engine, settings: ApiSettings, delivery_id: int, user: str) -> Claim | None:
    """Claim one delivery for `webhook_lease_s`, unless someone else has, or the user already has
    `webhook_sending_per_user` deliveries out (counted and claimed atomically, under the user's lock)."""
    now = time.time()
    token = now + settings.webhook_lease_s
    with engine.begin() as conn:
        _lock_user(conn, "sending", user)
        sending = conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(
            _sending(user, now))).scalar_one()
        if sending >= settings.webhook_sending_per_user:
            return None
        claimed = conn.execute(deliveries.update().where(
            deliveries.c.id == delivery_id, deliveries.c.status == "pending",
            sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        ).values(claimed_until=token)).rowcount
    return Claim(delivery_id, user, token) if claimed == 1 else None


def claim_due(engine: sa.Engine, settings: ApiSettings, limit: int = 100,
              users: set[str] | None = None) -> list[Claim]:
    """Claim deliveries whose time has come (of `users` only, when given), users in turn, at most
    `webhook_sending_per_user` out per user. A claim not reported within its lease is due again."""
    claims = []
    full: set[str] = set()
    for row in _due_rows(engine, time.time(), limit, users):
        if row.user in full:
            continue
        claim = _claim(engine, settings, row.id, row.user)
        if claim is None:
            full.add(row.user)  # or taken by another claimer: the next pass looks again
            continue
        claims.append(claim)
    return claims


def release(engine: sa.Engine, claim: Claim) -> None:
    """Give a claim back at once (the workers could not be reached): due again on the next pass."""
    with engine.begin() as conn:
        conn.execute(deliveries.update().where(
            deliveries.c.id == claim.delivery_id, deliveries.c.claimed_until == claim.token,
        ).values(claimed_until=None))


def dispatch_due(engine: sa.Engine, settings: ApiSettings, submit: Submit, limit: int = 100,
                 users: set[str] | None = None) -> int:
    """Claim due deliveries and hand each to the workers; returns how many were handed out. When the workers
    cannot be reached the claims are given back and the pass stops (the database keeps them pending)."""
    claims = claim_due(engine, settings, limit, users)
    for number, claim in enumerate(claims):
        try:
            submit(claim)
        except Exception:
            for unsent in claims[number:]:
                release(engine, unsent)
            raise
    return len(claims)


def send_claimed(engine: sa.Engine, settings: ApiSettings, claim: Claim, send: Sender | None = None,
                 log: Callable[[str], None] | None = None, lease_retry: bool = True) -> Outcome:
    """Send one claimed delivery within `webhook_timeout_s` and record the outcome. A URL that may not be sent to
    fails at once with the reason; other failures are retried with backoff (base * 2^(attempt-1)) until
    `webhook_max_attempts`, the retry's lease covering the wait (`lease_retry`: the caller schedules the retry, as
    the workers do; else it is due again for any pass after the backoff)."""
    send = send or http_sender(settings)
    now = time.time()
    lease = now + max(settings.webhook_lease_s, 2 * settings.webhook_timeout_s)
    query = (sa.select(deliveries, webhooks.c.url, webhooks.c.secret, webhooks.c.deleted_at)
             .join(webhooks, webhooks.c.id == deliveries.c.webhook_id).where(deliveries.c.id == claim.delivery_id))
    with engine.begin() as conn:
        taken = conn.execute(deliveries.update().where(
            deliveries.c.id == claim.delivery_id, deliveries.c.status == "pending",
            deliveries.c.claimed_until == claim.token,
        ).values(claimed_until=lease)).rowcount  # the sending lease: longer than the deadline
        row = conn.execute(query).first() if taken == 1 else None
    if row is None:
        return Outcome("stale")
    code: int | None = None
    error: str | None = None
    final = False
    if row.deleted_at is not None:
        error, final = "webhook deleted", True
    else:
        body = row.payload.encode()
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(row.secret, timestamp, body),
                   TIMESTAMP_HEADER: str(timestamp), EVENT_ID_HEADER: row.event_id,
                   "User-Agent": "vidassets-webhooks/1"}
        try:
            code = send(row.url, body, headers, settings.webhook_timeout_s)
            if not 200 <= code < 300:
                error = f"receiver answered HTTP {code}"
        except outbound.Refused as err:
            error, final = f"not sent: {err}", True
        except OSError as err:
            error = str(err) if isinstance(err, outbound.SendFailed) else f"{type(err).__name__}: {err}"
        except Exception as err:  # noqa: BLE001 - a delivery that cannot be sent fails, it never stays pending
            error, final = f"not sent: {type(err).__name__}: {err}", True
    error = error[:MAX_ERROR_CHARS] if error else None
    attempts = row.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": code, "last_error": error,
                              "claimed_until": None}
    outcome = Outcome("delivered", row.user)
    if error is None:
        values.update(status="delivered", delivered_at=time.time())
    elif final or attempts >= settings.webhook_max_attempts:
        values.update(status="failed")
        outcome = Outcome("failed", row.user, error)
    else:
        wait = settings.webhook_backoff_s * 2 ** (attempts - 1)
        retry_at = time.time() + wait
        token = retry_at + settings.webhook_lease_s if lease_retry else None  # a lost retry: due after its lease
        values.update(next_attempt_at=retry_at, claimed_until=token)
        outcome = Outcome("retrying", row.user, error, wait, token)
    if log:
        log(f"webhook {row.webhook_id} event {row.event_id} attempt {attempts}: {error or 'delivered'}")
    with engine.begin() as conn:
        recorded = conn.execute(deliveries.update().where(
            deliveries.c.id == row.id, deliveries.c.claimed_until == lease).values(**values)).rowcount
    return outcome if recorded == 1 else Outcome("stale", row.user)


def deliver_due(engine: sa.Engine, settings: ApiSettings, send: Sender | None = None, limit: int = 100,
                log: Callable[[str], None] | None = None, budget_s: float = PASS_BUDGET_S) -> DeliveryReport:
    """Send due deliveries in this process, one after another, users in turn: the workers' rules (`_claim`,
    `send_claimed`) without the workers, for in-process test harnesses; retries wait only for their backoff.
    Stops claiming after `budget_s`."""
    started = time.monotonic()
    report = DeliveryReport()
    for number, row in enumerate(_due_rows(engine, time.time(), limit, None)):
        if number and time.monotonic() - started + settings.webhook_timeout_s > budget_s:
            break
        claim = _claim(engine, settings, row.id, row.user)
        if claim is None:
            continue
        outcome = send_claimed(engine, settings, claim, send, log, lease_retry=False)
        report.delivered += outcome.status == "delivered"
        report.failed += outcome.status == "failed"
        report.retrying += outcome.status == "retrying"
    return report
