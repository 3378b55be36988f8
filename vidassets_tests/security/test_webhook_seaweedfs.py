"""Regression tests on a real SeaweedFS for the two webhook attacks of issue 17: a webhook to the filer with
`?mv.from=` moved another user's upload into the attacker's prefix, and one to the master's `/col/delete` destroyed a
bucket's data. Each test first shows the request really does that (on objects of its own), then that the platform
refuses to send it: at registration, and at send for a row that an older database still holds, with the shipped
settings and with loopback allowed for another port. The server is this module's own `weed mini`: the collection
delete really breaks the server it is sent to, so it must not be the session's, which every later test uses."""

from __future__ import annotations

import secrets

import httpx
import pytest
from botocore.exceptions import ClientError

from vidassets.api import webhooks
from vidassets.devstack.seaweed import SeaweedS3
from vidassets.procs import LOOPBACK
from vidassets_tests.security import webhook_stack

hook_stack = webhook_stack.hook_stack  # the module's fixture
CLIP = b"the victim's video bytes"


def _keys(client, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def _refused_everywhere(stack, user: str, url: str) -> None:
    """Registration refuses `url` on both APIs; a legacy row with it fails at send under both settings."""
    headers = stack.auth(user)
    for api in (stack.strict_api, stack.pinned_api):
        response = stack.register(api, headers, url)
        assert response.status_code == 422 and "loopback" in response.json()["detail"], response.text
    hook_id = stack.legacy_hook(user, url)
    for settings in (stack.strict, stack.pinned):
        stack.event(user)
        assert webhooks.deliver_due(stack.engine, settings).failed == 1
        entry = stack.deliveries(user)[hook_id]
        assert entry["status"] == "failed" and entry["last_error"].startswith("not sent:"), entry


@pytest.fixture(scope="module")
def own_s3(tmp_path_factory):
    with SeaweedS3(tmp_path_factory.mktemp("sec-weed"), s3_port=None) as server:
        yield server


@pytest.fixture
def victim_bucket(own_s3) -> str:
    bucket = f"sec-victim-{secrets.token_hex(3)}"
    own_s3.client().create_bucket(Bucket=bucket)
    return bucket


def test_filer_move_cannot_be_sent(hook_stack, own_s3, victim_bucket):
    client = own_s3.client()
    filer = f"http://{LOOPBACK}:{own_s3.ports['filer.port']}"
    client.put_object(Bucket=victim_bucket, Key="uploads/victim/u0/bait.mp4", Body=CLIP)
    client.put_object(Bucket=victim_bucket, Key="uploads/victim/u1/clip.mp4", Body=CLIP)

    # The attack is real: a POST like a webhook's moves the bait into the attacker's prefix.
    bait = f"{filer}/buckets/{victim_bucket}/uploads/mallory/u9/?mv.from=/buckets/{victim_bucket}/uploads/victim/u0/"
    assert httpx.post(bait + "bait.mp4", json={"type": "video.completed"}).status_code < 300
    assert _keys(client, victim_bucket, "uploads/") == ["uploads/mallory/u9/bait.mp4", "uploads/victim/u1/clip.mp4"]

    _refused_everywhere(hook_stack, "mallory-filer", bait.replace("u0/", "u1/") + "clip.mp4")
    assert _keys(client, victim_bucket, "uploads/victim/") == ["uploads/victim/u1/clip.mp4"]
    assert client.get_object(Bucket=victim_bucket, Key="uploads/victim/u1/clip.mp4")["Body"].read() == CLIP
    assert _keys(client, victim_bucket, "uploads/mallory/") == ["uploads/mallory/u9/bait.mp4"]


def test_master_collection_delete_cannot_be_sent(hook_stack, own_s3, victim_bucket):
    client = own_s3.client(retries={"max_attempts": 1})
    master = f"http://{LOOPBACK}:{own_s3.ports['master.port']}"
    doomed = f"sec-doomed-{secrets.token_hex(3)}"
    client.create_bucket(Bucket=doomed)
    client.put_object(Bucket=doomed, Key="a/b.bin", Body=CLIP)
    client.put_object(Bucket=victim_bucket, Key="uploads/victim/u1/clip.mp4", Body=CLIP)

    # The attack is real: the master drops a bucket's collection, its objects cannot be read any more.
    assert httpx.post(f"{master}/col/delete?collection={doomed}", json={}).status_code < 300
    with pytest.raises(ClientError):
        client.get_object(Bucket=doomed, Key="a/b.bin")["Body"].read()

    _refused_everywhere(hook_stack, "mallory-master", f"{master}/col/delete?collection={victim_bucket}")
    assert client.get_object(Bucket=victim_bucket, Key="uploads/victim/u1/clip.mp4")["Body"].read() == CLIP
