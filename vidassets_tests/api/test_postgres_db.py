"""The API's tables on PostgreSQL (production), not only sqlite: keys by hash, webhook events queued once."""

from __future__ import annotations

import pytest

from vidassets.api import webhooks
from vidassets.api.auth import create_key, revoke_key, server_secret, user_for_key
from vidassets.api.db import engine_for
from vidassets.api.outbound import parse_allow_list
from vidassets.api.settings import ApiSettings
from vidassets_tests.deploy.servers import PostgresServer, postgres_bin_dir


@pytest.fixture(scope="module")
def pg_url():
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (pgserver wheel or apt postgresql)")
    with PostgresServer(bin_dir) as server:
        name = server.create_database("vidassets_api")
        yield f"postgresql+psycopg2://{server.user}:{server.password}@{server.host}:{server.port}/{name}"


def test_keys_and_webhook_log_on_postgres(pg_url):
    engine = engine_for(pg_url)
    key, _ = create_key(engine, "frank")
    assert user_for_key(engine, key) == "frank"
    assert server_secret(engine) == server_secret(engine)
    settings = ApiSettings(webhook_backoff_s=60, webhook_allow_private=parse_allow_list("127.0.0.1"))
    hook = webhooks.register(engine, settings, "frank", "http://127.0.0.1:9/nowhere")
    event = ("frank", "run-1.success", "video.completed", "v-0123456789ab", {})
    assert webhooks.enqueue(engine, *event, max_pending=settings.webhook_max_pending) == 1
    assert webhooks.enqueue(engine, *event, max_pending=settings.webhook_max_pending) == 0
    sent: list[str] = []
    report = webhooks.deliver_due(engine, settings, send=lambda url, body, headers, timeout: sent.append(url) or 204)
    assert report.delivered == 1 and sent == [hook["url"]]
    assert webhooks.deliver_due(engine, settings, send=lambda *a: 500).delivered == 0  # nothing left to send
    [entry] = webhooks.list_deliveries(engine, "frank")
    assert entry["status"] == "delivered" and entry["attempts"] == 1
    revoke_key(engine, key)
    with pytest.raises(ValueError, match="revoked"):
        user_for_key(engine, key)
