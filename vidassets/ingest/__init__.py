"""Upload ingest at corpus scale: object-created events in a queue (the hot path) and a paged listing sweep
(reconciliation). The sensor (`vidassets.sensors.uploads`) drains the queue; the relay fills it.

- `events`: `UploadEvent`, the Redis stream queue with its consumer group, and SeaweedFS filer events.
- `sqs`: the same queue contract over SQS, fed by S3 event notifications (AWS; deploy/aws/).
- `relay`: `weed filer.meta.tail` -> the Redis stream (embedded default; `vidassets upload-events`).
- `sweep`: one page of the listing per step, its continuation token kept in the sensor's cursor.
"""
