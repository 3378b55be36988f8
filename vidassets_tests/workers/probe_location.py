"""A small code location for worker-path tests: `probe_job` materializes `model_probe`, which loads real models
through vidassets' ModelLoader (NudeNet, Whisper tiny.en) from the per-process cache and reports which process ran
it and which model objects it got. `probe_sensor` turns request files into runs (so the daemon creates and queues
them the way the S3 sensor does): `<VIDASSETS_TEST_PROBE_DIR>/<name>.json` = {"runs": [{"priority": 0,
"sleep_s": 0}, ...]}; run keys `<name>-<i>`, so each request runs once.
"""

import json
import os
import time
from pathlib import Path

import dagster as dg

from vidassets.model_config import current_model_config
from vidassets.resources.models import ModelLoader, cached_model, loaded_model_keys
from vidassets.workers.queues import DAGSTER_PRIORITY_TAG, GPU_QUEUE, QUEUE_TAG

SLEEP_TAG = "probe/sleep_s"
REQUEST_TAG = "probe/request"


@dg.asset
def model_probe(context: dg.AssetExecutionContext, models: dg.ResourceParam[ModelLoader]) -> dg.MaterializeResult:
    started = time.time()
    detector = models.nudenet()
    recognizer = models.recognizer()
    load_stamp = cached_model(("probe-load-stamp",), time.time_ns)
    time.sleep(float(context.run.tags.get(SLEEP_TAG, "0")))
    return dg.MaterializeResult(
        metadata={
            "pid": os.getpid(),
            "detector_id": id(detector),
            "recognizer_id": id(recognizer),
            "load_stamp": str(load_stamp),
            "cached_models": len(loaded_model_keys()),
            "started": started,
        }
    )


probe_job = dg.define_asset_job(
    "probe_job", selection=[model_probe], executor_def=dg.in_process_executor, tags={QUEUE_TAG: GPU_QUEUE}
)


@dg.sensor(job=probe_job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def probe_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    folder = Path(os.environ.get("VIDASSETS_TEST_PROBE_DIR", "/nonexistent"))
    requests = []
    for path in sorted(folder.glob("*.json")):
        for i, run in enumerate(json.loads(path.read_text())["runs"]):
            tags = {SLEEP_TAG: str(run.get("sleep_s", 0)), REQUEST_TAG: path.stem}
            if run.get("priority"):
                tags[DAGSTER_PRIORITY_TAG] = str(run["priority"])
            requests.append(dg.RunRequest(run_key=f"{path.stem}-{i}", tags=tags))
    return dg.SensorResult(run_requests=requests)


defs = dg.Definitions(
    assets=[model_probe], jobs=[probe_job], sensors=[probe_sensor],
    resources={"models": ModelLoader(current_model_config())},
)
