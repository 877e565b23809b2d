"""The SDK stands alone: its committed stubs are what codegen makes from the proto, and importing it in a
fresh interpreter loads none of the server's dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from videoprism_client._gen.codegen import GEN_DIR, GEN_FILES, generate


def test_committed_client_stubs_match_the_proto(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    stale = [name for name in GEN_FILES if (GEN_DIR / name).read_text(encoding="utf-8") != fresh[name]]
    assert stale == [], f"regenerate with `python -m videoprism_client._gen.codegen`: {stale}"


def test_client_imports_without_server_dependencies() -> None:
    code = (
        "import sys, videoprism_client\n"
        "from videoprism_client import HttpClient, GrpcClient, AsyncHttpClient, AsyncGrpcClient\n"
        "GrpcClient('127.0.0.1:1').close(); HttpClient('http://127.0.0.1:1').close()\n"
        "roots = {'service', 'fastapi', 'onnxruntime', 'torch', 'starlette', 'uvicorn', 'training'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
