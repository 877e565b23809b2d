"""The open-loop driver keeps its schedule while the server stalls and charges the stall to every request
that was due during it (no coordinated omission); the closed loop, by design, records the stall once.

Time is a virtual clock advanced only by the fake server, so these tests assert exact values, not timings.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.loadgen.runner import closed_loop, open_loop


class VirtualServer:
    """A serial server on a virtual clock: request 0 takes `stall_s`, every other one `service_s`."""

    def __init__(self, stall_s: float, service_s: float) -> None:
        self.now = 0.0
        self.busy_until = 0.0
        self.stall_s = stall_s
        self.service_s = service_s
        self.sent_at: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """The generator's idle wait advances virtual time instead of real time."""
        self.now += seconds
        await asyncio.sleep(0)

    async def send(self, index: int) -> str:
        self.sent_at.append(self.now)
        start = max(self.now, self.busy_until)
        self.busy_until = start + (self.stall_s if index == 0 else self.service_s)
        # The virtual clock jumps to this request's completion (all others are queued behind it).
        while self.now < self.busy_until:
            await asyncio.sleep(0)
            self.now = max(self.now, self.busy_until)
        return "200"


async def test_open_loop_charges_the_stall_to_every_request_due_during_it() -> None:
    server = VirtualServer(stall_s=1.0, service_s=0.001)
    result = await open_loop(
        server.send, rate_rps=100, duration_s=2.0, clock=server.clock, sleep=server.sleep
    )
    assert len(result.samples) == 200 and result.not_sent == 0
    late = [s for s in result.samples if 0 < s.due_s < 1.0]
    # Every request due during the 1 s stall waited at least until the stall ended.
    assert len(late) == 99
    assert all(s.end_s >= 1.0 for s in late)
    assert all(s.latency_s >= 1.0 - s.due_s - 1e-9 for s in late)
    assert result.summary().p50_ms > 1.0  # more than half the requests were hit by the stall


async def test_closed_loop_sees_the_stall_once() -> None:
    server = VirtualServer(stall_s=1.0, service_s=0.001)
    result = await closed_loop(server.send, concurrency=1, duration_s=2.0, clock=server.clock)
    slow = [s for s in result.samples if s.latency_s >= 0.5]
    assert len(slow) == 1
    assert result.summary().p50_ms == pytest.approx(1.0)


async def test_open_loop_reports_what_it_could_not_send() -> None:
    gate = asyncio.Event()

    async def hang(index: int) -> str:
        await gate.wait()
        return "200"

    async def release_later() -> None:
        await asyncio.sleep(0.2)
        gate.set()

    releaser = asyncio.create_task(release_later())
    result = await open_loop(hang, rate_rps=1000, duration_s=0.05, max_in_flight=10)
    await releaser
    assert len(result.samples) + result.not_sent == 50
    assert len(result.samples) == 10
