"""gRPC ecosystem fit over real channels: a v1 reflection client (what grpcurl speaks) lists and describes
the services, v1alpha still answers, every completed RPC carries `server-timing` trailers, and the
connection-age setting really closes old connections."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.grpc_api.reflection import v1_file_descriptor
from service.grpc_api.server import server_options
from service.settings import Settings
from tests.api.server_thread import ServerThread
from videoprism_proto import embedding_pb2 as pb
from videoprism_proto import embedding_pb2_grpc as pb_grpc

V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def _v1_messages() -> tuple[Any, Any]:
    """v1 request/response classes from the published v1 proto's layout, in a pool of their own."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(v1_file_descriptor())
    request = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest")
    )
    response = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse")
    )
    return request, response


async def _ask_v1(channel: grpc.aio.Channel, *requests: Any) -> list[Any]:
    request_cls, response_cls = _v1_messages()
    del request_cls
    call = channel.stream_stream(
        V1_METHOD,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response_cls.FromString,
    )

    async def ask() -> AsyncIterator[Any]:
        for request in requests:
            yield request

    return [answer async for answer in call(ask())]


async def test_v1_reflection_lists_and_describes_the_services(server: ServerThread) -> None:
    request_cls, _ = _v1_messages()
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        listed, described, v1_self = await _ask_v1(
            channel,
            request_cls(list_services=""),
            request_cls(file_containing_symbol="videoprism.v1.EmbeddingService"),
            request_cls(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
        )
    names = {service.name for service in listed.list_services_response.service}
    assert {
        "videoprism.v1.EmbeddingService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in described.file_descriptor_response.file_descriptor_proto
    ]
    services = {f"{f.package}.{s.name}": [m.name for m in s.method] for f in files for s in f.service}
    assert "EmbedText" in services["videoprism.v1.EmbeddingService"]
    v1_files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in v1_self.file_descriptor_response.file_descriptor_proto
    ]
    assert [f.package for f in v1_files] == ["grpc.reflection.v1"]


async def test_v1alpha_reflection_still_answers(server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        answers = [a async for a in stub.ServerReflectionInfo(ask())]
    names = {s.name for s in answers[0].list_services_response.service}
    assert {"videoprism.v1.EmbeddingService", "grpc.reflection.v1.ServerReflection"} <= names


async def test_completed_rpcs_carry_server_timing_next_to_the_request_id(server: ServerThread) -> None:
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.EmbeddingServiceStub(channel)
        started = time.perf_counter()
        call = stub.EmbedText(pb.EmbedTextRequest(texts=["a dog runs"]), metadata=(("x-request-id", "t-1"),))
        await call
        client_ms = (time.perf_counter() - started) * 1000
        trailing = dict(await call.trailing_metadata())
        info_call = stub.GetModelInfo(pb.GetModelInfoRequest())
        await info_call
        info_trailing = dict(await info_call.trailing_metadata())
    match = re.fullmatch(r"total;dur=(\d+\.\d{2})", str(trailing["server-timing"]))
    assert match is not None, trailing
    assert 0 < float(match.group(1)) <= client_ms
    assert trailing["x-request-id"] == "t-1"
    assert str(info_trailing["server-timing"]).startswith("total;dur=")


def test_connection_settings_become_grpc_options() -> None:
    options = dict(
        server_options(
            Settings(
                grpc_keepalive_time_s=30,
                grpc_keepalive_timeout_s=5,
                grpc_min_ping_interval_s=2.5,
                grpc_max_connection_age_s=300,
                grpc_max_connection_age_grace_s=20,
                grpc_max_connection_idle_s=600,
            )
        )
    )
    assert options["grpc.keepalive_time_ms"] == 30_000 and options["grpc.keepalive_timeout_ms"] == 5_000
    assert options["grpc.http2.min_ping_interval_without_data_ms"] == 2_500
    assert options["grpc.max_connection_age_ms"] == 300_000
    assert options["grpc.max_connection_age_grace_ms"] == 20_000
    assert options["grpc.max_connection_idle_ms"] == 600_000
    defaults = dict(server_options(Settings()))
    assert "grpc.max_connection_age_ms" not in defaults and "grpc.max_connection_idle_ms" not in defaults


@pytest.fixture(scope="module")
def aging_server(make_settings: Callable[..., Settings]) -> Iterator[ServerThread]:
    running = ServerThread(
        make_settings(grpc_max_connection_age_s=0.5, grpc_max_connection_age_grace_s=0.5)
    ).start()
    yield running
    running.stop()


async def _state_after_idle(target: str, seconds: float) -> grpc.ChannelConnectivity:
    async with grpc.aio.insecure_channel(target) as channel:
        await pb_grpc.EmbeddingServiceStub(channel).GetModelInfo(pb.GetModelInfoRequest())
        assert channel.get_state() == grpc.ChannelConnectivity.READY
        await asyncio.sleep(seconds)
        return channel.get_state()


async def test_max_connection_age_closes_old_connections(
    aging_server: ServerThread, server: ServerThread
) -> None:
    # GOAWAY after the age (plus jitter and grace) drops the client's channel out of READY; a server with
    # no age limit keeps the same connection open over the same idle time.
    aged, kept = await asyncio.gather(
        _state_after_idle(aging_server.grpc_target, 3.0), _state_after_idle(server.grpc_target, 3.0)
    )
    assert aged != grpc.ChannelConnectivity.READY
    assert kept == grpc.ChannelConnectivity.READY
