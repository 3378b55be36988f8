"""The deploy files stay environment-driven: no credentials in them, and every variable they read is documented."""

import re

import pytest
import yaml

from vidassets_tests.deploy.harness import DEPLOY, REPO

CONFIGS = sorted(DEPLOY.glob("dagster-*.yaml"))
SECRET_KEY = re.compile(r"password|secret|token|access_key|credential", re.IGNORECASE)


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))
    else:
        yield path, node


def test_four_deploy_configs():
    assert [c.name for c in CONFIGS] == [
        "dagster-batch.yaml", "dagster-celery.yaml", "dagster-ecs.yaml", "dagster-k8s.yaml"
    ]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_credentials_come_from_the_environment(config):
    for path, value in _walk(yaml.safe_load(config.read_text())):
        if value is not None and any(SECRET_KEY.search(part) for part in path):
            assert path[-1] == "env", f"{config.name}: {'.'.join(path)} = {value!r} must be {{env: ...}}"
    assert not re.search(r"AKIA[0-9A-Z]{16}", config.read_text())


def test_every_variable_the_configs_read_is_documented():
    documented = (REPO / "docs" / "DEPLOY.md").read_text()
    variables = {v for c in CONFIGS for v in re.findall(r"\{env: ([A-Z0-9_]+)\}", c.read_text())}
    assert variables, "no {env: ...} found"
    missing = sorted(v for v in variables if v not in documented)
    assert missing == [], f"variables read by deploy/*.yaml but not in docs/DEPLOY.md: {missing}"
