"""The bulk loop: skip what the output already holds, embed the rest in batches with bounded concurrency,
write rows as batches finish, count failures by code."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from videoprism_client import Video, VideoOptions, VideoPrismError, VideoResult
from videoprism_tools.embed.engines import AsyncEmbedder, SegmentStreamer
from videoprism_tools.embed.long_inputs import streamed_rows
from videoprism_tools.embed.output import Row
from videoprism_tools.embed.sources import Source

FAILURES_FILE = "failures.jsonl"
# Request-level codes that say nothing about the items themselves: retrying them one by one would not help.
_NOT_ITEM_SPECIFIC = frozenset({"overloaded", "draining", "not_ready", "unavailable", "deadline_exceeded",
                                "unauthenticated", "permission_denied"})  # fmt: skip


@dataclass
class Failure:
    id: str
    source: str
    code: str
    message: str


@dataclass
class BulkSummary:
    total: int = 0
    skipped: int = 0
    embedded: int = 0
    rows_written: int = 0
    elapsed_s: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    @property
    def failures_by_code(self) -> dict[str, int]:
        return dict(Counter(f.code for f in self.failures).most_common())

    def describe(self) -> str:
        lines = [
            f"{self.total} inputs: {self.embedded} embedded, {self.skipped} already done, "
            f"{len(self.failures)} failed; {self.rows_written} rows written in {self.elapsed_s:.1f} s"
        ]
        lines += [f"  {code}: {count}" for code, count in self.failures_by_code.items()]
        return "\n".join(lines)


class RowSink(Protocol):
    """Where rows go: an `OutputWriter` (files) or a `ListSink` (a Ray task's return value)."""

    rows_written: int

    def add(self, rows: list[Row]) -> None: ...

    def close(self) -> None: ...


class ListSink:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.rows_written = 0

    def add(self, rows: list[Row]) -> None:
        self.rows.extend(rows)
        self.rows_written += len(rows)

    def close(self) -> None:
        pass


def rows_for(source: Source, result: VideoResult, model: str, options: VideoOptions) -> list[Row]:
    """One row per segment when segmentation was asked for, else one whole-video row."""
    if result.segments:
        return [
            Row(source.id, source.location, i, s.start, s.end, model, s.embedding)
            for i, s in enumerate(result.segments)
        ]
    assert result.embedding is not None
    return [
        Row(source.id, source.location, -1, options.clip_start, options.clip_end, model, result.embedding)
    ]


def _load(source: Source) -> Video:
    return Video(url=source.location) if source.is_url else Video.from_path(source.location)


class BulkJob:
    def __init__(
        self,
        embedder: AsyncEmbedder,
        writer: RowSink,
        *,
        options: VideoOptions | None = None,
        batch_size: int = 4,
        concurrency: int = 4,
        on_progress: Callable[[int], None] | None = None,
        segment_progress: bool = False,
    ) -> None:
        self.embedder = embedder
        self.writer = writer
        self.options = options or VideoOptions()
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.on_progress = on_progress or (lambda n: None)
        self.segment_progress = segment_progress
        self.summary = BulkSummary()

    def _fail(self, source: Source, code: str, message: str) -> None:
        self.summary.failures.append(Failure(source.id, source.location, code, message))

    async def _embed(self, batch: list[Source]) -> None:
        loaded: list[tuple[Source, Video]] = []
        for source in batch:
            try:
                loaded.append((source, await asyncio.to_thread(_load, source)))
            except OSError as exc:
                self._fail(source, "read_failed", str(exc))
        if not loaded:
            return
        try:
            response = await self.embedder.embed_videos([v for _, v in loaded], self.options)
        except VideoPrismError as error:
            if len(loaded) > 1 and error.code not in _NOT_ITEM_SPECIFIC:
                # One input may have sunk the whole request (e.g. too large): find it by going one by one.
                for source, _ in loaded:
                    await self._embed([source])
                return
            for source, _ in loaded:
                self._fail(source, error.code, error.message)
            return
        for (source, video), result in zip(loaded, response.results, strict=True):
            if result.error is not None:
                self._fail(source, result.error.code, result.error.message)
                continue
            rows = rows_for(source, result, response.model, self.options)
            if result.truncated and isinstance(self.embedder, SegmentStreamer):
                # The answer was cut at the server's per-request cap: stream every segment instead.
                try:
                    rows = await streamed_rows(
                        self.embedder, source, video, self.options, response.model, self.segment_progress
                    )
                except VideoPrismError as error:
                    self._fail(source, error.code, error.message)
                    continue
            self.writer.add(rows)
            self.summary.embedded += 1

    async def run(self, sources: list[Source], done: set[str]) -> BulkSummary:
        started = time.monotonic()
        todo = [s for s in sources if s.id not in done]
        self.summary.total, self.summary.skipped = len(sources), len(sources) - len(todo)
        batches = [todo[i : i + self.batch_size] for i in range(0, len(todo), self.batch_size)]
        slots = asyncio.Semaphore(self.concurrency)

        async def one(batch: list[Source]) -> None:
            async with slots:
                await self._embed(batch)
                self.on_progress(len(batch))

        try:
            await asyncio.gather(*(one(b) for b in batches))
        finally:
            # Whatever finished is kept even when interrupted, so the next run resumes after it.
            self.writer.close()
            self.summary.rows_written = self.writer.rows_written
            self.summary.elapsed_s = time.monotonic() - started
        return self.summary


def append_failures(folder: Path, failures: list[Failure]) -> None:
    if failures:
        with (folder / FAILURES_FILE).open("a", encoding="utf-8") as handle:
            for f in failures:
                handle.write(json.dumps(f.__dict__) + "\n")
