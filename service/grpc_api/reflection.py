"""gRPC server reflection under both names clients use: `grpc.reflection.v1` (grpcurl, Postman, current
grpc tooling) and `grpc.reflection.v1alpha` (older clients).

grpcio-reflection ships only v1alpha. The v1 protocol is the same messages under another package, so the
v1 service is the v1alpha servicer behind a second method name: the bytes on the wire are identical. The v1
file descriptor is registered in protobuf's default pool, which is where reflection looks up files, so a
client can also describe the v1 service itself.
"""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME
V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"
_V1ALPHA_PACKAGE = ".grpc.reflection.v1alpha."
_V1_PACKAGE = ".grpc.reflection.v1."


def v1_file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The v1 reflection file: v1alpha's, with the package and every type reference renamed."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = _V1_FILE
    proto.package = _V1_PACKAGE.strip(".")
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):  # assigning even "" would mark a scalar field as typed
                field.type_name = field.type_name.replace(_V1ALPHA_PACKAGE, _V1_PACKAGE)
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(_V1ALPHA_PACKAGE, _V1_PACKAGE)
            method.output_type = method.output_type.replace(_V1ALPHA_PACKAGE, _V1_PACKAGE)
    return proto


def _register_v1_file(pool: descriptor_pool.DescriptorPool) -> None:
    try:
        pool.FindFileByName(_V1_FILE)
    except KeyError:
        pool.Add(v1_file_descriptor())


def enable_reflection(service_names: tuple[str, ...], server: grpc.aio.Server) -> None:
    """Serves reflection v1 and v1alpha for `service_names` plus both reflection services."""
    pool = descriptor_pool.Default()
    _register_v1_file(pool)
    servicer = ReflectionServicer((*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME), pool=pool)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1_method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": v1_method}),)
    )
