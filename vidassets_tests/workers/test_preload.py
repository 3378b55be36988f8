"""A gpu-queue worker loads at start every model a run needs, so the first upload it takes pays no load."""

import json
import subprocess
import sys
import textwrap

from vidassets import samples

RUN_AFTER_PRELOAD = textwrap.dedent("""
    import json, sys, tempfile
    from pathlib import Path
    import dagster as dg
    from vidassets.assets import per_video_assets
    from vidassets.resources import build_resources
    from vidassets.resources.models import loaded_model_keys
    from vidassets.sources import SourceRef
    from vidassets.video_ids import video_id_for
    from vidassets.workers.preload import preload_models

    preload_models()
    before = {repr(key) for key in loaded_model_keys()}
    resources = build_resources(storage_root=tempfile.mkdtemp())
    source = Path(sys.argv[1]).resolve()
    video_id = video_id_for("local", str(source))
    head = resources["storage"].head_source(source.as_uri())
    ref = SourceRef(video_id=video_id, source_uri=source.as_uri(), bucket="local", key=str(source),
                    etag=head["etag"], size=head["size"])
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("videos", [video_id])
        dg.materialize(per_video_assets, partition_key=video_id, instance=instance, resources=resources,
                       tags=ref.tags(), raise_on_error=True)
    after = {repr(key) for key in loaded_model_keys()}
    print(json.dumps({"preloaded": sorted(before), "loaded_by_the_run": sorted(after - before)}))
""")


def test_preload_covers_every_model_a_run_loads(tmp_path):
    video = samples.speaking_video(tmp_path / "talk.mp4", seconds=6, width=640, height=360)
    done = subprocess.run([sys.executable, "-c", RUN_AFTER_PRELOAD, str(video)],  # noqa: S603 - argument list
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded_by_the_run"] == [], report
    kinds = {key.split(",")[0].strip("(' ") for key in report["preloaded"]}
    assert {"whisper", "nudenet", "centerface", "rapidocr"} <= kinds, kinds
