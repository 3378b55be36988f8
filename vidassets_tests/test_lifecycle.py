"""`vidassets.lifecycle`: its names agree with the code location and with Dagster, and its one rule for the pipeline
runs of a partition holds for runs as Dagster records them (the sensor's job, a UI asset run, the warehouse run, a
retry). The status itself is tested through the API (vidassets_tests/api/test_lifecycle.py, test_flow.py)."""

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.storage import tags as dagster_tags

from vidassets import lifecycle
from vidassets.assets import per_video_assets
from vidassets.definitions import defs
from vidassets.sources import SourceRef

REPO = Path(__file__).resolve().parents[1]
VIDEO = "talk-0123456789ab"


def test_names_agree_with_the_code_location_and_dagster():
    assert {job.name for job in defs.jobs} == {lifecycle.PIPELINE_JOB, lifecycle.TABLES_JOB, lifecycle.COMPACTION_JOB,
                                              lifecycle.REGISTRY_JOB}
    assert {a.key.to_user_string() for a in per_video_assets} == lifecycle.PIPELINE_ASSETS
    assert defs.resolve_assets_def(lifecycle.TABLES_ASSET).partitions_def is not None
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    assert [entry["python_module"]["location_name"] for entry in workspace["load_from"]] == [lifecycle.LOCATION_NAME]
    assert lifecycle.PARTITION_TAG == dagster_tags.PARTITION_NAME_TAG
    assert lifecycle.WILL_RETRY_TAG == dagster_tags.WILL_RETRY_TAG
    assert lifecycle.RETRY_NUMBER_TAG == dagster_tags.RETRY_NUMBER_TAG


@pytest.fixture()
def runs(instance):
    """Runs of one partition as the instance records them: (name, run), oldest first."""
    instance.add_dynamic_partitions("videos", [VIDEO])
    source = SourceRef(video_id=VIDEO, source_uri="s3://b/uploads/talk.mp4", bucket="b", key="uploads/talk.mp4",
                       etag="e1")
    made = {}

    def run(name: str, job: str, *, tags=None, assets=None) -> dg.DagsterRun:
        job_def = defs.resolve_job_def(job)
        made[name] = instance.create_run_for_job(
            job_def, tags={**lifecycle.partition_tags(VIDEO), **(tags or {})},
            asset_selection=frozenset(dg.AssetKey(a) for a in assets) if assets else None,
        )
        return made[name]

    run("sensor", lifecycle.PIPELINE_JOB, tags=source.tags())
    instance.report_run_failed(made["sensor"])
    instance.add_run_tags(made["sensor"].run_id, {lifecycle.WILL_RETRY_TAG: "true"})
    run("tables", lifecycle.TABLES_JOB)
    run("retry", lifecycle.PIPELINE_JOB, tags={**source.tags(), lifecycle.RETRY_NUMBER_TAG: "1"})
    run("ui_summary", "__ASSET_JOB", assets=["summary"])
    run("ui_tables", "__ASSET_JOB", assets=[lifecycle.TABLES_ASSET])
    run("other_video", lifecycle.PIPELINE_JOB)
    instance.add_run_tags(made["other_video"].run_id, lifecycle.partition_tags("other-0123456789ab"))
    return {name: instance.get_run_by_id(r.run_id) for name, r in made.items()}


def test_pipeline_runs_include_ui_asset_runs_and_retries_not_warehouse_runs(instance, runs):
    newest_first = [r.dagster_run.run_id for r in lifecycle.pipeline_runs(instance, VIDEO, limit=10)]
    assert newest_first == [runs[name].run_id for name in ("ui_summary", "retry", "sensor")]
    assert [r.dagster_run.run_id for r in lifecycle.pipeline_runs(instance, VIDEO)] == [runs["ui_summary"].run_id]
    assert not lifecycle.is_pipeline_run(runs["tables"]) and not lifecycle.is_pipeline_run(runs["ui_tables"])
    assert lifecycle.will_retry(runs["sensor"]) and not lifecycle.will_retry(runs["retry"])
    assert (lifecycle.attempt(runs["sensor"]), lifecycle.attempt(runs["retry"])) == (1, 2)
    assert lifecycle.final_failure(instance, VIDEO) is None  # the newest is the UI run, not a failure


def test_the_source_of_a_partition_is_named_by_its_runs(instance, runs):
    ref = lifecycle.source_of(instance, VIDEO)
    assert (ref.bucket, ref.key, ref.etag) == ("b", "uploads/talk.mp4", "e1")
    assert lifecycle.source_of(instance, VIDEO, runs["ui_summary"].tags) == ref  # UI runs carry no source tags
    assert lifecycle.source_of(instance, "nothing-0123456789ab") is None


def test_a_failed_run_that_will_be_retried_is_queued_and_not_a_final_failure(instance, resources):
    instance.add_dynamic_partitions("videos", [VIDEO])
    run = instance.create_run_for_job(defs.resolve_job_def(lifecycle.PIPELINE_JOB),
                                      tags=lifecycle.partition_tags(VIDEO))
    instance.report_run_failed(run, message="worker process executing this run died")
    store = resources["storage"].store
    for will_retry, status in (("true", "queued"), ("false", "failed")):
        instance.add_run_tags(run.run_id, {lifecycle.WILL_RETRY_TAG: will_retry})
        state = lifecycle.video_state(instance, store, VIDEO)
        assert (state.status, state.ended) == (status, status == "failed")
        assert (lifecycle.final_failure(instance, VIDEO) is None) == (will_retry == "true")
    assert "worker process executing this run died" in state.error


def test_every_warehouse_status_has_an_api_status():
    from vidassets.analytics.schemas import STATUSES as WAREHOUSE_STATUSES
    from vidassets.verdict import Verdict

    assert {Verdict(status, None).video_status for status in WAREHOUSE_STATUSES} == lifecycle.TERMINAL
    assert Verdict("rejected", "spoken content: 40% of speech time flagged; no summary").reasons == [
        "spoken content: 40% of speech time flagged", "no summary"]
