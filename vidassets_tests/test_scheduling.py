"""Corpus scheduling on real parts: SeaweedFS uploads, the sensor daemon's own tick, Dagster's run queue.

Within one priority the longest video (the biggest object) starts first, so it does not run alone at the end while
the other workers idle; a higher priority still goes before it.
"""

import dagster as dg

from vidassets.sources import TAG_KEY
from vidassets.workers.queues import start_order
from vidassets_tests.deploy.harness import dequeue_runs, in_process_code_location, tick_sensors

QUEUE_IN_CREATION_ORDER = {
    "run_coordinator": {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
        "config": {"max_concurrent_runs": 20},
    },
    "run_launcher": {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"},
}


def test_start_order_never_crosses_priorities():
    assert sorted([(0, 10), (0, 10_000), (5, 1), (-5, 10**9)], key=lambda p: start_order(*p)) == [
        (5, 1), (0, 10_000), (0, 10), (-5, 10**9)
    ]
    assert start_order(0, None) == start_order(0, 0)


def test_big_video_queued_with_small_ones_starts_first_within_its_priority(s3_server, bucket, resources):
    # Names sort opposite to sizes, and the long one is uploaded in the middle: neither the key nor the upload
    # order puts it first.
    client = s3_server.client()
    small = [f"uploads/a-short-{i}.mp4" for i in range(4)]
    for key in small[:2]:
        client.put_object(Bucket=bucket, Key=key, Body=b"s" * 1_000)
    client.put_object(Bucket=bucket, Key="uploads/z-long.mp4", Body=b"L" * 2_000_000)  # uploaded in the middle
    for key in small[2:]:
        client.put_object(Bucket=bucket, Key=key, Body=b"s" * 1_000)
    client.put_object(Bucket=bucket, Key="uploads/b-urgent-short.mp4", Body=b"u" * 500, Metadata={"priority": "high"})
    client.put_object(Bucket=bucket, Key="uploads/m-medium.mp4", Body=b"m" * 200_000)

    with dg.instance_for_test(overrides=QUEUE_IN_CREATION_ORDER) as instance:
        with in_process_code_location(instance) as context:
            tick_sensors(context)
            queued = instance.get_runs(dg.RunsFilter(job_name="video_pipeline", statuses=[dg.DagsterRunStatus.QUEUED]))
            assert len(queued) == 7
            dequeue_runs(context)
        launched = [run.tags[TAG_KEY] for run in instance.run_launcher.queue()]

    assert launched[:3] == ["uploads/b-urgent-short.mp4", "uploads/z-long.mp4", "uploads/m-medium.mp4"], launched
    assert sorted(launched[3:]) == small
