"""`videoprism-embed`: embed a folder, glob, manifest (JSONL/CSV) or URLs into an output folder, through a
running service (`--server`), the in-process engine (default), or a Ray cluster (`--ray`).

Exit status: 0 when every input is embedded (now or by an earlier run), 1 when some failed (see the
summary and `failures.jsonl`), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from videoprism_client import VideoOptions
from videoprism_tools.embed.engines import open_embedder
from videoprism_tools.embed.output import OutputWriter, existing_ids
from videoprism_tools.embed.runner import BulkJob, BulkSummary, append_failures
from videoprism_tools.embed.sources import MANIFEST_SUFFIXES, Source, expand


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="videoprism-embed", description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="*", help="folders, files, globs, .jsonl/.csv manifests or http(s) URLs")
    p.add_argument(
        "-o", "--output", required=True, type=Path, help="output folder (created; resumed if it exists)"
    )
    p.add_argument("--urls", action="append", default=[], help="a file with one URL or path per line")
    p.add_argument("--server", help="http(s)://host:port or grpc://host:port of a running service")
    p.add_argument("--bundle", help="bundle folder for the in-process engine (default: the demo bundle)")
    p.add_argument(
        "--api-key",
        default=os.environ.get("VIDEOPRISM_API_KEY"),
        help="API key of the service (default: $VIDEOPRISM_API_KEY; the variable keeps it out of ps)",
    )
    p.add_argument("--format", choices=("parquet", "npy"), default="parquet")
    p.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    p.add_argument("--batch-size", type=int, default=4, help="videos per request (default 4)")
    p.add_argument("--segment-seconds", type=float, help="also cut videos into segments of this length")
    p.add_argument("--clip-start", type=float, help="embed only from this second")
    p.add_argument("--clip-end", type=float, help="embed only up to this second")
    p.add_argument("--timeout", type=float, default=300.0, help="deadline of one request, retries included")
    p.add_argument("--flush-every", type=int, default=256, help="rows per output part")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--ray", action="store_true", help="run on a Ray cluster (see docs/clients.md)")
    p.add_argument("--ray-address", help="Ray cluster address (default: start a local Ray instance)")
    p.add_argument("--ray-workers", type=int, default=2, help="Ray actors or concurrent tasks")
    return p


def _progress(total: int, enabled: bool) -> tuple[object, object]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="video", disable=not enabled, dynamic_ncols=True, file=sys.stderr)
    return bar, bar.update


async def _run_local(args: argparse.Namespace, sources: list[Source], done: set[str]) -> BulkSummary:
    writer = OutputWriter(args.output, args.format, flush_every=args.flush_every)
    embedder = await open_embedder(
        args.server, bundle=args.bundle, api_key=args.api_key, timeout_s=args.timeout
    )
    bar, update = _progress(len([s for s in sources if s.id not in done]), not args.no_progress)
    try:
        job = BulkJob(embedder, writer, options=_options(args), batch_size=args.batch_size,
                      concurrency=args.concurrency, on_progress=update,  # type: ignore[arg-type]
                      segment_progress=not args.no_progress)  # fmt: skip
        return await job.run(sources, done)
    finally:
        bar.close()  # type: ignore[attr-defined]
        await embedder.close()


def _run_ray(args: argparse.Namespace, sources: list[Source], done: set[str]) -> BulkSummary:
    import ray

    from videoprism_tools.embed.ray_job import RayJobConfig, run_on_ray

    if args.format != "parquet":
        raise SystemExit("--ray writes Parquet only")
    manifests = [Path(i) for i in args.inputs if Path(i).suffix in MANIFEST_SUFFIXES and Path(i).is_file()]
    manifest = manifests[0] if len(args.inputs) == 1 and len(manifests) == 1 and not args.urls else None
    # A caller (a notebook, a test) that already connected keeps its Ray session; otherwise we own one.
    owned = not ray.is_initialized()
    if owned:
        ray.init(address=args.ray_address, include_dashboard=False, log_to_driver=False)
    config = RayJobConfig(server=args.server, bundle=args.bundle, api_key=args.api_key, options=_options(args),
                          batch_size=args.batch_size, workers=args.ray_workers, concurrency=args.concurrency)  # fmt: skip
    writer = OutputWriter(args.output, "parquet", flush_every=args.flush_every)
    bar, update = _progress(len([s for s in sources if s.id not in done]), not args.no_progress)
    try:
        return run_on_ray(sources, writer, done, config, manifest=manifest, on_progress=update)  # type: ignore[arg-type]
    finally:
        bar.close()  # type: ignore[attr-defined]
        if owned:
            ray.shutdown()


def _options(args: argparse.Namespace) -> VideoOptions:
    return VideoOptions(
        clip_start=args.clip_start, clip_end=args.clip_end, segment_seconds=args.segment_seconds
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        sources = expand(args.inputs, args.urls)
    except ValueError as exc:
        print(f"videoprism-embed: {exc}", file=sys.stderr)
        return 2
    if not sources:
        print("videoprism-embed: nothing to embed", file=sys.stderr)
        return 2
    done = existing_ids(args.output)
    summary = _run_ray(args, sources, done) if args.ray else asyncio.run(_run_local(args, sources, done))
    append_failures(args.output, summary.failures)
    print(summary.describe())
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
