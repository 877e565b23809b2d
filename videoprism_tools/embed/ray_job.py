"""The same bulk job on a Ray cluster: a Ray Dataset of sources (read from the manifest by `ray.data`
when one manifest is given), embedded by a pool of actors that each hold the in-process ONNX engine, or by
plain tasks that each call a running service, then written as Parquet parts into the output folder.

Every worker must see the videos: use URLs, or paths on storage shared by all nodes; the output folder
must be shared too when the cluster has more than one node.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from videoprism_client import VideoOptions
from videoprism_tools.embed.engines import LocalEmbedder, open_embedder
from videoprism_tools.embed.output import OutputWriter, Row
from videoprism_tools.embed.runner import BulkJob, BulkSummary, Failure, ListSink
from videoprism_tools.embed.sources import Source, is_url

Batch = dict[str, Any]


@dataclass(frozen=True)
class RayJobConfig:
    server: str | None = None  # None: the in-process engine, one per actor
    bundle: str | None = None
    api_key: str | None = None
    options: VideoOptions = field(default_factory=VideoOptions)
    batch_size: int = 4  # videos per request / per engine call
    block_size: int = 16  # sources handed to one actor or task at a time
    workers: int = 2  # actors (local engine) or concurrent tasks (service)
    concurrency: int = 2  # requests in flight inside one actor or task


def _to_output(job: BulkJob, sink: ListSink) -> Batch:
    """Embedded rows and failures in one columnar batch; `error_code` tells them apart."""
    cols: dict[str, list[Any]] = {k: [] for k in ("id", "source", "segment_index", "segment_start",
                                                  "segment_end", "vector", "model", "error_code", "error_message")}  # fmt: skip
    for r in sink.rows:
        for key, value in (("id", r.id), ("source", r.source), ("segment_index", r.segment_index),
                           ("segment_start", r.segment_start), ("segment_end", r.segment_end),
                           ("vector", np.asarray(r.vector, dtype=np.float32)), ("model", r.model),
                           ("error_code", ""), ("error_message", "")):  # fmt: skip
            cols[key].append(value)
    for f in job.summary.failures:
        for key, value in (("id", f.id), ("source", f.source), ("segment_index", -1), ("segment_start", None),
                           ("segment_end", None), ("vector", np.zeros(0, np.float32)), ("model", ""),
                           ("error_code", f.code), ("error_message", f.message)):  # fmt: skip
            cols[key].append(value)
    return cols


def _sources(batch: Batch) -> list[Source]:
    return [
        Source(id=str(i), location=str(loc)) for i, loc in zip(batch["id"], batch["location"], strict=True)
    ]


async def _embed_block(embedder: Any, sources: list[Source], config: RayJobConfig) -> Batch:
    sink = ListSink()
    job = BulkJob(embedder, sink, options=config.options, batch_size=config.batch_size,
                  concurrency=config.concurrency)  # fmt: skip
    await job.run(sources, set())
    return _to_output(job, sink)


class LocalEngineActor:
    """Holds one in-process engine (ONNX sessions) for its lifetime, on its own event loop."""

    def __init__(self, config: RayJobConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        # One ONNX thread per actor: parallelism comes from the number of actors.
        embedder = LocalEmbedder(config.bundle, intra_op_threads=1, log_json=False)
        self.embedder = self.loop.run_until_complete(embedder.start())

    def __call__(self, batch: Batch) -> Batch:
        return self.loop.run_until_complete(_embed_block(self.embedder, _sources(batch), self.config))


def service_task(batch: Batch, config: RayJobConfig) -> Batch:
    """One Ray task: a fresh client of the service for this block of sources."""

    async def run() -> Batch:
        embedder = await open_embedder(config.server, api_key=config.api_key)
        try:
            return await _embed_block(embedder, _sources(batch), config)
        finally:
            await embedder.close()

    return asyncio.run(run())


def _normalize(batch: Batch, base: str) -> Batch:
    """Manifest rows (as `ray.data` read them) → id/location columns, the same rules as `sources.manifest`."""
    n = len(next(iter(batch.values())))
    ids, locations = [], []
    for i in range(n):
        location = next((str(batch[k][i]) for k in ("url", "path", "video", "source")
                         if k in batch and batch[k][i]), "")  # fmt: skip
        raw_id = batch["id"][i] if "id" in batch else None
        ids.append(str(raw_id) if raw_id else location)
        locations.append(location if is_url(location) else str((Path(base) / location).resolve()))
    return {"id": ids, "location": locations}


def build_dataset(sources: list[Source], manifest: Path | None, done: set[str]) -> Any:
    import ray.data

    if manifest is not None:
        reader = ray.data.read_csv if manifest.suffix == ".csv" else ray.data.read_json
        # A partial rather than fn_kwargs: Ray drops fn_kwargs when it fuses this map with the next one.
        normalize = functools.partial(_normalize, base=str(manifest.resolve().parent))
        ds = reader(str(manifest.resolve())).map_batches(normalize, batch_format="numpy")
    else:
        ds = ray.data.from_items([{"id": s.id, "location": s.location} for s in sources])
    if done:
        ds = ds.filter(lambda row: row["id"] not in done)
    return ds


def run_on_ray(
    sources: list[Source],
    writer: OutputWriter,
    done: set[str],
    config: RayJobConfig,
    *,
    manifest: Path | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BulkSummary:
    """Embeds every source not in `done` on the connected Ray cluster. Results stream back to the driver
    block by block and go through the same `OutputWriter` as a local run, so an interrupted Ray job
    resumes like a local one."""
    started = time.monotonic()
    ds = build_dataset(sources, manifest, done)
    if config.server:
        out = ds.map_batches(service_task, fn_kwargs={"config": config}, batch_size=config.block_size,
                             batch_format="numpy", concurrency=config.workers)  # fmt: skip
    else:
        out = ds.map_batches(LocalEngineActor, fn_constructor_kwargs={"config": config},
                             batch_size=config.block_size, batch_format="numpy",
                             concurrency=config.workers, num_cpus=1)  # fmt: skip
    summary = BulkSummary(total=len(sources), skipped=len(done & {s.id for s in sources}))
    try:
        for block in out.iter_batches(batch_format="pyarrow", batch_size=None):
            seen: set[str] = set()
            for r in block.to_pylist():
                seen.add(r["id"])
                if r["error_code"]:
                    summary.failures.append(
                        Failure(r["id"], r["source"], r["error_code"], r["error_message"])
                    )
                    continue
                writer.add([Row(r["id"], r["source"], r["segment_index"], r["segment_start"], r["segment_end"],
                                r["model"], np.asarray(r["vector"], dtype=np.float32))])  # fmt: skip
            summary.embedded += len(seen) - len({f.id for f in summary.failures} & seen)
            if on_progress is not None:
                on_progress(len(seen))
    finally:
        writer.close()
        summary.rows_written = writer.rows_written
        summary.elapsed_s = time.monotonic() - started
    return summary
