"""Builds the grpc.aio server: the embedding service behind the front-door interceptor, the standard health
service (NOT_SERVING until the model is ready and again once draining), server reflection (v1 and v1alpha),
server-timing trailers, and the connection policy (message sizes, keep-alive, connection age)."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from service.app import ServiceContext
from service.grpc_api.interceptors import FrontDoorInterceptor
from service.grpc_api.reflection import enable_reflection
from service.grpc_api.servicer import EmbeddingServicer
from service.grpc_api.timing import ServerTimingInterceptor
from service.settings import Settings
from service.tracing import grpc_server_interceptors
from videoprism_proto import embedding_pb2, embedding_pb2_grpc

SERVICE_NAME = embedding_pb2.DESCRIPTOR.services_by_name["EmbeddingService"].full_name
# "" is the whole server's status, which is what most load balancers probe.
HEALTH_NAMES = ("", SERVICE_NAME)


class HealthReporter:
    """Keeps the health service in step with the context's lifecycle."""

    def __init__(self) -> None:
        self.servicer = health.aio.HealthServicer()

    async def serving(self) -> None:
        for name in HEALTH_NAMES:
            await self.servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def not_serving(self) -> None:
        for name in HEALTH_NAMES:
            await self.servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """grpc core channel arguments of the server, from the settings."""
    options = [
        ("grpc.max_receive_message_length", settings.max_body_bytes),
        ("grpc.max_send_message_length", settings.max_body_bytes),
        ("grpc.keepalive_time_ms", _ms(settings.grpc_keepalive_time_s)),
        ("grpc.keepalive_timeout_ms", _ms(settings.grpc_keepalive_timeout_s)),
        ("grpc.http2.min_ping_interval_without_data_ms", _ms(settings.grpc_min_ping_interval_s)),
        # Clients that ping while idle (a common keep-alive default) are not sent GOAWAY for it.
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    # grpc core reads "unset" as infinite; 0 would mean "close at once", so 0 here means leave it unset.
    if settings.grpc_max_connection_age_s > 0:
        options.append(("grpc.max_connection_age_ms", _ms(settings.grpc_max_connection_age_s)))
        options.append(("grpc.max_connection_age_grace_ms", _ms(settings.grpc_max_connection_age_grace_s)))
    if settings.grpc_max_connection_idle_s > 0:
        options.append(("grpc.max_connection_idle_ms", _ms(settings.grpc_max_connection_idle_s)))
    return options


def build_grpc_server(ctx: ServiceContext) -> tuple[grpc.aio.Server, HealthReporter]:
    # The tracing interceptor (when on) is outermost so the call's span is current in the front door; the
    # timing interceptor inside the door adds to the trailers the door set.
    server = grpc.aio.server(
        interceptors=[*grpc_server_interceptors(), FrontDoorInterceptor(ctx), ServerTimingInterceptor()],
        options=server_options(ctx.settings),
    )
    embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(EmbeddingServicer(ctx), server)
    reporter = HealthReporter()
    health_pb2_grpc.add_HealthServicer_to_server(reporter.servicer, server)
    enable_reflection((SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name), server)
    return server, reporter
