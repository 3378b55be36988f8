"""Upload priority from S3 object metadata, on the real S3 server."""

from vidassets.workers.upload_priority import upload_priorities


def test_metadata_becomes_priority_and_bad_values_run_normally(s3_server, bucket):
    client = s3_server.client()
    for key, metadata in {"a.mp4": {"priority": "high"}, "b.mp4": {}, "c.mp4": {"priority": "vip"},
                          "d.mp4": {"priority": "-3"}}.items():
        client.put_object(Bucket=bucket, Key=key, Body=b"x", Metadata=metadata)
    warnings: list[str] = []
    found = upload_priorities(client, bucket, ["a.mp4", "b.mp4", "c.mp4", "d.mp4", "gone.mp4"], warnings.append)
    assert found == {"a.mp4": 5, "b.mp4": 0, "c.mp4": 0, "d.mp4": -3, "gone.mp4": 0}
    assert any(f"s3://{bucket}/c.mp4" in w and "'vip' is not one of" in w for w in warnings), warnings
    assert any(f"s3://{bucket}/gone.mp4" in w for w in warnings), warnings
    assert upload_priorities(client, bucket, []) == {}
