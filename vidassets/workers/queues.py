"""Queue names, run tags and priorities shared by the sensor, the run launcher, the workers and `vidassets workers`.

Priority is one number, Dagster's convention: `dagster/priority`, higher runs sooner (the queued run coordinator
dequeues by it). The broker gets it translated: Redis (kombu) serves priority 0 first, so the launcher maps
Dagster priority to `9 - level` with the levels below.

Within one priority, longer videos start first (`start_order`), so the workers of a corpus finish together
instead of one long video running alone at the end. The sub-order is the creation order of the runs, never the
priority number: the sensor creates a tick's runs longest first (object size; the probe's duration is not known
before the run), Dagster's queue dequeues runs of equal `dagster/priority` in creation order, and the launcher
hands them to the broker in that order (Redis keeps FIFO within each of its 10 priority steps, which the 19
Dagster levels already fill). So `dagster/priority` keeps the meaning it has in the UI and for runs launched
there, a big video never overtakes a higher priority, and the order holds within a tick's batch; runs queued by
earlier ticks are not reordered.
"""

from __future__ import annotations

GPU_QUEUE = "gpu"  # model work: video_pipeline runs
CPU_QUEUE = "cpu"  # light work: warehouse rows, compaction
QUEUES = (GPU_QUEUE, CPU_QUEUE)

QUEUE_TAG = "dagster-celery/queue"  # read by dagster-celery's launcher
CELERY_PRIORITY_TAG = "dagster-celery/run_priority"  # broker priority, written by our launcher
DAGSTER_PRIORITY_TAG = "dagster/priority"  # the run's priority, higher first
TASK_ID_TAG = "dagster-celery/task_id"

# What an upload may say in `x-amz-meta-priority` (S3 object metadata `priority`).
PRIORITY_LEVELS = {"low": -5, "normal": 0, "high": 5, "urgent": 9}
MIN_PRIORITY, MAX_PRIORITY = -9, 9
METADATA_KEY = "priority"


class PriorityError(ValueError):
    """An upload's priority metadata is not a level name or an integer in range."""


def parse_priority(value: str | None) -> int:
    """The Dagster priority an upload asks for: a level name (low, normal, high, urgent) or an integer -9..9.

    Missing means normal (0). Anything else raises PriorityError naming the value and what is allowed.
    """
    if value is None or not value.strip():
        return 0
    text = value.strip().lower()
    if text in PRIORITY_LEVELS:
        return PRIORITY_LEVELS[text]
    try:
        number = int(text)
    except ValueError:
        raise PriorityError(
            f"priority {value!r} is not one of {', '.join(PRIORITY_LEVELS)} nor an integer "
            f"{MIN_PRIORITY}..{MAX_PRIORITY}"
        ) from None
    if not MIN_PRIORITY <= number <= MAX_PRIORITY:
        raise PriorityError(f"priority {number} is outside {MIN_PRIORITY}..{MAX_PRIORITY}")
    return number


def dagster_priority(tags: dict[str, str]) -> int:
    """The run's Dagster priority from its tags (0 when absent or not an integer), clamped to the range."""
    try:
        value = int(tags.get(DAGSTER_PRIORITY_TAG, "0"))
    except ValueError:
        return 0
    return max(MIN_PRIORITY, min(MAX_PRIORITY, value))


def broker_priority(priority: int) -> int:
    """Redis priority (0 first .. 9 last) for a Dagster priority (-9 .. 9, higher first): normal runs get 5."""
    return max(0, min(9, round(5 - priority * 5 / 9)))


def priority_tags(priority: int) -> dict[str, str]:
    """Run tags for an upload's priority; none for normal, so ordinary runs carry no extra tags."""
    return {} if priority == 0 else {DAGSTER_PRIORITY_TAG: str(priority)}


def start_order(priority: int, size: int | None) -> tuple[int, int]:
    """Sort key for runs created together: higher priority first, then the longer video (bigger object) first."""
    return (-priority, -(size or 0))
