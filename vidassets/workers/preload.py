"""Load a worker's models before its first run, so the first upload on an idle stack is as fast as the rest.

Runs in a background thread of each gpu-queue pool child (Celery requires children to report alive within
seconds). A run that arrives meanwhile waits on the model cache's lock for the load in progress, never loading
twice. Failures are logged and left to the run, which reports them with its own error handling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("vidassets.workers.preload")


def preload_models() -> None:
    from vidassets.model_config import current_model_config
    from vidassets.resources.models import ModelLoader
    from vidassets.settings import load_settings

    # The same configuration object the runs' resources are built from, hence the same model-cache keys.
    models = load_settings().models
    store = ModelLoader(current_model_config(), hf_token=models.hf_token, cache_dir=models.cache_dir,
                        hub_offline=models.hub_offline)
    from vidassets.ml import ocr

    # Every model a video_pipeline run loads, with the arguments its assets pass (the same cache keys); a run
    # that found one missing paid its load, and its imports, on the first upload a worker took.
    loads: dict[str, Callable[[], object]] = {
        "nudenet": store.nudenet, "shot_detector": store.shot_detector, "face_detector": store.face_detector,
        "screen_text_reader": lambda: store.screen_text_reader(ocr.DETECT_SIDE, ocr.PRESENCE_SIDE),
        "recognizer": store.recognizer, "diarizer": store.diarizer, "text_moderator": store.text_moderator,
        "summarizer": store.summarizer,
    }
    language = current_model_config().language
    if current_model_config().align_model and language:
        loads["aligner"] = lambda: store.aligner(language)
    for name, load in loads.items():
        started = time.monotonic()
        try:
            load()
        except Exception as exc:  # noqa: BLE001 - the run that needs the model reports the error properly
            log.warning("preloading %s failed: %s: %s", name, type(exc).__name__, exc)
            continue
        log.info("preloaded %s in %.1fs", name, time.monotonic() - started)


def start_preload() -> threading.Thread:
    thread = threading.Thread(target=preload_models, name="vidassets-preload", daemon=True)
    thread.start()
    return thread
