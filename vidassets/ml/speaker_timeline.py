"""A small speaker-timeline PNG (who spoke when) for the Dagster UI."""

import io
from collections.abc import Sequence

from vidassets.ml.speech_types import Turn


def speaker_timeline_png(turns: Sequence[Turn], duration_s: float, *, width_in: float = 8.0) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    speakers = sorted({t.speaker for t in turns})
    fig, ax = plt.subplots(figsize=(width_in, 0.45 * len(speakers) + 0.8), dpi=80)
    colors = plt.get_cmap("tab10")
    for row, speaker in enumerate(speakers):
        spans = [(t.start, t.end - t.start) for t in turns if t.speaker == speaker]
        ax.broken_barh(spans, (row - 0.4, 0.8), color=colors(row % 10))
    ax.set_yticks(range(len(speakers)), speakers)
    ax.set_xlim(0, max(duration_s, max((t.end for t in turns), default=0.0)))
    ax.set_xlabel("seconds")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
