"""`videoprism-search`: `build` indexes the Parquet output of `videoprism-embed`, `query` prints the top
hits of a text, `serve` runs the search page (building the index first when it is missing)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from videoprism_tools.embed.engines import open_embedder
from videoprism_tools.search.index import INDEX_FILE, SearchIndex, build_index

API_KEY_ENV = "VIDEOPRISM_API_KEY"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="videoprism-search", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("build", "query", "serve"):
        s = sub.add_parser(name)
        s.add_argument("embeddings", type=Path, help="output folder of videoprism-embed (Parquet)")
        s.add_argument("--index", type=Path, help="index folder (default: EMBEDDINGS/index)")
        if name == "build":
            s.add_argument("--no-thumbnails", action="store_true")
        else:
            s.add_argument("--server", help="service that embeds the query text (default: in-process engine)")
            s.add_argument("--bundle", help="bundle of the in-process engine (default: the demo bundle)")
            s.add_argument(
                "--api-key",
                default=os.environ.get(API_KEY_ENV),
                help=f"API key of the service (default: ${API_KEY_ENV}; the variable keeps it out of ps)",
            )
        if name == "query":
            s.add_argument("text")
            s.add_argument("-k", type=int, default=5)
        if name == "serve":
            s.add_argument("--host", default="127.0.0.1")
            s.add_argument("--port", type=int, default=8080)
            s.add_argument("--rebuild", action="store_true", help="rebuild the index even if it exists")
    return p


def _index_dir(args: argparse.Namespace) -> Path:
    return args.index or args.embeddings / "index"


def _ensure_index(args: argparse.Namespace, rebuild: bool = False) -> Path:
    index_dir = _index_dir(args)
    if rebuild or not (index_dir / INDEX_FILE).is_file():
        print(f"indexed {build_index(args.embeddings, index_dir)} rows into {index_dir}", file=sys.stderr)
    return index_dir


async def _query(args: argparse.Namespace) -> int:
    index = SearchIndex(_ensure_index(args))
    embedder = await open_embedder(args.server, bundle=args.bundle, api_key=args.api_key)
    try:
        result = (await embedder.embed_texts([args.text])).results[0]
    finally:
        await embedder.close()
    if result.embedding is None:
        print(f"videoprism-search: {result.error}", file=sys.stderr)
        return 1
    for rank, hit in enumerate(index.search(result.embedding, args.k), start=1):
        where = (
            "" if hit.segment_start is None else f" [{hit.segment_start:.1f}-{hit.segment_end or 0:.1f} s]"
        )
        print(f"{rank}. {hit.score:.4f} {hit.id}{where}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from videoprism_tools.search.app import create_search_app

    index = SearchIndex(_ensure_index(args, args.rebuild))
    app = create_search_app(
        index, lambda: open_embedder(args.server, bundle=args.bundle, api_key=args.api_key)
    )
    print(f"search page on http://{args.host}:{args.port}/ ({len(index)} rows)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "build":
        count = build_index(args.embeddings, _index_dir(args), thumbnails=not args.no_thumbnails)
        print(f"indexed {count} rows into {_index_dir(args)}")
        return 0
    if args.command == "query":
        return asyncio.run(_query(args))
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
