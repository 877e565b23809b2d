"""SIGTERM to one replica in the middle of steady HTTP and gRPC load through nginx: the clients see no failed
request, the drained replica exits 0, and the other replica answers everything from then on."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.cluster.conftest import Cluster
from tests.cluster.load import GrpcLoad, HttpLoad, drive
from tests.cluster.observe import Access, read_access_log, wait_for_access
from tests.cluster.processes import requires_tools

pytestmark = requires_tools

# Requests each stage must see before the next begins: counted, not timed, so a slow machine only
# makes the test take longer.
BEFORE = 40  # each replica has answered this many before the SIGTERM
AFTER = 60  # the survivor answers this many after the drained replica has exited
HTTP_WORKERS = 4
# The draining replica stops its gRPC server (GOAWAY, listener closed) when the drain begins, so nginx sees
# connection errors it re-sends to the other replica instead of passing UNAVAILABLE through to callers
# that may land on the draining replica again; many concurrent callers are therefore safe.
GRPC_WORKERS = 8


async def _wait_for(
    log: Path, offset: int, done: Callable[[list[Access]], bool], timeout_s: float = 60.0
) -> list[Access]:
    """Polls the access log from `offset` until `done(entries)`, yielding to the load in between."""
    deadline = time.monotonic() + timeout_s
    while True:
        entries = read_access_log(log, offset)
        if done(entries):
            return entries
        assert time.monotonic() < deadline, f"load did not progress: {len(entries)} requests logged"
        await asyncio.sleep(0.1)


async def test_sigterm_mid_load_loses_no_request(cluster: Cluster, clips: list[bytes]) -> None:
    leaving, staying = cluster.replicas
    log = cluster.nginx.access_log
    stop = asyncio.Event()

    def name(access: Access) -> str:
        return cluster.replica_at(access.port).name

    def refusals_absorbed(entries: list[Access]) -> bool:
        """nginx re-sent an HTTP request the leaving replica refused, and a gRPC call sent to the leaving
        replica was refused and re-sent: by nginx (its closed listener is a connection error), or by the
        client (a refusal nginx passed through, seen as more calls logged for it than the workers can
        have had in flight at the SIGTERM)."""
        http_retried = any(not a.grpc and len(a.upstreams) > 1 for a in entries)
        grpc_rerouted = any(a.grpc and len(a.upstreams) > 1 for a in entries)
        grpc_resent = sum(a.grpc and name(a) == leaving.name for a in entries) >= GRPC_WORKERS + 1
        return http_retried and (grpc_rerouted or grpc_resent)

    async with (
        HttpLoad(cluster.http_url, clips[1:]) as http,
        GrpcLoad(cluster.grpc_target) as rpc,
        httpx.AsyncClient(base_url=leaving.http_url, timeout=120) as direct,
    ):
        load = asyncio.create_task(drive([(http.send, HTTP_WORKERS), (rpc.send, GRPC_WORKERS)], stop))
        try:
            start = log.stat().st_size
            await _wait_for(
                log,
                start,
                lambda e: min(Counter(map(name, e)).get(r.name, 0) for r in cluster.replicas) >= BEFORE,
            )
            # An admitted request the leaving replica must finish while it drains: its download is held.
            held = asyncio.create_task(
                direct.post("/v1/embed/video", json={"videos": [{"url": cluster.origin.url("held")}]})
            )
            assert await asyncio.to_thread(cluster.origin.requested.wait, 60), (
                "the held request never started"
            )
            signalled = log.stat().st_size
            leaving.sigterm()
            sent_at = time.monotonic()
            # The drain lasts as long as the held download: until both retry paths have been exercised.
            await _wait_for(log, signalled, refusals_absorbed)
            cluster.origin.release.set()
            held_response = await held
            exit_code = await asyncio.to_thread(leaving.wait_exit, 60.0)
            drain_s = time.monotonic() - sent_at
            exited = log.stat().st_size
            await _wait_for(log, exited, lambda e: len(e) >= AFTER)
        finally:
            stop.set()
            outcomes = await load
    everything = wait_for_access(log, start, outcomes.total())
    during = read_access_log(log, signalled, exited)
    after = read_access_log(log, exited)
    retried = [a for a in during if len(a.upstreams) > 1]
    # A gRPC call the client re-sent shows up in nginx's log once per attempt.
    grpc_resent = sum(a.grpc for a in everything) - outcomes["grpc ok"]
    held_item = held_response.json()["data"][0] if held_response.status_code == 200 else {}
    print(
        f"\nload outcomes {dict(outcomes)}; replica {leaving.name} exit code {exit_code}, "
        f"{drain_s:.2f} s from SIGTERM to exit; held in-flight request: {held_response.status_code}; "
        f"while draining: {len(during)} requests, {len(retried)} re-sent by nginx "
        f"{[(a.path, a.upstream_statuses) for a in retried]}, {grpc_resent} gRPC attempts re-sent by the client; "
        f"after exit: {len(after)} requests answered by {dict(Counter(map(name, after)))}"
    )

    assert set(outcomes) == {"http ok", "grpc ok"}, outcomes  # zero failed requests, HTTP and gRPC
    assert exit_code == 0
    assert "embedding" in held_item, held_response.text  # admitted before the SIGTERM: finished
    assert all(a.status == 200 for a in everything), [a for a in everything if a.status != 200]
    assert {name(a) for a in after} == {staying.name}
    # Every request nginx re-sent was refused by the leaving replica (503 draining, or its closed
    # connection) and answered by the other one.
    for access in retried:
        assert cluster.replica_at(int(access.upstreams[0].rsplit(":", 1)[1])) is leaving
        assert name(access) == staying.name and access.upstream_statuses[-1] == "200"
    # gRPC refusals were absorbed too: re-sent by nginx (connection refused) or by the client's retry policy.
    assert grpc_resent > 0 or any(a.grpc for a in retried)
