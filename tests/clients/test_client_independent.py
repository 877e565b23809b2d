"""The SDK stands alone: importing it in a fresh interpreter loads none of the server's dependencies. (That
its committed stubs are what codegen makes from the proto is checked with the server's copy, in
tests/api/test_proto_fresh.py.)"""

from __future__ import annotations

import subprocess
import sys


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
