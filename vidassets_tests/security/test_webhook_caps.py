"""The per-user webhook caps hold under concurrency (issue 17): two registrations (or two events) racing for the
last place must not both pass the count check. The race is forced, not hoped for: each racer's count query waits
until the other racer has counted too (or a timeout, when the other is held back by the lock that serialises
them), so without the lock both see room and both insert. On sqlite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from vidassets.api import webhooks
from vidassets.api.db import deliveries, engine_for
from vidassets.api.db import webhooks as webhooks_table
from vidassets.api.settings import ApiSettings
from vidassets_tests.deploy.servers import PostgresServer, postgres_bin_dir

PUBLIC_URL = "http://93.184.215.14/hooks"  # an IP literal: registration resolves nothing
RACE_WAIT_S = 1.5


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('caps')}/api.sqlite"
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (pgserver wheel or apt postgresql)")
    with PostgresServer(bin_dir) as server:
        name = server.create_database("vidassets_caps")
        yield f"postgresql+psycopg2://{server.user}:{server.password}@{server.host}:{server.port}/{name}"


def _race(engine: sa.Engine, table: sa.Table, racers: list[Callable[[], object]]) -> list[object]:
    """Run `racers` in threads; each one's count over `table` waits for the others' counts (up to RACE_WAIT_S)."""
    barrier = threading.Barrier(len(racers))

    def after_execute(conn, clauseelement, multiparams, params, execution_options, result) -> None:  # noqa: ANN001
        if (isinstance(clauseelement, sa.Select) and "count" in str(clauseelement).lower()
                and table.name in str(clauseelement)):
            # Broken: the others wait for the lock this transaction holds, so the race is prevented.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(RACE_WAIT_S)

    outcomes: list[object] = [None] * len(racers)

    def run(index: int) -> None:
        try:
            outcomes[index] = racers[index]()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test compares
            outcomes[index] = error

    sa.event.listen(engine, "after_execute", after_execute)
    try:
        threads = [threading.Thread(target=run, args=(n,)) for n in range(len(racers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sa.event.remove(engine, "after_execute", after_execute)
    return outcomes


def test_two_registrations_racing_for_the_last_place(db_url):
    engine = engine_for(db_url)
    settings = ApiSettings(webhook_max_per_user=3)
    user = "racer"
    for n in range(settings.webhook_max_per_user - 1):
        webhooks.register(engine, settings, user, f"{PUBLIC_URL}/{n}")
    outcomes = _race(engine, webhooks_table, [
        lambda n=n: webhooks.register(engine, settings, user, f"{PUBLIC_URL}/late{n}") for n in range(2)])
    refused = [o for o in outcomes if isinstance(o, webhooks.TooManyWebhooks)]
    assert len(refused) == 1, outcomes
    assert len(webhooks.list_hooks(engine, user)) == settings.webhook_max_per_user


def test_two_events_racing_for_the_last_delivery_in_flight(db_url):
    engine = engine_for(db_url)
    settings = ApiSettings(webhook_max_pending=2)
    user = "flood-racer"
    webhooks.register(engine, settings, user, PUBLIC_URL)
    webhooks.enqueue(engine, user, "run-0.success", "video.completed", "v-0123456789ab", {},
                     max_pending=settings.webhook_max_pending)
    outcomes = _race(engine, deliveries, [
        lambda n=n: webhooks.enqueue(engine, user, f"run-{n + 1}.success", "video.completed", "v-0123456789ab",
                                     {}, max_pending=settings.webhook_max_pending) for n in range(2)])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    statuses = sorted(entry["status"] for entry in webhooks.list_deliveries(engine, user))
    assert statuses == ["failed", "pending", "pending"]
