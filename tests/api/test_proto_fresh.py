"""The committed gRPC stubs in `videoprism_proto/` (the one copy the server and the client share) are exactly
what `python -m videoprism_proto.codegen` generates from the proto."""

from __future__ import annotations

from pathlib import Path

from videoprism_proto.codegen import GEN_FILES, PACKAGE_DIR, generate


def test_committed_stubs_match_the_proto(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    stale = [name for name in GEN_FILES if (PACKAGE_DIR / name).read_text(encoding="utf-8") != fresh[name]]
    assert stale == [], f"regenerate with `python -m videoprism_proto.codegen`: {stale}"


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
