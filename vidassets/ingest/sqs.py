"""The AWS variant of the upload queue: S3 event notifications (`s3:ObjectCreated:*`) delivered to SQS
(deploy/aws/upload-events.json). Same contract as the Redis stream: a receipt is deleted only on the next tick,
after Dagster committed the runs; the visibility timeout outlasts a tick interval, so a tick that died has its
messages delivered again."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3

from vidassets.ingest.events import Delivery, UploadEvent

VISIBILITY_TIMEOUT_S = 300  # > the sensor interval plus a tick: the next tick deletes what this one received
RECEIVE_BATCH = 10  # SQS's maximum per ReceiveMessage


class SqsUploadQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self.client = client or boto3.client("sqs")

    def receive(self, limit: int, redeliver: bool = True) -> list[Delivery]:
        """Up to `limit` messages (SQS redelivers by itself once a visibility timeout ends: `redeliver` is moot)."""
        deliveries: list[Delivery] = []
        while len(deliveries) < limit:
            answer = self.client.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(RECEIVE_BATCH, limit - len(deliveries)),
                VisibilityTimeout=VISIBILITY_TIMEOUT_S, WaitTimeSeconds=0,
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                events = s3_notification_uploads(message.get("Body", ""))
                # one S3 notification may carry several records: the first keeps the receipt, the others ride it
                deliveries += [Delivery(message["ReceiptHandle"] if i == 0 else "", event)
                               for i, event in enumerate(events or [None])]
        return deliveries

    def ack(self, receipts: list[str]) -> None:
        handles = [r for r in receipts if r]
        for start in range(0, len(handles), 10):
            batch = handles[start:start + 10]
            self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(batch)],
            )


def s3_notification_uploads(body: str) -> list[UploadEvent]:
    """The created objects in one S3 event notification (`s3:TestEvent` and other messages: none)."""
    try:
        records = json.loads(body).get("Records", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    uploads = []
    for record in records:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        obj = record.get("s3", {}).get("object", {})
        if "key" not in obj or "eTag" not in obj:
            continue
        when = datetime.fromisoformat(record.get("eventTime", "1970-01-01T00:00:00+00:00").replace("Z", "+00:00"))
        uploads.append(UploadEvent(unquote_plus(obj["key"]), obj["eTag"].strip('"'), int(obj.get("size", 0)), when))
    return uploads
