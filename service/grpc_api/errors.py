"""Maps the error taxonomy onto gRPC: the class's status code, plus a `google.rpc.Status` in the
`grpc-status-details-bin` trailer carrying one `google.rpc.ErrorInfo` whose reason is the stable code."""

from __future__ import annotations

import math
from typing import NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from service.errors import ServiceError
from service.logging import REQUEST_ID_HEADER, request_id_var

DOMAIN = "videoprism.v1"
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_code(error: ServiceError) -> grpc.StatusCode:
    return grpc.StatusCode[error.grpc_status]


def trailing_metadata(error: ServiceError) -> list[tuple[str, str | bytes]]:
    info = error_details_pb2.ErrorInfo(reason=error.code, domain=DOMAIN)
    if error.retry_after_s is not None:
        info.metadata["retry_after_s"] = str(max(1, math.ceil(error.retry_after_s)))
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=status_code(error).value[0], message=error.message, details=[detail])
    metadata: list[tuple[str, str | bytes]] = [(STATUS_DETAILS_KEY, status.SerializeToString())]
    if error.retry_after_s is not None:
        metadata.append(("retry-after", info.metadata["retry_after_s"]))
    request_id = request_id_var.get()
    if request_id:
        metadata.append((REQUEST_ID_HEADER, request_id))
    return metadata


async def abort(context: grpc.aio.ServicerContext, error: ServiceError) -> NoReturn:
    await context.abort(status_code(error), error.message, trailing_metadata=tuple(trailing_metadata(error)))
    raise AssertionError("unreachable: abort raises")


def error_info(metadata: object) -> error_details_pb2.ErrorInfo | None:
    """Client side: the ErrorInfo of a failed call's trailing metadata, if any."""
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    return None
