"""Both committed copies of the gRPC stubs (server and client) are exactly what
`python -m service.grpc_api.codegen` generates from the proto."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.grpc_api.codegen import COPIES, GEN_FILES, StubCopy, generate


@pytest.mark.parametrize("copy", COPIES, ids=lambda c: c.package)
def test_committed_stubs_match_the_proto(tmp_path: Path, copy: StubCopy) -> None:
    fresh = generate(tmp_path, copy)
    stale = [name for name in GEN_FILES if (copy.directory / name).read_text(encoding="utf-8") != fresh[name]]
    assert stale == [], f"regenerate with `python -m service.grpc_api.codegen`: {stale}"


def test_every_proto_field_is_commented() -> None:
    proto = (Path(__file__).resolve().parents[2] / "proto/videoprism/v1/embedding.proto").read_text(
        encoding="utf-8"
    )
    lines = proto.splitlines()
    uncommented = []
    for i, line in enumerate(lines):
        text = line.strip()
        is_field = text.endswith(";") and "=" in text and not text.startswith(("syntax", "package", "//"))
        if is_field and not lines[i - 1].strip().startswith("//"):
            uncommented.append(text)
    assert uncommented == []
