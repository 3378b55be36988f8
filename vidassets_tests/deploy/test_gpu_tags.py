"""GPU run tags per launcher: shapes Dagster's launchers read, JSON where they parse JSON, env overrides, and the
`video_pipeline` job carrying them in a code location started with VIDASSETS_RUN_LAUNCHER set."""

import json
import os
import subprocess
import sys

import pytest

from vidassets.deploy.gpu_tags import (
    BATCH_GPU_TAG,
    BATCH_JOB_QUEUE_TAG,
    BATCH_MEMORY_TAG,
    BATCH_VCPU_TAG,
    ECS_CONTAINER_OVERRIDES_TAG,
    ECS_RUN_TASK_KWARGS_TAG,
    K8S_CONFIG_TAG,
    MAX_RETRIES_TAG,
    gpu_run_tags,
)
from vidassets.workers.queues import GPU_QUEUE, QUEUE_TAG
from vidassets_tests.deploy.harness import REPO

JSON_TAGS = (ECS_CONTAINER_OVERRIDES_TAG, ECS_RUN_TASK_KWARGS_TAG, K8S_CONFIG_TAG)
CLEAN_ENV = {"PATH": os.environ.get("PATH", "")}


def test_local_has_no_gpu_tags():
    assert gpu_run_tags(env={}) == {}
    assert gpu_run_tags("local", env={}) == {}


def test_every_tag_value_is_a_string_and_json_where_parsed():
    for launcher in ("ecs", "batch", "k8s"):
        tags = gpu_run_tags(launcher, env={})
        assert all(isinstance(v, str) for v in tags.values()), launcher
        for key in JSON_TAGS:
            if key in tags:
                json.loads(tags[key])
        assert tags[MAX_RETRIES_TAG] == "3"
        assert tags["dagster/retry_strategy"] == "FROM_FAILURE"
        assert tags["dagster/retry_on_asset_or_op_failure"] == "false"


def test_ecs_tags():
    tags = gpu_run_tags(
        "ecs", env={"VIDASSETS_ECS_GPU_CAPACITY_PROVIDER": "g5-spot", "VIDASSETS_GPU_VCPU": "4",
                    "VIDASSETS_GPU_MEMORY_MIB": "15000"}
    )
    assert json.loads(tags[ECS_CONTAINER_OVERRIDES_TAG]) == {
        "resourceRequirements": [{"type": "GPU", "value": "1"}], "cpu": 4096, "memory": 15000
    }
    assert (tags["ecs/cpu"], tags["ecs/memory"]) == ("4096", "15000")
    assert json.loads(tags[ECS_RUN_TASK_KWARGS_TAG]) == {
        "capacityProviderStrategy": [{"capacityProvider": "g5-spot", "weight": 1, "base": 0}]
    }


def test_batch_tags():
    tags = gpu_run_tags("batch", env={"VIDASSETS_BATCH_GPU_JOB_QUEUE": "gpu-spot", "VIDASSETS_GPU_COUNT": "2"})
    assert {k: tags[k] for k in (BATCH_JOB_QUEUE_TAG, BATCH_GPU_TAG, BATCH_VCPU_TAG, BATCH_MEMORY_TAG)} == {
        BATCH_JOB_QUEUE_TAG: "gpu-spot", BATCH_GPU_TAG: "2", BATCH_VCPU_TAG: "3", BATCH_MEMORY_TAG: "12288"
    }


def test_k8s_tags():
    config = json.loads(
        gpu_run_tags("k8s", env={"VIDASSETS_K8S_GPU_NODE_SELECTOR": "node.kubernetes.io/instance-type=g6.xlarge, a=b"})[
            K8S_CONFIG_TAG
        ]
    )
    assert config["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert config["pod_spec_config"]["node_selector"] == {"node.kubernetes.io/instance-type": "g6.xlarge", "a": "b"}


@pytest.mark.parametrize(
    "env",
    [
        {"VIDASSETS_RUN_LAUNCHER": "fargate"},
        {"VIDASSETS_RUN_LAUNCHER": "ecs", "VIDASSETS_GPU_COUNT": "one"},
        {"VIDASSETS_RUN_LAUNCHER": "ecs", "VIDASSETS_GPU_COUNT": "0"},
        {"VIDASSETS_RUN_LAUNCHER": "k8s", "VIDASSETS_K8S_GPU_NODE_SELECTOR": "gpu"},
    ],
)
def test_bad_settings_fail_loudly(env):
    with pytest.raises(ValueError, match="VIDASSETS_"):
        gpu_run_tags(env=env)


def test_video_pipeline_job_carries_the_tags_of_its_deployment():
    """What a code location started with VIDASSETS_RUN_LAUNCHER=<launcher> puts on every `video_pipeline` run:
    a fresh interpreter imports vidassets.jobs once per launcher (the tags are read when the module loads)."""
    code = (
        "import importlib, json, os, sys\n"
        "result = {}\n"
        "for launcher in ('ecs', 'batch', 'k8s', 'local'):\n"
        "    os.environ['VIDASSETS_RUN_LAUNCHER'] = launcher\n"
        "    jobs = importlib.reload(sys.modules['vidassets.jobs']) if 'vidassets.jobs' in sys.modules "
        "else importlib.import_module('vidassets.jobs')\n"
        "    result[launcher] = dict(jobs.video_pipeline.tags)\n"
        "print(json.dumps(result))\n"
    )
    output = subprocess.run(  # noqa: S603 - argument list, no shell
        [sys.executable, "-c", code], env=CLEAN_ENV, cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    tags = json.loads(output)
    for launcher in ("ecs", "batch", "k8s", "local"):
        # plus the warm workers' queue tag, which only dagster-celery reads
        assert tags[launcher] == {QUEUE_TAG: GPU_QUEUE, **gpu_run_tags(launcher, env={})}, launcher
