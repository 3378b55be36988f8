"""dagster-k8s reads our GPU tag, and deploy/dagster-k8s.yaml builds a K8sRunLauncher whose run Job lands on a GPU
node. There is no cluster here: in-cluster config reads a token and CA file we write, and the Kubernetes Batch
API is a recorder that keeps the V1Job the launcher would POST (serialized as the client would send it)."""

import json
import os
from typing import Any

import kubernetes
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster_k8s import K8sRunLauncher
from dagster_k8s.client import DagsterKubernetesClient
from dagster_k8s.job import get_user_defined_k8s_config

from vidassets.deploy.gpu_tags import K8S_CONFIG_TAG, gpu_run_tags
from vidassets_tests.deploy.harness import WORKER_IMAGE, create_subset_run, in_process_code_location, parse_command


def test_dagster_k8s_parses_the_gpu_tag(monkeypatch):
    monkeypatch.setenv("VIDASSETS_K8S_GPU_NODE_SELECTOR", "karpenter.k8s.aws/instance-gpu-manufacturer=nvidia")
    tags = gpu_run_tags("k8s")
    config = get_user_defined_k8s_config(tags)  # validates against dagster-k8s's schema, raises if invalid
    resources = config.container_config["resources"]
    assert resources["limits"] == {"nvidia.com/gpu": "1", "cpu": "3", "memory": "12288Mi"}
    assert resources["requests"] == resources["limits"]
    assert config.pod_spec_config["node_selector"] == {"karpenter.k8s.aws/instance-gpu-manufacturer": "nvidia"}
    assert config.pod_spec_config["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert isinstance(tags[K8S_CONFIG_TAG], str) and json.loads(tags[K8S_CONFIG_TAG])


class RecordingBatchApi:
    """Stands in for kubernetes.client.BatchV1Api: keeps the body of each create_namespaced_job call."""

    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []

    def create_namespaced_job(self, body, namespace, **_kwargs):
        self.created.append((namespace, kubernetes.client.ApiClient().sanitize_for_serialization(body)))
        return body


def test_k8s_deployment_launches_gpu_run_job(deploy_instance, deploy_env, fake_kube_in_cluster):
    """deploy/dagster-k8s.yaml as shipped, on PostgreSQL: a GPU run becomes a Kubernetes Job whose pod asks
    for nvidia.com/gpu, selects GPU nodes, tolerates their taint, and gets the database password from the
    Secret (not from the instance config)."""
    instance = deploy_instance("dagster-k8s")
    launcher = instance.run_launcher
    assert isinstance(launcher, K8sRunLauncher)
    recorder = RecordingBatchApi()
    launcher._api_client = DagsterKubernetesClient.production_client(
        batch_api_override=recorder, core_api_override=object()
    )

    with in_process_code_location(instance) as context:
        run = create_subset_run(context, ["source_video"], "clip-0123456789ab", gpu_run_tags("k8s"))
        instance.launch_run(run.run_id, context.create_request_context())

    ((namespace, job),) = recorder.created
    assert namespace == deploy_env["DAGSTER_K8S_JOB_NAMESPACE"]
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == deploy_env["DAGSTER_K8S_RUN_SERVICE_ACCOUNT"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    (container,) = pod["containers"]
    assert container["image"] == WORKER_IMAGE
    # The tag's GPU size, deep-merged over the launcher's CPU defaults (run_k8s_config).
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1", "cpu": "3", "memory": "12288Mi"}
    assert container["resources"]["requests"] == {"nvidia.com/gpu": "1", "cpu": "3", "memory": "12288Mi"}
    args = parse_command(container["args"])
    assert args.run_id == run.run_id and args.set_exit_code_on_failure is True
    env = {e["name"]: e for e in container["env"]}
    password = env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert password == {"name": deploy_env["DAGSTER_K8S_PG_PASSWORD_SECRET"], "key": "postgresql-password"}
    env_from = [source["configMapRef"]["name"] for source in container["envFrom"]]
    assert deploy_env["DAGSTER_K8S_ENV_CONFIG_MAP"] in env_from
    # Run pods get the instance in their arguments ({env: ...} references, no values) and DAGSTER_HOME.
    assert env["DAGSTER_HOME"]["value"] == os.environ["DAGSTER_HOME"]
    assert deploy_env["DAGSTER_PG_PASSWORD"] not in json.dumps(job)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTING
