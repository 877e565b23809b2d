"""`videoprism-serve`: reads `Settings` from `VIDEOPRISM_*` (flags override the common ones) and runs the
HTTP + gRPC process until SIGTERM/SIGINT; exits 0 after a graceful drain."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from service.logging import configure_logging
from service.server import run
from service.settings import Settings


def parse_args(argv: list[str] | None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="videoprism-serve",
        description="Serve VideoPrism embeddings over HTTP and gRPC. See the README's settings table.",
    )
    parser.add_argument("--bundle", help="bundle directory (VIDEOPRISM_BUNDLE)")
    parser.add_argument("--http-host", help="VIDEOPRISM_HTTP_HOST")
    parser.add_argument("--http-port", type=int, help="VIDEOPRISM_HTTP_PORT")
    parser.add_argument("--grpc-host", help="VIDEOPRISM_GRPC_HOST")
    parser.add_argument("--grpc-port", type=int, help="VIDEOPRISM_GRPC_PORT")
    parser.add_argument("--redis-url", help="VIDEOPRISM_REDIS_URL")
    parser.add_argument("--log-level", help="VIDEOPRISM_LOG_LEVEL")
    args = vars(parser.parse_args(argv))
    return {key: value for key, value in args.items() if value is not None}


def main(argv: list[str] | None = None) -> int:
    settings = Settings(**parse_args(argv))
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
