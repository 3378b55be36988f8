"""The S3 key -> partition key mapping is safe for every key S3 allows."""

import pytest

from vidassets.storage.layout import asset_prefix
from vidassets.video_ids import is_video_id, video_id_for


@pytest.mark.parametrize(
    "key",
    [
        "uploads/My Talk (final).mp4",
        "uploads/../../etc/passwd",
        "uploads/日本語のビデオ.mov",
        "uploads/" + "a" * 1000 + ".mp4",
        "uploads/.mp4",
        "uploads/$(rm -rf ~);.mp4",
        "uploads/\n\t.mp4",
    ],
)
def test_video_ids_are_safe_and_deterministic(key):
    video_id = video_id_for("bucket", key)
    assert video_id == video_id_for("bucket", key)
    assert is_video_id(video_id)
    assert len(video_id) <= 61
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in video_id)


def test_same_name_in_other_bucket_or_folder_is_another_video():
    ids = {video_id_for("a", "x/talk.mp4"), video_id_for("b", "x/talk.mp4"), video_id_for("a", "y/talk.mp4")}
    assert len(ids) == 3
    assert all(i.startswith("talk-") for i in ids)


@pytest.mark.parametrize("unsafe", ["../x-0123456789ab", "a/b", "", "x" * 80, "UPPER-0123456789ab"])
def test_paths_refuse_unsafe_partition_keys(unsafe):
    assert not is_video_id(unsafe)
    with pytest.raises(ValueError, match="unsafe video id"):
        asset_prefix("frames", unsafe)


def _run(instance, video_id: str, status):
    from dagster._core.test_utils import create_run_for_test

    from vidassets import lifecycle

    return create_run_for_test(instance, job_name=lifecycle.PIPELINE_JOB, status=status,
                               tags=lifecycle.partition_tags(video_id))


def test_archive_keeps_the_newest_and_every_video_in_use():
    """The oldest partitions beyond the live window go, except a video with a run in flight or one that ended
    within the settle window; the runs stay, and reprocessing adds the partition back."""
    import dagster as dg

    from vidassets.partitions import archive_settled, ensure_partition, videos_partitions

    keys = [f"video-{i:03d}" for i in range(30)]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(videos_partitions.name, keys)
        _run(instance, keys[3], dg.DagsterRunStatus.NOT_STARTED)
        _run(instance, keys[4], dg.DagsterRunStatus.STARTED)
        _run(instance, keys[5], dg.DagsterRunStatus.SUCCESS)  # ended just now

        plan = archive_settled(instance, keep_live=10, dry_run=True)
        assert plan.archived == [k for k in keys[:20] if k not in keys[3:6]] and plan.kept_in_use == 3
        assert instance.get_dynamic_partitions(videos_partitions.name) == keys  # a dry run deletes nothing

        plan = archive_settled(instance, keep_live=10, settle_s=0.0)  # the ended run no longer protects
        assert keys[5] in plan.archived and plan.kept_in_use == 2
        assert instance.get_dynamic_partitions(videos_partitions.name) == [keys[3], keys[4], *keys[20:]]
        assert len(instance.get_runs(dg.RunsFilter(tags={"dagster/partition": keys[5]}))) == 1  # runs are kept

        assert ensure_partition(instance, keys[5]) is True
        assert ensure_partition(instance, keys[5]) is False
        assert instance.has_dynamic_partition(videos_partitions.name, keys[5])
        assert archive_settled(instance, keep_live=100).archived == []
        with pytest.raises(ValueError, match="keep_live"):
            archive_settled(instance, keep_live=-1)


def test_partitions_archive_command(tmp_path, monkeypatch, capsys):
    import dagster as dg

    from vidassets.cli import main
    from vidassets.partitions import videos_partitions

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(videos_partitions.name, [f"v{i}" for i in range(5)])
    monkeypatch.setenv("VIDASSETS_LIVE_PARTITIONS", "3")
    assert main(["partitions", "archive", "--dry-run"]) == 0
    assert "5 video partitions; would archive 2" in capsys.readouterr().out
    assert main(["partitions", "archive", "--keep", "4"]) == 0
    assert "archived 1" in capsys.readouterr().out
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(videos_partitions.name) == ["v1", "v2", "v3", "v4"]
    monkeypatch.setenv("VIDASSETS_LIVE_PARTITIONS", "many")
    with pytest.raises(SystemExit):
        main(["partitions", "archive"])
