"""Fixtures for the deployment tests: one PostgreSQL server and one moto server per session (stopped by PID at
the end), a fresh database and a reset moto per test, and instances built from the files in deploy/."""

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes
import pytest
import yaml

from vidassets_tests.deploy import aws_setup
from vidassets_tests.deploy.harness import DEPLOY
from vidassets_tests.deploy.servers import MotoServer, PostgresServer, postgres_bin_dir

DEPLOY_BUCKET = "vidassets-deploy"
_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = (
            "no PostgreSQL server binaries: `apt-get install postgresql` (Debian) or `pip install pgserver`, "
            "or set VIDASSETS_PG_BIN to a directory holding initdb and postgres"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with PostgresServer(bin_dir) as server:
        yield server


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with MotoServer(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="session")
def deploy_session_env(s3_server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Settings that stay the same for the whole session: the code location reads them once, when loaded."""
    s3_server.client().create_bucket(Bucket=DEPLOY_BUCKET)
    return {
        **s3_server.env(),
        "VIDASSETS_WATCH_BUCKET": DEPLOY_BUCKET,
        "VIDASSETS_WATCH_PREFIX": "uploads/",
        "VIDASSETS_STORAGE_ROOT": f"s3://{DEPLOY_BUCKET}/vidassets",
        "VIDASSETS_LOG_BUCKET": DEPLOY_BUCKET,
        "VIDASSETS_SCRATCH": str(tmp_path_factory.mktemp("deploy-scratch")),
        # deploy/dagster-ecs.yaml
        "DAGSTER_ECS_RUN_TASK_DEFINITION": aws_setup.ECS_TASK_DEFINITION,
        "DAGSTER_ECS_CLUSTER": aws_setup.ECS_CLUSTER,
        # deploy/dagster-batch.yaml
        "VIDASSETS_BATCH_JOB_QUEUE": aws_setup.BATCH_CPU_QUEUE,
        "VIDASSETS_BATCH_JOB_DEFINITION": aws_setup.BATCH_JOB_DEFINITION,
        # deploy/dagster-k8s.yaml
        "DAGSTER_K8S_INSTANCE_CONFIG_MAP": "vidassets-instance",
        "DAGSTER_K8S_PG_PASSWORD_SECRET": "vidassets-postgresql",
        "DAGSTER_K8S_JOB_NAMESPACE": "vidassets",
        "DAGSTER_K8S_RUN_SERVICE_ACCOUNT": "vidassets-run",
        "DAGSTER_K8S_ENV_CONFIG_MAP": "vidassets-env",
    }


@pytest.fixture
def deploy_env(deploy_session_env, s3_server, postgres, moto, monkeypatch) -> dict[str, str]:
    """A fresh database, a reset moto, an empty uploads prefix; every variable the deploy configs read."""
    moto.reset()
    client = s3_server.client()
    listed = client.list_objects_v2(Bucket=DEPLOY_BUCKET, Prefix="uploads/").get("Contents", [])
    for obj in listed:
        client.delete_object(Bucket=DEPLOY_BUCKET, Key=obj["Key"])
    database = postgres.create_database(f"deploy_{next(_databases):03d}")
    env = {**deploy_session_env, **moto.env(), **postgres.env(database)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("DAGSTER_HOME", "VIDASSETS_RUN_LAUNCHER"):
        monkeypatch.delenv(name, raising=False)
    return env


InstanceFactory = Callable[..., dg.DagsterInstance]


@pytest.fixture
def deploy_instance(deploy_env, tmp_path: Path, monkeypatch) -> Iterator[InstanceFactory]:
    """`make("dagster-ecs", patch=None)`: a DagsterInstance from deploy/<name>.yaml copied into a fresh
    DAGSTER_HOME. `patch(config)` may change the parsed file first (only for what cannot exist here)."""
    instances: list[dg.DagsterInstance] = []

    def make(name: str, patch: Callable[[dict[str, Any]], None] | None = None) -> dg.DagsterInstance:
        home = tmp_path / f"home-{name}"
        home.mkdir()
        source = DEPLOY / f"{name}.yaml"
        if patch is None:
            shutil.copy(source, home / "dagster.yaml")
        else:
            config = yaml.safe_load(source.read_text())
            patch(config)
            (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        instance = dg.DagsterInstance.from_config(str(home))
        instances.append(instance)
        return instance

    yield make
    for instance in instances:
        instance.dispose()


@pytest.fixture
def fake_kube_in_cluster(monkeypatch, tmp_path: Path) -> None:
    """What a pod has and this machine lacks: a service account token and CA file, and the API address. The
    real in-cluster loader reads them; nothing connects to 127.0.0.1:6443 (the tests record API calls)."""
    token, ca = tmp_path / "sa-token", tmp_path / "sa-ca.crt"
    token.write_text("not-a-real-token")
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot-a-real-ca\n-----END CERTIFICATE-----\n")
    monkeypatch.setattr(kubernetes.config.incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(kubernetes.config.incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
