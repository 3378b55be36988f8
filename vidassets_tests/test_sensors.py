"""The S3 sensor against a real SeaweedFS server and a real Dagster instance; the warehouse sensor over real runs."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import dagster as dg

from vidassets.definitions import defs
from vidassets.partitions import videos_partitions
from vidassets.sensors import Cursor, ListedObject, s3_video_sensor, select_new, video_tables_after_runs
from vidassets.sources import TAG_KEY, SourceRef
from vidassets.video_ids import is_video_id, video_id_for

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _obj(key: str, second: int, etag: str = "e") -> ListedObject:
    return ListedObject(key, etag, 10, T0 + timedelta(seconds=second))


def _tick(instance, resources, cursor=None) -> dg.SensorResult:
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return s3_video_sensor(context)


def _upload(client, bucket: str, keys: list[str], body: bytes = b"x") -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=body), keys))


def test_select_new_handles_same_second_and_limits():
    objects = [_obj(f"uploads/{i}.mp4", second=0) for i in range(5)] + [_obj("uploads/late.mp4", 1)]
    first, cursor = select_new(objects, Cursor(), limit=3)
    assert [o.key for o in first] == ["uploads/0.mp4", "uploads/1.mp4", "uploads/2.mp4"]
    # A fourth object arrives in the same second as the watermark: it must not be missed.
    objects.append(_obj("uploads/0b.mp4", second=0))
    second, cursor = select_new(objects, Cursor.parse(cursor.serialize()), limit=3)
    assert [o.key for o in second] == ["uploads/0b.mp4", "uploads/3.mp4", "uploads/4.mp4"]
    third, cursor = select_new(objects, cursor, limit=3)
    assert [o.key for o in third] == ["uploads/late.mp4"]
    # Deleted objects just disappear from the listing; nothing else changes.
    assert select_new(objects[2:], cursor, limit=3) == ([], cursor)
    # Re-upload: new LastModified and etag.
    reuploaded, _ = select_new([*objects, _obj("uploads/1.mp4", 5, etag="f")], cursor, limit=3)
    assert [o.object_id for o in reuploaded] == ["uploads/1.mp4@f"]


def test_two_pass_cursor_adds_partitions_and_runs(s3_server, bucket, resources, instance, capfd):
    client = s3_server.client()
    _upload(client, bucket, ["uploads/a.mp4", "uploads/b.MOV", "uploads/readme.txt", "uploads/folder/"])
    client.put_object(Bucket=bucket, Key="elsewhere/c.mp4", Body=b"x")

    result = _tick(instance, resources)
    keys = sorted(r.tags[TAG_KEY] for r in result.run_requests)
    assert keys == ["uploads/a.mp4", "uploads/b.MOV"]
    (add_request,) = result.dynamic_partitions_requests
    assert add_request.partitions_def_name == "videos"
    assert sorted(add_request.partition_keys) == sorted(r.partition_key for r in result.run_requests)
    for request in result.run_requests:
        ref = SourceRef.from_tags(request.tags)
        assert request.partition_key == video_id_for(bucket, ref.key) == ref.video_id
        assert request.run_key == f"{ref.key}@{ref.etag}"
        assert ref.source_uri == f"s3://{bucket}/{ref.key}"
    assert "uploads/readme.txt: not a video file extension" in capfd.readouterr().err

    again = _tick(instance, resources, cursor=result.cursor)
    assert again.run_requests == []


def test_1200_objects_page_and_same_second(s3_server, bucket, resources, instance):
    client = s3_server.client()
    keys = [f"uploads/batch/video-{i:04d}.mp4" for i in range(1200)]
    _upload(client, bucket, keys)

    # At most max_runs_per_tick (500) a tick, oldest first: three ticks take the 1,200, each exactly once.
    limit = resources["uploads"].max_runs_per_tick
    taken: list[str] = []
    partitions: set[str] = set()
    cursor = None
    for _ in range(-(-len(keys) // limit)):
        started = time.monotonic()
        result = _tick(instance, resources, cursor=cursor)
        tick_s = time.monotonic() - started
        print(f"sensor tick over 1,200 new objects: {len(result.run_requests)} runs in {tick_s:.2f}s")
        assert 0 < len(result.run_requests) <= limit
        taken += [r.tags[TAG_KEY] for r in result.run_requests]
        partitions |= {r.partition_key for r in result.run_requests}
        cursor = result.cursor
    assert sorted(taken) == keys and len(partitions) == 1200

    started = time.monotonic()
    idle = _tick(instance, resources, cursor=cursor)
    print(f"idle sensor tick over 1,200 objects: {time.monotonic() - started:.2f}s")
    assert idle.run_requests == []

    # More uploads, some certainly inside the watermark's second, plus a deletion.
    client.delete_object(Bucket=bucket, Key=keys[0])
    late = [f"uploads/batch/late-{i}.mp4" for i in range(5)]
    _upload(client, bucket, late)
    nxt = _tick(instance, resources, cursor=idle.cursor)
    assert sorted(r.tags[TAG_KEY] for r in nxt.run_requests) == late


def test_reupload_with_new_content_runs_again_unchanged_does_not(s3_server, bucket, resources, instance):
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="uploads/talk.mp4", Body=b"version one")
    first = _tick(instance, resources)
    (request,) = first.run_requests

    time.sleep(1.1)  # S3 LastModified has one-second resolution
    client.put_object(Bucket=bucket, Key="uploads/talk.mp4", Body=b"version two")
    changed = _tick(instance, resources, cursor=first.cursor)
    (rerun,) = changed.run_requests
    assert rerun.partition_key == request.partition_key
    assert rerun.run_key != request.run_key

    time.sleep(1.1)
    client.put_object(Bucket=bucket, Key="uploads/talk.mp4", Body=b"version two")
    same = _tick(instance, resources, cursor=changed.cursor)
    # Same bytes, same etag: the run key repeats, so Dagster never launches it twice.
    assert [r.run_key for r in same.run_requests] in ([], [rerun.run_key])


def test_hostile_keys_map_to_safe_partitions(s3_server, bucket, resources, instance):
    hostile = [
        "uploads/my talk (final) v2.mp4",
        "uploads/日本語 ビデオ.mp4",
        "uploads/../../etc/passwd.mp4",
        # ~1,000 characters (S3 allows 1,024 bytes; SeaweedFS 255 bytes per path segment).
        "uploads/" + "/".join(["x" * 162] * 6) + "/ünïcode talk.mp4",
        "uploads/$(touch pwned);'\".mp4",
    ]
    client = s3_server.client()
    for key in list(hostile):
        try:
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
        except client.exceptions.ClientError:  # SeaweedFS refuses `..` segments; AWS S3 accepts them
            hostile.remove(key)
    assert len(hostile) == 4 and max(map(len, hostile)) >= 990
    result = _tick(instance, resources)
    assert len(result.run_requests) == len(hostile)
    for request in result.run_requests:
        assert is_video_id(request.partition_key), request.partition_key
        assert len(request.partition_key) <= 48 + 1 + 12
        assert "/" not in request.partition_key and ".." not in request.partition_key
    assert sorted(r.tags[TAG_KEY] for r in result.run_requests) == sorted(hostile)


@dg.asset(name="source_video", partitions_def=videos_partitions)
def stand_in(context: dg.AssetExecutionContext) -> None:
    """A stand-in for the pipeline's first asset whose run ends as told: the warehouse sensor looks at which
    assets a run materializes and how it ends, not at what the assets compute."""
    if context.partition_key.startswith("fails"):
        raise RuntimeError("this video fails")


def _tables_tick(instance, cursor):
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        return video_tables_after_runs(context)


def test_every_run_ended_since_the_last_tick_gets_its_warehouse_run_in_one_tick(instance):
    videos = ["ok-a-0123456789ab", "ok-b-0123456789ab", "fails-0123456789ab", "fails-retried-0123456789ab"]
    instance.add_dynamic_partitions(videos_partitions.name, videos)
    first = _tables_tick(instance, None)
    assert first.run_requests == [], "the first tick only marks where it starts"
    ended = {}
    for video in videos:
        tags = {"dagster/will_retry": "true"} if "retried" in video else {}
        result = dg.materialize([stand_in], partition_key=video, instance=instance, tags=tags, raise_on_error=False)
        ended[video] = result.run_id
    warehouse_run = instance.create_run_for_job(defs.resolve_job_def("video_tables_job"),
                                                tags={"dagster/partition": videos[0]})
    instance.report_run_failed(warehouse_run)  # the warehouse's own runs never ask for another

    tick = _tables_tick(instance, first.cursor)
    assert sorted((r.partition_key, r.run_key) for r in tick.run_requests) == sorted(
        (video, f"tables-{ended[video]}") for video in videos if "retried" not in video)
    assert _tables_tick(instance, tick.cursor).run_requests == [], "each ended run is handled once"
