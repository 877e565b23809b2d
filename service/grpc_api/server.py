"""Builds the grpc.aio server: the embedding service behind the front-door interceptor, the standard health
service (NOT_SERVING until the model is ready and again once draining) and server reflection."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service.app import ServiceContext
from service.grpc_api.gen import embedding_pb2, embedding_pb2_grpc
from service.grpc_api.interceptors import FrontDoorInterceptor
from service.grpc_api.servicer import EmbeddingServicer

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


def build_grpc_server(ctx: ServiceContext) -> tuple[grpc.aio.Server, HealthReporter]:
    settings = ctx.settings
    server = grpc.aio.server(
        interceptors=[FrontDoorInterceptor(ctx)],
        options=[
            ("grpc.max_receive_message_length", settings.max_body_bytes),
            ("grpc.max_send_message_length", settings.max_body_bytes),
        ],
    )
    embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server(EmbeddingServicer(ctx), server)
    reporter = HealthReporter()
    health_pb2_grpc.add_HealthServicer_to_server(reporter.servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    return server, reporter
