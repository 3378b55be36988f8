"""Priorities, worker sizing and worker command lines: the pure parts of the warm-worker path."""

import pytest

from vidassets.settings import load_settings
from vidassets.workers.broker import queue_keys
from vidassets.workers.command import worker_specs
from vidassets.workers.queues import (
    DAGSTER_PRIORITY_TAG,
    PriorityError,
    broker_priority,
    dagster_priority,
    parse_priority,
    priority_tags,
)
from vidassets.workers.sizing import WorkerPlan, plan_workers, visible_gpus


@pytest.mark.parametrize(("text", "expected"), [
    (None, 0), ("", 0), ("normal", 0), ("HIGH", 5), (" low ", -5), ("urgent", 9), ("3", 3), ("-9", -9),
])
def test_parse_priority(text, expected):
    assert parse_priority(text) == expected


@pytest.mark.parametrize(("text", "message"), [("vip", "'vip' is not one of"), ("10", "outside -9..9")])
def test_bad_priority_names_the_value(text, message):
    with pytest.raises(PriorityError, match=message):
        parse_priority(text)


def test_broker_priority_reverses_dagster_order_for_redis():
    levels = [broker_priority(p) for p in range(-9, 10)]
    assert levels == sorted(levels, reverse=True), "a higher Dagster priority is never served later"
    assert broker_priority(9) == 0 and broker_priority(-9) == 9 and broker_priority(0) == 5
    assert len({broker_priority(p) for p in (-5, 0, 5, 9)}) == 4


def test_priority_tags_and_back():
    assert priority_tags(0) == {}
    assert dagster_priority(priority_tags(5)) == 5
    assert dagster_priority({DAGSTER_PRIORITY_TAG: "x"}) == 0
    assert dagster_priority({DAGSTER_PRIORITY_TAG: "99"}) == 9


def test_queue_keys_match_the_redis_layout():
    assert queue_keys("gpu")[:3] == ["gpu", "gpu:1", "gpu:2"]


@pytest.mark.parametrize(("cores", "gpus", "workers", "threads"), [
    (2, 0, 2, 1), (4, 0, 4, 1), (8, 0, 4, 2), (16, 0, 8, 2), (8, 1, 1, 8), (16, 4, 4, 4), (1, 0, 1, 1),
])
def test_plan_never_oversubscribes(cores, gpus, workers, threads):
    plan = plan_workers(cores=cores, gpus=gpus)
    assert (plan.gpu_workers, plan.threads) == (workers, threads)
    assert plan.gpu_workers * plan.threads <= cores


def _plan(env: dict[str, str], **host: int) -> WorkerPlan:
    workers = load_settings(env).workers
    return plan_workers(**host, threads=workers.cpu_threads, workers=workers.gpu_workers)


def test_plan_overrides_and_their_errors():
    assert _plan({"VIDASSETS_CPU_THREADS": "2"}, cores=8, gpus=0).gpu_workers == 4
    with pytest.raises(ValueError, match="exceed the 4 cores"):
        _plan({"VIDASSETS_CPU_THREADS": "2", "VIDASSETS_GPU_WORKERS": "3"}, cores=4, gpus=0)
    with pytest.raises(ValueError, match="VIDASSETS_CPU_THREADS='two'"):
        _plan({"VIDASSETS_CPU_THREADS": "two"}, cores=4, gpus=0)
    with pytest.raises(ValueError, match="VIDASSETS_GPU_WORKERS=0 must be at least 1"):
        _plan({"VIDASSETS_GPU_WORKERS": "0"}, cores=4, gpus=0)
    assert visible_gpus("0,1") == 2 and visible_gpus("-1") == 0


def test_worker_specs_pin_gpus_and_set_threads():
    specs = worker_specs(plan_workers(cores=8, gpus=2), max_runs_per_child=50, max_rss_mb=6000)
    assert [(s.name, s.queue, s.gpu_index) for s in specs] == [
        ("gpu1", "gpu", 0), ("gpu2", "gpu", 1), ("cpu1", "cpu", None)
    ]
    env = specs[1].env({"PATH": "/bin"})
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["VIDASSETS_CPU_THREADS"] == "4" and env["OMP_NUM_THREADS"] == "4"
    argv = specs[0].argv("python")
    assert argv[argv.index("--queues") + 1] == "gpu"
    assert argv[argv.index("--max-tasks-per-child") + 1] == "50"
    assert argv[argv.index("--max-memory-per-child") + 1] == str(6000 * 1024)
    assert argv[argv.index("--concurrency") + 1] == "1"
