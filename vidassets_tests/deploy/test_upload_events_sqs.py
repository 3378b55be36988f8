"""The AWS variant of upload events on moto's S3 and SQS: deploy/aws/upload-events.json's notification rules send
video uploads to the queue, `SqsUploadQueue` turns them into upload events with the listing's ETag, and a message
is gone only once acknowledged."""

import json

import boto3

from vidassets.ingest.sqs import SqsUploadQueue
from vidassets_tests.deploy.harness import DEPLOY

ACCOUNT, REGION, BUCKET = "123456789012", "us-east-1", "vidassets-uploads-sqs"


def test_s3_notifications_to_sqs_become_upload_events(moto):
    moto.reset()
    env = moto.env()
    session = boto3.session.Session(aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
                                     aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
                                     region_name=REGION)
    s3 = session.client("s3", endpoint_url=moto.endpoint_url)
    sqs = session.client("sqs", endpoint_url=moto.endpoint_url)
    spec = json.loads((DEPLOY / "aws" / "upload-events.json").read_text()
                      .replace("<account>", ACCOUNT).replace("<region>", REGION).replace("<uploads-bucket>", BUCKET))
    queue_url = sqs.create_queue(QueueName=spec["Queue"]["QueueName"],
                                 Attributes={"VisibilityTimeout": spec["Queue"]["Attributes"]["VisibilityTimeout"]})[
        "QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(spec["QueuePolicy"])})
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration=spec["BucketNotification"])
    sqs.purge_queue(QueueUrl=queue_url)  # moto's s3:TestEvent

    for key in ("uploads/a/talk.mp4", "uploads/a/talk.srt", "uploads/b/clip.mov", "elsewhere/c.mp4"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * 64)
    queue = SqsUploadQueue(queue_url, client=sqs)
    deliveries = queue.receive(50)
    events = sorted((d.event for d in deliveries if d.event), key=lambda e: e.key)
    assert [e.key for e in events] == ["uploads/a/talk.mp4", "uploads/b/clip.mov"]
    listed = {o["Key"]: o["ETag"].strip('"') for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert all(e.etag == listed[e.key] and e.size == 64 for e in events)

    assert queue.receive(50) == []  # received, not acknowledged: invisible until the visibility timeout
    queue.ack([d.receipt for d in deliveries])
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
