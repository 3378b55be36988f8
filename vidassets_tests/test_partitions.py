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
