"""A real server process moves what start-up made out of the cyclic collector's reach once it is ready; an
in-thread test server (freeze_gc off) leaves the test process's collector alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, sys
    from service.server import ServiceProcess
    from service.settings import Settings

    async def main():
        settings = Settings(bundle=sys.argv[1], http_port=0, grpc_port=0, device="cpu", cache="none")
        process = ServiceProcess(settings, freeze_gc=sys.argv[2] == "on")
        run = asyncio.create_task(process.run(install_signals=False))
        while not process.context.ready:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the freeze follows readiness on the same task
        print(gc.get_freeze_count())
        process.request_stop()
        await run

    asyncio.run(main())
    """
)


@pytest.mark.parametrize(("mode", "frozen"), [("on", True), ("off", False)])
def test_a_ready_server_freezes_its_start_up_objects(mode: str, frozen: bool) -> None:
    bundle = ROOT / "service" / "demo_bundle"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bundle), mode],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    count = int(out.stdout.split()[-1])
    assert count > 10_000 if frozen else count == 0
