"""The API's own tables (key hashes and limits, upload records, webhooks, delivery log) via SQLAlchemy: sqlite
beside the Dagster instance locally, Postgres in production. Video status is never stored here.

Tables are only ever added, never altered (`create_all` has no migrations): a new per-key setting gets its own
table keyed by key id rather than a column on an existing table.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path

import sqlalchemy as sa

metadata = sa.MetaData()
SQLITE_BUSY_SECONDS = 30  # how long an sqlite connection waits for another process's write lock

api_keys = sa.Table(
    "vidassets_api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user", sa.String(64), nullable=False, index=True),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),  # shown in listings; not the secret
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the key
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

key_limits = sa.Table(
    "vidassets_api_key_limits", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("max_priority", sa.Integer, nullable=True),  # None: the API's default maximum
)

uploads = sa.Table(
    # Written when POST /v1/uploads issues a ticket: who owns a video is read here, never from run tags.
    "vidassets_uploads", metadata,
    sa.Column("video_id", sa.String(80), primary_key=True),
    sa.Column("user", sa.String(64), nullable=False, index=True),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("bucket", sa.String(255), nullable=False),
    sa.Column("object_key", sa.String(1024), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # when the presigned PUT URL stops working
)

reprocess_claims = sa.Table(
    # One reprocess submission at a time per video: the row is held while the run is being submitted.
    "vidassets_reprocess_claims", metadata,
    sa.Column("video_id", sa.String(80), primary_key=True),
    sa.Column("claimed_at", sa.Float, nullable=False),
)

api_secrets = sa.Table(
    "vidassets_api_secrets", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)

webhooks = sa.Table(
    "vidassets_webhooks", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user", sa.String(64), nullable=False, index=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),  # needed to sign; shown once at registration
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("deleted_at", sa.Float, nullable=True),
)

deliveries = sa.Table(
    "vidassets_webhook_deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.String(32), nullable=False, index=True),
    sa.Column("user", sa.String(64), nullable=False, index=True),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("video_id", sa.String(80), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("claimed_until", sa.Float, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float, nullable=True),
    sa.UniqueConstraint("webhook_id", "event_id", name="uq_delivery_per_event"),  # never delivered twice
)

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


CREATE_LOCK_ID = 0x76696461  # pg_advisory_xact_lock key: "vida"; serialises first starts on PostgreSQL


def engine_for(url: str) -> sa.Engine:
    """One engine per URL and process, tables created on first use (safe when several processes start at once)."""
    with _lock:
        if url not in _engines:
            if url.startswith("sqlite"):
                _private_sqlite_file(url)
                connect_args = {"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False}
                engine = sa.create_engine(url, connect_args=connect_args)
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            create_tables(engine)
            _engines[url] = engine
        return _engines[url]


def create_tables(engine: sa.Engine) -> None:
    """`create_all` under a lock: two API processes starting together on an empty PostgreSQL database would
    otherwise both see a table missing and one fail on the other's CREATE (and sqlite on "already exists")."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": CREATE_LOCK_ID})
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before looking, so the check-then-create is atomic
        metadata.create_all(conn)


def _private_sqlite_file(url: str) -> None:
    """The sqlite file holds the view-token and webhook secrets: created (or tightened to) mode 0600, and its WAL
    and shared-memory files with it (sqlite gives those the database file's mode)."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):  # absent, or another user's file
            os.chmod(candidate, 0o600)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """WAL: the API and the daemon's webhook sensors read and write the same file."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    # Switching to WAL upgrades a read lock, and SQLite answers that with "database is locked" at once, without its
    # busy handler, while another process writes the file (a first start, a webhook sensor): so wait here.
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.close()
