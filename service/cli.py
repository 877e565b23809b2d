"""`videoprism-serve`: reads `Settings` from `VIDEOPRISM_*` and runs the HTTP + gRPC process until
SIGTERM/SIGINT; exits 0 after a graceful drain.

Every field of `Settings` is also a flag (`http_port` -> `--http-port`), generated from the model so a new
setting is a flag without touching this file; a flag overrides its environment variable. Values are passed
to `Settings` as the strings typed, so flags parse exactly like the environment (lists as "a,b" or JSON).
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from service.settings import Settings

PACKAGE = "videoprism-service"
ENV_PREFIX = "VIDEOPRISM_"


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _help(name: str, field: FieldInfo) -> str:
    default = "" if field.is_required() else f" (default: {field.get_default(call_default_factory=True)!r})"
    secret = "; prefer the variable: flags are visible in ps" if name == "api_keys" else ""
    return f"{ENV_PREFIX}{name.upper()}{default}{secret}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videoprism-serve",
        description="Serve VideoPrism embeddings over HTTP and gRPC. Every flag has a VIDEOPRISM_* "
        "variable (named in its help); the README's settings table documents each one.",
    )
    parser.add_argument(
        "--version", action="store_true", help="print the package and the bundle's versions, then exit"
    )
    for name, field in Settings.model_fields.items():
        parser.add_argument(flag_name(name), dest=name, metavar="VALUE", help=_help(name, field))
    return parser


def parse_args(argv: list[str] | None) -> tuple[dict[str, Any], bool]:
    """The flags given (as `Settings` keyword overrides) and whether `--version` was asked for."""
    args = vars(build_parser().parse_args(argv))
    version = bool(args.pop("version"))
    return {key: value for key, value in args.items() if value is not None}, version


def version_text(settings: Settings) -> str:
    """The package version, and the model name, version and content id of each configured bundle."""
    from service.errors import ServiceError
    from service.model_catalog import configured_bundles, read_manifest

    lines = [f"{PACKAGE} {metadata.version(PACKAGE)}"]
    try:
        entries = configured_bundles(settings)
    except ServiceError as error:
        return "\n".join([*lines, f"bundles: {error.message}"])
    for entry in entries:
        manifest = read_manifest(entry.path)
        if manifest is None:
            lines.append(f"bundle {entry.name} ({entry.path}): unreadable manifest")
        else:
            lines.append(
                f"bundle {manifest.model_name} {manifest.model_version} "
                f"(id {manifest.bundle_id}, {entry.path})"
                + ("" if entry.name == manifest.model_name else f" as {entry.name}")
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    overrides, version = parse_args(argv)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        # One line per bad setting, named as the flag and the variable, instead of a traceback.
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "settings"
            print(
                f"videoprism-serve: {flag_name(name)} / {ENV_PREFIX}{name.upper()}: {error['msg']}",
                file=sys.stderr,
            )
        return 2
    if version:
        print(version_text(settings))
        return 0
    # Imported here so `--version` and `--help` answer without loading the server stack.
    from service.logging import configure_logging
    from service.server import run

    configure_logging(settings.log_level, json_lines=settings.log_json)
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
