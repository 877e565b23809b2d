"""Long inputs: every segment of one video through the segment stream, with a per-video progress bar
(the answer path stops at the server's per-request segment cap)."""

from __future__ import annotations

import contextlib
import sys

from tqdm import tqdm

from videoprism_client import StreamedSegment, Video, VideoOptions
from videoprism_tools.embed.engines import SegmentStreamer
from videoprism_tools.embed.output import Row
from videoprism_tools.embed.sources import Source


async def streamed_rows(
    embedder: SegmentStreamer, source: Source, video: Video, options: VideoOptions, model: str, progress: bool
) -> list[Row]:
    rows: list[Row] = []
    bar = tqdm(desc=source.id, unit="segment", leave=False, disable=not progress, file=sys.stderr)
    stream = embedder.embed_video_segments(video, options)
    try:
        async with contextlib.aclosing(stream):
            async for item in stream:
                if isinstance(item, StreamedSegment):
                    bar.total = item.total
                    bar.update(1)
                    rows.append(
                        Row(
                            source.id,
                            source.location,
                            item.index,
                            item.start,
                            item.end,
                            model,
                            item.embedding,
                        )
                    )
    finally:
        bar.close()
    return rows
