"""The one settings object: what it reads, its defaults, the README's tables of variables, the watched prefix, and
the resources a deployment sets (shown as environment variables, resolved when Dagster uses them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import dagster as dg
import pytest

from vidassets.analytics.costs import DEFAULT_PRICES, parse_prices
from vidassets.api.settings import ApiSettings
from vidassets.deploy.gpu_tags import GpuRunSpec, gpu_run_tags
from vidassets.model_config import ModelConfig
from vidassets.resources import build_resources
from vidassets.sensors import s3_video_sensor
from vidassets.settings import VARIABLES, Settings, load_settings, normalize_prefix
from vidassets.sources import TAG_KEY
from vidassets.storage.s3_options import S3Options

README = Path(__file__).resolve().parents[1] / "README.md"
TABLE_HEADER = "| variable | default | meaning |"


def readme_variables() -> dict[str, str]:
    """Variable -> its default cell, from every `| variable | default | meaning |` table of the README."""
    found: dict[str, str] = {}
    in_table = False
    for line in README.read_text().splitlines():
        if line.strip() == TABLE_HEADER:
            in_table = True
            continue
        if not in_table or not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if set(cells[0]) <= {"-", "|"}:
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        assert names, f"README table row without a variable: {line}"
        parts = cells[1].split(" / ")
        for index, name in enumerate(names):
            assert name not in found, f"{name} is documented twice in the README"
            found[name] = parts[index] if len(parts) == len(names) else cells[1]
    return found


def test_readme_documents_exactly_the_variables_the_settings_read():
    documented = set(readme_variables())
    read = {variable.name for variable in VARIABLES}
    assert sorted(read - documented) == [], "read by vidassets/settings.py but missing from the README's tables"
    assert sorted(documented - read) == [], "in the README's tables but not read by vidassets/settings.py"


def test_readme_defaults_are_the_settings_defaults():
    documented = readme_variables()
    wrong = {v.name: (documented[v.name], v.documented_default()) for v in VARIABLES
             if not documented[v.name].startswith(v.documented_default())}
    assert wrong == {}
    # the defaults the README writes in words or names elsewhere, checked against their one home
    assert parse_prices(documented["VIDASSETS_PRICE_PER_HOUR"].strip("`")) == DEFAULT_PRICES
    defaults = load_settings({})
    assert defaults.workers.result_backend == defaults.workers.broker_url  # "the broker"
    assert defaults.models.config.cpu_threads == 0 and defaults.workers.gpu_workers is None  # from the host
    assert defaults.workers.max_rss_mb == 0  # "off"
    assert defaults.models.config.language is None  # "detected"
    assert defaults.api_db_url is None  # no DAGSTER_HOME, no database URL


class Recording(dict):
    """A mapping that remembers every name looked up in it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.looked_up: set[str] = set()

    def get(self, key, default=None):  # type: ignore[override]
        self.looked_up.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.looked_up.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.looked_up.add(key)
        return super().__contains__(key)


def test_every_registered_variable_is_read_and_nothing_else():
    values = Recording({"DAGSTER_HOME": "/srv/dagster", "VIDASSETS_RUN_LAUNCHER": "k8s"})
    settings = Settings(values)
    for section in ("storage", "watch", "models", "workers", "client", "prices", "git_sha", "api"):
        getattr(settings, section)
    gpu_run_tags(env=settings.values)  # deploy/gpu_tags.py parses its variables from the settings' values
    assert values.looked_up == {variable.name for variable in VARIABLES}


def test_defaults_are_written_once():
    defaults = load_settings({})
    assert defaults.models.config == ModelConfig()
    assert defaults.storage.s3 == S3Options()
    assert gpu_run_tags("k8s", env={}) == gpu_run_tags("k8s", env=defaults.values)
    assert GpuRunSpec.from_env(defaults.values) == GpuRunSpec()
    api = defaults.api
    assert ApiSettings() == api  # the API section's field defaults are the settings' defaults
    assert (api.bucket, api.prefix, api.storage_root) == ("vidassets", "uploads/", "s3://vidassets")
    assert defaults.watch.sensor_interval_s == 30


def test_values_are_parsed_and_bad_ones_name_the_variable():
    settings = load_settings({
        "VIDASSETS_STORAGE_ROOT": "s3://corpus/v", "AWS_ENDPOINT_URL": "http://s3:8333", "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "3", "VIDASSETS_WHISPER_MODEL": "tiny.en",
        "VIDASSETS_MIN_SPEAKERS": "2", "HF_HUB_OFFLINE": "true", "HF_TOKEN": "hf_secret",
        "VIDASSETS_MODEL_CACHE": "~/models", "VIDASSETS_API_MAX_UPLOAD_MB": "1.5", "VIDASSETS_SENSOR_INTERVAL_S": "5",
    })
    assert settings.storage.root == "s3://corpus/v"
    assert settings.storage.s3 == S3Options(endpoint="http://s3:8333", region="eu-west-1", max_attempts=3)
    assert settings.models.config.whisper_model == "tiny.en" and settings.models.config.min_speakers == 2
    assert settings.models.hub_offline and settings.models.cache_dir == Path.home() / "models"
    assert "hf_secret" not in repr(settings) + repr(settings.models)  # secrets never reach logs
    assert settings.api.max_upload_bytes == int(1.5 * 1024**2) and settings.watch.sensor_interval_s == 5
    assert load_settings({"AWS_ENDPOINT_URL_S3": "http://a", "AWS_ENDPOINT_URL": "http://b"}).storage.s3.endpoint \
        == "http://a"
    for name, value in [("AWS_MAX_ATTEMPTS", "0"), ("VIDASSETS_SENSOR_INTERVAL_S", "soon"),
                        ("VIDASSETS_BATCH_SIZE", "eight"), ("VIDASSETS_WORKER_MAX_RUNS", "-1")]:
        bad = load_settings({name: value})
        with pytest.raises(ValueError, match=name):
            bad.storage, bad.watch, bad.models, bad.workers  # noqa: B018 - parsing is the check
    # a bad API setting fails the API, not the code location
    bad_api = load_settings({"VIDASSETS_API_CORS_ORIGINS": "not an origin"})
    assert bad_api.watch.bucket == "vidassets"
    with pytest.raises(ValueError, match="VIDASSETS_API_CORS_ORIGINS"):
        bad_api.api  # noqa: B018


def test_empty_means_default_except_for_the_watched_prefix():
    settings = load_settings({"VIDASSETS_STORAGE_ROOT": "", "VIDASSETS_WATCH_PREFIX": ""})
    assert settings.storage.root == "s3://vidassets"
    assert settings.watch.prefix == ""  # the whole bucket


@pytest.mark.parametrize(("raw", "prefix"), [
    ("uploads/", "uploads/"), ("uploads", "uploads/"), ("a/b", "a/b/"), ("", ""), (" incoming ", "incoming/"),
])
def test_one_normalisation_of_the_watched_prefix(raw, prefix):
    assert normalize_prefix(raw) == prefix


def test_settings_are_read_when_asked_not_at_import(monkeypatch):
    monkeypatch.setenv("VIDASSETS_WATCH_BUCKET", "later")
    assert load_settings().watch.bucket == "later"
    monkeypatch.setenv("VIDASSETS_WATCH_BUCKET", "even-later")
    assert load_settings().watch.bucket == "even-later"


@pytest.fixture
def deployment_env(monkeypatch, tmp_path) -> Iterator[Path]:
    for name in ("VIDASSETS_STORAGE_ROOT", "VIDASSETS_FFMPEG", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIDASSETS_WATCH_BUCKET", "uploads-bucket")
    monkeypatch.setenv("VIDASSETS_WATCH_PREFIX", "incoming")
    monkeypatch.setenv("VIDASSETS_SCRATCH", str(tmp_path / "scratch"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    yield tmp_path


def test_resources_a_deployment_sets_show_their_variable(deployment_env):
    resources = build_resources()
    storage, uploads = resources["storage"], resources["uploads"]
    shown = {
        "bucket": uploads.bucket, "prefix": uploads.prefix, "scratch": storage.scratch_dir,
        "endpoint": storage.s3_endpoint, "region": storage.s3_region, "s3 region": resources["s3"].region_name,
    }
    assert {k: v.env_var_name for k, v in shown.items() if isinstance(v, dg.EnvVar)} == {
        "bucket": "VIDASSETS_WATCH_BUCKET", "prefix": "VIDASSETS_WATCH_PREFIX", "scratch": "VIDASSETS_SCRATCH",
        "endpoint": "AWS_ENDPOINT_URL", "region": "AWS_REGION", "s3 region": "AWS_REGION",
    }
    # unset variables: the settings' default as a plain value (shown as such in the UI)
    assert storage.root == "s3://vidassets" and storage.ffmpeg is None
    # used directly (CLI, tests), the resource resolves its variables as Dagster does at launch
    assert storage.scratch() == deployment_env / "scratch"
    assert storage.s3_options() == S3Options(endpoint="http://127.0.0.1:9", region="eu-west-1")
    assert uploads.watched_prefix() == "incoming/"


def test_dagster_resolves_the_variables_when_it_uses_the_resources(deployment_env, monkeypatch):
    resources = build_resources()
    monkeypatch.setenv("VIDASSETS_WATCH_PREFIX", "changed")  # after the resources were built

    @dg.op(required_resource_keys={"uploads", "storage"})
    def show(context) -> tuple[str, str, str]:  # noqa: ANN001 - dagster reads the annotation at definition
        return (context.resources.uploads.bucket, context.resources.uploads.watched_prefix(),
                context.resources.storage.scratch_dir)

    @dg.job(resource_defs={"uploads": resources["uploads"], "storage": resources["storage"]})
    def probe() -> None:
        show()

    result = probe.execute_in_process()
    assert result.output_for_node("show") == ("uploads-bucket", "changed/", str(deployment_env / "scratch"))


def test_the_api_and_the_sensor_watch_the_same_prefix(deployment_env):
    api, uploads = load_settings().api, build_resources()["uploads"]
    assert api.prefix == uploads.watched_prefix() == "incoming/"
    assert api.bucket == uploads.bucket.get_value() == "uploads-bucket"


def test_the_sensor_lists_the_prefix_the_api_writes_under(s3_server, bucket, resources, instance, monkeypatch):
    """`VIDASSETS_WATCH_PREFIX=incoming`: the API uploads to `incoming/<user>/...`; the sensor lists `incoming/`, not
    every key that starts with `incoming` (it did: it used the raw value, the API the normalised one)."""
    client = s3_server.client()
    for key in ("incoming/alice/u1/talk.mp4", "incoming-old/bob/u2/old.mp4"):
        client.put_object(Bucket=bucket, Key=key, Body=b"x")
    monkeypatch.setenv("VIDASSETS_WATCH_PREFIX", "incoming")
    watched = build_resources(storage_root=f"s3://{bucket}/store")
    with dg.build_sensor_context(instance=instance, resources=watched) as context:
        result = s3_video_sensor(context)
    assert [r.tags[TAG_KEY] for r in result.run_requests] == ["incoming/alice/u1/talk.mp4"]
    assert load_settings().api.prefix == "incoming/"


def test_the_code_location_reads_its_settings_when_it_loads():
    """The sensor interval and the resources follow the environment of the process that loads the code location,
    even when the sensors module was imported before the variables were set."""
    code = (
        "import json, os\n"
        "import vidassets.sensors\n"
        "os.environ.update(VIDASSETS_SENSOR_INTERVAL_S='7', VIDASSETS_WATCH_BUCKET='late-bucket')\n"
        "from vidassets.definitions import defs\n"
        "sensor = defs.resolve_sensor_def('s3_video_sensor')\n"
        "print(json.dumps([sensor.minimum_interval_seconds, defs.resources['uploads'].bucket.env_var_name]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDASSETS_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [7, "VIDASSETS_WATCH_BUCKET"]
