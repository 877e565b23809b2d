"""The service never imports torch: checked in a fresh interpreter after importing everything it serves."""

from __future__ import annotations

import subprocess
import sys


def test_service_imports_without_torch() -> None:
    code = (
        "import sys, service, service.server, service.cli\n"
        "from service.http_api import create_app\n"
        "from service.grpc_api.server import build_grpc_server\n"
        "create_app()\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'training')))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
