"""Run tags that put a `video_pipeline` run on one GPU, for the run launcher this deployment uses.

`VIDASSETS_RUN_LAUNCHER` (ecs | batch | k8s | local, default local) picks the shape; the sizes and names come
from the settings of the code location (`vidassets.settings`), so one image serves every deployment:

| variable | default | used by |
|---|---|---|
| VIDASSETS_GPU_COUNT | 1 | all |
| VIDASSETS_GPU_VCPU | 3 | all (ECS: x1024 CPU units) |
| VIDASSETS_GPU_MEMORY_MIB | 12288 | all |
| VIDASSETS_ECS_GPU_CAPACITY_PROVIDER | vidassets-gpu | ecs |
| VIDASSETS_BATCH_GPU_JOB_QUEUE | vidassets-gpu | batch |
| VIDASSETS_K8S_GPU_NODE_SELECTOR | nvidia.com/gpu.present=true | k8s (`key=value,key=value`) |
| VIDASSETS_K8S_GPU_TOLERATION_KEY | nvidia.com/gpu | k8s (`Exists`, `NoSchedule`) |
| VIDASSETS_SPOT_MAX_RETRIES | 3 | ecs, batch, k8s (`dagster/max_retries`) |

The defaults fit one run per g4dn/g5/g6 `xlarge` host (4 vCPU, 16 GiB) with room for the ECS agent, the Batch
agent or the kubelet. Every value Dagster parses as JSON (`ecs/*`, `dagster-k8s/config`) is a JSON string.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass

LAUNCHER_ENV = "VIDASSETS_RUN_LAUNCHER"
LAUNCHERS = ("local", "ecs", "batch", "k8s")

# Read by vidassets.deploy.batch_launcher.BatchRunLauncher (they override its config per run).
BATCH_JOB_QUEUE_TAG = "batch/job_queue"
BATCH_GPU_TAG = "batch/gpu"
BATCH_VCPU_TAG = "batch/vcpu"
BATCH_MEMORY_TAG = "batch/memory"  # MiB

# Read by dagster_aws.ecs.EcsRunLauncher.
ECS_CPU_TAG = "ecs/cpu"
ECS_MEMORY_TAG = "ecs/memory"
ECS_CONTAINER_OVERRIDES_TAG = "ecs/container_overrides"
ECS_RUN_TASK_KWARGS_TAG = "ecs/run_task_kwargs"

# Read by dagster_k8s (K8sRunLauncher, k8s executors).
K8S_CONFIG_TAG = "dagster-k8s/config"

# Read by Dagster's run-retry daemon (instance `run_retries` must be enabled).
MAX_RETRIES_TAG = "dagster/max_retries"
RETRY_STRATEGY_TAG = "dagster/retry_strategy"
RETRY_ON_ASSET_OR_OP_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"

GPU_TAG = "vidassets/gpu"  # for filtering runs in the UI


@dataclass(frozen=True)
class GpuRunSpec:
    """How big a GPU run is and where it goes; the defaults of the variables above."""

    gpus: int = 1
    vcpu: int = 3
    memory_mib: int = 12288
    ecs_capacity_provider: str = "vidassets-gpu"
    batch_job_queue: str = "vidassets-gpu"
    k8s_node_selector: tuple[tuple[str, str], ...] = (("nvidia.com/gpu.present", "true"),)
    k8s_toleration_key: str = "nvidia.com/gpu"
    max_retries: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "GpuRunSpec":
        """From `env` (default: this process's settings, `vidassets.settings.load_settings().values`)."""
        env = _settings_values() if env is None else env
        default = cls()
        return cls(
            gpus=_positive_int(env, "VIDASSETS_GPU_COUNT", default.gpus),
            vcpu=_positive_int(env, "VIDASSETS_GPU_VCPU", default.vcpu),
            memory_mib=_positive_int(env, "VIDASSETS_GPU_MEMORY_MIB", default.memory_mib),
            ecs_capacity_provider=env.get("VIDASSETS_ECS_GPU_CAPACITY_PROVIDER") or default.ecs_capacity_provider,
            batch_job_queue=env.get("VIDASSETS_BATCH_GPU_JOB_QUEUE") or default.batch_job_queue,
            k8s_node_selector=_pairs(env.get("VIDASSETS_K8S_GPU_NODE_SELECTOR"), default.k8s_node_selector),
            k8s_toleration_key=env.get("VIDASSETS_K8S_GPU_TOLERATION_KEY") or default.k8s_toleration_key,
            max_retries=_positive_int(env, "VIDASSETS_SPOT_MAX_RETRIES", default.max_retries, minimum=0),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value}")
    return value


def _pairs(raw: str | None, default: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """`key=value,key2=value2` (Kubernetes label selector syntax, equality only)."""
    if not raw:
        return default
    pairs = []
    for item in raw.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not key:
            raise ValueError(f"VIDASSETS_K8S_GPU_NODE_SELECTOR: expected key=value[,key=value], got {raw!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _retry_tags(spec: GpuRunSpec) -> dict[str, str]:
    """Spot reclaims and lost hosts fail the run worker, not a step: retry those (from the failed step)
    and leave asset failures to the assets' own retry policies."""
    return {
        MAX_RETRIES_TAG: str(spec.max_retries),
        RETRY_STRATEGY_TAG: "FROM_FAILURE",
        RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "false",
    }


def ecs_tags(spec: GpuRunSpec) -> dict[str, str]:
    cpu_units, memory = spec.vcpu * 1024, spec.memory_mib
    return {
        # Task-level size (strings); EcsRunLauncher also copies them onto the container as integers.
        ECS_CPU_TAG: str(cpu_units),
        ECS_MEMORY_TAG: str(memory),
        ECS_CONTAINER_OVERRIDES_TAG: json.dumps(
            {"resourceRequirements": [{"type": "GPU", "value": str(spec.gpus)}], "cpu": cpu_units, "memory": memory}
        ),
        # A capacity provider strategy replaces the launch type the launcher would otherwise send.
        ECS_RUN_TASK_KWARGS_TAG: json.dumps(
            {"capacityProviderStrategy": [{"capacityProvider": spec.ecs_capacity_provider, "weight": 1, "base": 0}]}
        ),
    }


def batch_tags(spec: GpuRunSpec) -> dict[str, str]:
    return {
        BATCH_JOB_QUEUE_TAG: spec.batch_job_queue,
        BATCH_GPU_TAG: str(spec.gpus),
        BATCH_VCPU_TAG: str(spec.vcpu),
        BATCH_MEMORY_TAG: str(spec.memory_mib),
    }


def k8s_tags(spec: GpuRunSpec) -> dict[str, str]:
    resources = {"nvidia.com/gpu": str(spec.gpus), "cpu": str(spec.vcpu), "memory": f"{spec.memory_mib}Mi"}
    config = {
        "container_config": {"resources": {"requests": resources, "limits": resources}},
        "pod_spec_config": {
            "node_selector": dict(spec.k8s_node_selector),
            "tolerations": [{"key": spec.k8s_toleration_key, "operator": "Exists", "effect": "NoSchedule"}],
        },
    }
    return {K8S_CONFIG_TAG: json.dumps(config)}


_BY_LAUNCHER = {"ecs": ecs_tags, "batch": batch_tags, "k8s": k8s_tags}


def _settings_values() -> Mapping[str, str]:
    from vidassets.settings import load_settings

    return load_settings().values


def configured_launcher(env: Mapping[str, str] | None = None) -> str:
    env = _settings_values() if env is None else env
    launcher = (env.get(LAUNCHER_ENV) or LAUNCHERS[0]).strip().lower()
    if launcher not in LAUNCHERS:
        raise ValueError(f"{LAUNCHER_ENV} must be one of {', '.join(LAUNCHERS)}, not {launcher!r}")
    return launcher


def gpu_run_tags(launcher: str | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Run tags for a GPU video run on `launcher` (default: `$VIDASSETS_RUN_LAUNCHER`, else `local`).

    `local` returns no tags: the default run launcher runs in-process, and the `gpu` pool serialises model work.
    """
    env = _settings_values() if env is None else env
    launcher = configured_launcher(env if launcher is None else {LAUNCHER_ENV: launcher})
    if launcher == "local":
        return {}
    spec = GpuRunSpec.from_env(env)
    return {GPU_TAG: str(spec.gpus), **_BY_LAUNCHER[launcher](spec), **_retry_tags(spec)}
