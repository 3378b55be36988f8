"""One tenant cannot stall or break webhooks for the others (issue 17): a receiver that drips its answer is cut at
the delivery deadline (wall time, not per read) and another user's delivery is sent in the same pass; URLs that can
never be sent fail at once with the reason and do not hold back what is queued after them; per-user caps on
webhooks and on deliveries in flight; deleting another user's webhook changes nothing; a receiver's signature
check never raises."""

from __future__ import annotations

import dataclasses
import time

import httpx

from vidassets.api import outbound, webhooks
from vidassets.procs import LOOPBACK
from vidassets_tests.security import webhook_stack
from vidassets_tests.security.webhook_stack import DripServer, Listener

hook_stack = webhook_stack.hook_stack  # the module's fixture
DEADLINE_S = 1.5
SLACK_S = 1.0  # thread start-up and a busy shared CPU


def test_dripping_receivers_are_cut_at_the_deadline_and_others_go_in_turn(hook_stack):
    settings = dataclasses.replace(hook_stack.strict, webhook_timeout_s=DEADLINE_S,
                                   webhook_allow_private=outbound.parse_allow_list(LOOPBACK))
    with DripServer(interval_s=0.5) as drip, Listener() as fast:
        slow_hooks = [hook_stack.legacy_hook("dripper", f"{drip.url}/{n}") for n in range(3)]
        fast_hook = hook_stack.legacy_hook("bystander", fast.url)
        hook_stack.event("dripper")  # queued first
        hook_stack.event("bystander")
        started = time.monotonic()
        report = webhooks.deliver_due(hook_stack.engine, settings)
        wall = time.monotonic() - started

    assert (report.delivered, report.retrying) == (1, 3)
    assert drip.connections == 3
    assert wall < 3 * DEADLINE_S + SLACK_S, f"three dripping receivers held the pass {wall:.1f} s"
    assert fast.received[0].at - started < DEADLINE_S + SLACK_S, "the bystander waited behind the dripper"
    log = hook_stack.deliveries("dripper")
    for hook_id in slow_hooks:
        assert log[hook_id]["status"] == "pending" and "deadline" in log[hook_id]["last_error"]
    assert hook_stack.deliveries("bystander")[fast_hook]["status"] == "delivered"


def test_a_backlog_does_not_crowd_others_out_of_a_pass(hook_stack):
    """A pass sends at most `limit` deliveries: the oldest backlog of one user does not fill it."""
    with Listener() as receiver:
        for n in range(3):
            hook_stack.legacy_hook("backlog", f"{receiver.url}/{n}")
        late = hook_stack.legacy_hook("latecomer", receiver.url)
        hook_stack.event("backlog")
        hook_stack.event("latecomer")
        report = webhooks.deliver_due(hook_stack.engine, hook_stack.pinned_for(receiver.port), limit=2)
        assert report.delivered == 2
        assert hook_stack.deliveries("latecomer")[late]["status"] == "delivered"
        assert webhooks.deliver_due(hook_stack.engine, hook_stack.pinned_for(receiver.port)).delivered == 2


def test_urls_that_cannot_be_sent_fail_with_the_reason_and_block_nothing(hook_stack):
    """Rows an older database holds (registration once accepted them): each raised on every tick and stayed
    pending, holding back the deliveries after it."""
    bad = ["http://a\x00b/", "http://xn--zz/", "http://[::1", "http://a\u2100b.com/", "http://2130706433/"]
    bad_hooks = {hook_stack.legacy_hook("legacy", url): url for url in bad}
    good_hook = hook_stack.legacy_hook("legacy", hook_stack.receiver.url)
    hook_stack.event("legacy")
    report = webhooks.deliver_due(hook_stack.engine, hook_stack.pinned)
    assert (report.delivered, report.failed, report.retrying) == (1, len(bad), 0)
    log = hook_stack.deliveries("legacy")
    for hook_id in bad_hooks:
        assert log[hook_id]["status"] == "failed" and log[hook_id]["attempts"] == 1
        assert log[hook_id]["last_error"].startswith("not sent: url ")
    assert log[good_hook]["status"] == "delivered"
    assert webhooks.deliver_due(hook_stack.engine, hook_stack.pinned) == webhooks.DeliveryReport()


def test_two_hundred_registrations_stop_at_the_cap(hook_stack):
    headers = hook_stack.auth("hoarder")
    codes = [hook_stack.register(hook_stack.strict_api, headers, f"http://93.184.215.14/hooks/{n}").status_code
             for n in range(200)]
    cap = hook_stack.strict.webhook_max_per_user
    assert codes == [201] * cap + [409] * (200 - cap)
    assert len(hook_stack.hooks_of(headers)) == cap
    response = hook_stack.register(hook_stack.strict_api, headers, "http://93.184.215.14/one-more")
    assert "limit" in response.json()["detail"]
    other = hook_stack.auth("neighbour")
    assert hook_stack.register(hook_stack.strict_api, other, "http://93.184.215.14/hooks").status_code == 201

    first = hook_stack.hooks_of(headers)[0]["id"]
    assert httpx.delete(f"{hook_stack.strict_api.url}/v1/webhooks/{first}", headers=headers).status_code == 204
    assert hook_stack.register(hook_stack.strict_api, headers, "http://93.184.215.14/again").status_code == 201


def test_deliveries_in_flight_are_capped_per_user(hook_stack):
    settings = dataclasses.replace(hook_stack.strict, webhook_max_pending=3)
    hook_id = hook_stack.legacy_hook("flooder", "http://93.184.215.14/hooks")
    for _ in range(5):
        hook_stack.event("flooder", settings)
    log = webhooks.list_deliveries(hook_stack.engine, "flooder")
    assert sorted(entry["status"] for entry in log) == ["failed"] * 2 + ["pending"] * 3
    assert all("in flight" in entry["last_error"] for entry in log if entry["status"] == "failed")
    assert {entry["webhook_id"] for entry in log} == {hook_id}
    hook_stack.legacy_hook("calm", "http://93.184.215.14/calm")
    hook_stack.event("calm", settings)
    assert [e["status"] for e in webhooks.list_deliveries(hook_stack.engine, "calm")] == ["pending"]


def test_deleting_another_users_webhook_changes_nothing(hook_stack):
    owner, intruder = hook_stack.auth("olive"), hook_stack.auth("ivan")
    hook = hook_stack.register(hook_stack.strict_api, owner, "http://93.184.215.14/olive").json()
    hook_stack.event("olive")
    url = f"{hook_stack.strict_api.url}/v1/webhooks/{hook['id']}"
    assert httpx.delete(url, headers=intruder).status_code == 404
    assert hook_stack.deliveries("olive")[hook["id"]]["status"] == "pending"
    assert [h["id"] for h in hook_stack.hooks_of(owner)] == [hook["id"]]
    assert httpx.delete(url, headers=owner).status_code == 204
    entry = hook_stack.deliveries("olive")[hook["id"]]
    assert entry["status"] == "failed" and entry["last_error"] == "webhook deleted"


def test_verify_signature_refuses_odd_signatures_without_raising():
    secret, body, now = "whsec_test", b'{"id":"e"}', time.time()
    good = webhooks.sign(secret, int(now), body)
    assert webhooks.verify_signature(secret, body, good, now=now)
    timestamp = good.split(",")[0]
    for header in (f"{timestamp},v1=\u00e9\u00e9", f"{timestamp},v1=\ud800", "t=\u0661\u0662\u0663,v1=00",
                   "t=-5,v1=00", "", "v1=00", "t=,v1=", f"{timestamp},v1={'0' * 64}"):
        assert webhooks.verify_signature(secret, body, header, now=now) is False, header
