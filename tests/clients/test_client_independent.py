"""The SDK stands alone: importing it in a fresh interpreter loads none of the server's dependencies; its gRPC
stubs come from `videoprism_proto`, the one copy it shares with the server. (tests/test_import_boundaries.py
checks the same rule in the source, imports inside functions included; tests/api/test_proto_fresh.py that the
committed stubs are what codegen makes from the proto.)"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_ROOTS = ("service", "fastapi", "onnxruntime", "torch", "starlette", "uvicorn", "training")
_USE_THE_CLIENT = (
    "import videoprism_client\n"
    "from videoprism_client import HttpClient, GrpcClient, AsyncHttpClient, AsyncGrpcClient\n"
    "GrpcClient('127.0.0.1:1').close(); HttpClient('http://127.0.0.1:1').close()\n"
)


def _loaded_after(code: str) -> tuple[list[str], list[str]]:
    """Runs `code` in a fresh interpreter from the repo root (so `service` is importable there, and an import
    of it would succeed and show) and returns (server modules loaded, `videoprism_proto` modules loaded)."""
    probe = (
        "import sys\n"
        f"{code}"
        f"roots = {set(SERVER_ROOTS)!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'videoprism_proto'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    server, stubs = result.stdout.strip().splitlines()
    return ast.literal_eval(server), ast.literal_eval(stubs)


def test_client_imports_without_server_dependencies() -> None:
    server, stubs = _loaded_after(_USE_THE_CLIENT)
    assert server == []
    # The client reached its stubs through the shared package, not through a server copy.
    assert "videoprism_proto.embedding_pb2_grpc" in stubs


def test_the_probe_sees_a_server_import() -> None:
    # What the test above would report if any client module imported the server.
    server, _ = _loaded_after(_USE_THE_CLIENT + "import service.grpc_api.errors\n")
    assert "service" in server
