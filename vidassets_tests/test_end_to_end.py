"""The README's run command, end to end, with the default models: SeaweedFS, webserver, daemon, the S3 sensor,
the pipeline run and the warehouse run launched by the run-status sensor, all as separate processes."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_vidassets_up_once_processes_the_sample_through_the_sensor(tmp_path):
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    done = subprocess.run(
        [sys.executable, "-m", "vidassets.cli", "up", "--once", "--timeout", "900"],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for asset in ("source_video", "frames", "moderation", "audio", "transcript", "diarized_transcript", "summary"):
        assert f"materialized {asset}" in out, out
    assert "verdict=approved" in out and "language=en" in out and "speakers=2" in out
    assert "warehouse rows written: status=approved" in out, out
    stopped = ("stopped the API, dagster-daemon, dagster-webserver, dagster-code-server, 3 run workers, "
               "the upload event relay, Redis, SeaweedFS")
    assert stopped in out
    env = (tmp_path / ".vidassets" / "env").read_text()
    assert "AWS_ENDPOINT_URL" in env and "VIDASSETS_STORAGE_ROOT" in env
