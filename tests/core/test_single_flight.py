from __future__ import annotations

import asyncio

import pytest

from service.core.single_flight import SingleFlight


async def test_thousand_concurrent_callers_compute_once() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def compute() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    callers = [asyncio.ensure_future(flights.run("k", compute)) for _ in range(1000)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*callers) == [42] * 1000
    assert calls == 1
    assert flights.in_flight == 0


async def test_errors_are_shared_and_not_remembered() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    attempts = 0

    async def failing() -> int:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    outcomes = await asyncio.gather(*(flights.run("k", failing) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(o, ValueError) for o in outcomes) and attempts == 1

    async def ok() -> int:
        return 7

    assert await flights.run("k", ok) == 7


async def test_one_caller_leaving_does_not_cancel_the_others() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    release = asyncio.Event()

    async def compute() -> str:
        await release.wait()
        return "done"

    leaver = asyncio.ensure_future(flights.run("k", compute))
    stayer = asyncio.ensure_future(flights.run("k", compute))
    await asyncio.sleep(0)
    leaver.cancel()
    await asyncio.sleep(0)
    release.set()
    assert await stayer == "done"
    with pytest.raises(asyncio.CancelledError):
        await leaver


async def test_last_caller_leaving_cancels_the_computation() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    cancelled = asyncio.Event()

    async def compute() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    callers = [asyncio.ensure_future(flights.run("k", compute)) for _ in range(3)]
    await asyncio.sleep(0.01)
    for caller in callers:
        caller.cancel()
    await asyncio.wait_for(cancelled.wait(), 1)
    assert flights.in_flight == 0

    async def fresh() -> str:
        return "fresh"

    assert await flights.run("k", fresh) == "fresh"
