"""The service's user-facing error taxonomy: one exception type per stable code.

Every layer (media, core, HTTP, gRPC) raises these; the front doors map them to an HTTP status and a gRPC
status code from the same table, so a client sees the same `code` whichever door it used.
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """Base of every user-facing error. `code` is stable API; `message` is for people."""

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500
    grpc_status: ClassVar[str] = "INTERNAL"  # name of a grpc.StatusCode member; no grpc import here

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


# Request-level errors (front doors, core).


class InvalidRequestError(ServiceError):
    """The request is malformed."""

    code = "invalid_request"
    http_status: ClassVar[int] = 400
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class PayloadTooLargeError(ServiceError):
    """The request body is too big."""

    code = "payload_too_large"
    http_status: ClassVar[int] = 413
    grpc_status: ClassVar[str] = "RESOURCE_EXHAUSTED"


class ModelNotFoundError(ServiceError):
    """The request names a model this server does not serve."""

    code = "model_not_found"
    http_status: ClassVar[int] = 404
    grpc_status: ClassVar[str] = "NOT_FOUND"


class ModelExistsError(ServiceError):
    """An admin asked to load a model under a name that is already served (reload it instead)."""

    code = "model_exists"
    http_status: ClassVar[int] = 409
    grpc_status: ClassVar[str] = "ALREADY_EXISTS"


class BundleInvalidError(ServiceError):
    """An admin asked to load or reload a bundle that does not verify; what was served keeps serving."""

    code = "bundle_invalid"
    http_status: ClassVar[int] = 422
    grpc_status: ClassVar[str] = "FAILED_PRECONDITION"


class OverloadedError(ServiceError):
    """The queue is full; retry later."""

    code = "overloaded"
    http_status: ClassVar[int] = 429
    grpc_status: ClassVar[str] = "RESOURCE_EXHAUSTED"


class NotReadyError(ServiceError):
    """The model is still loading."""

    code = "not_ready"
    http_status: ClassVar[int] = 503
    grpc_status: ClassVar[str] = "UNAVAILABLE"


class DrainingError(ServiceError):
    """The server is shutting down."""

    code = "draining"
    http_status: ClassVar[int] = 503
    grpc_status: ClassVar[str] = "UNAVAILABLE"


class UnauthenticatedError(ServiceError):
    """Missing or unknown API key."""

    code = "unauthenticated"
    http_status: ClassVar[int] = 401
    grpc_status: ClassVar[str] = "UNAUTHENTICATED"


class RateLimitedError(ServiceError):
    """This API key used up its request or clip-seconds allowance; other keys are unaffected."""

    code = "rate_limited"
    http_status: ClassVar[int] = 429
    grpc_status: ClassVar[str] = "RESOURCE_EXHAUSTED"


class PermissionDeniedError(ServiceError):
    """The key may not do this."""

    code = "permission_denied"
    http_status: ClassVar[int] = 403
    grpc_status: ClassVar[str] = "PERMISSION_DENIED"


class DeadlineExceededError(ServiceError):
    """The deadline passed."""

    code = "deadline_exceeded"
    http_status: ClassVar[int] = 504
    grpc_status: ClassVar[str] = "DEADLINE_EXCEEDED"


class ClientClosedError(ServiceError):
    """The client went away (HTTP disconnect) before the answer was ready; nobody reads this answer."""

    code = "client_closed"
    http_status: ClassVar[int] = 499
    grpc_status: ClassVar[str] = "CANCELLED"


class JobNotFoundError(ServiceError):
    """No job with this id is visible to this API key (never made, made by another key, or expired)."""

    code = "job_not_found"
    http_status: ClassVar[int] = 404
    grpc_status: ClassVar[str] = "NOT_FOUND"


class InternalError(ServiceError):
    """A bug; no input should cause it."""

    code = "internal"
    http_status: ClassVar[int] = 500
    grpc_status: ClassVar[str] = "INTERNAL"


# Media errors (fetching and decoding untrusted input).


class UrlInvalidError(ServiceError):
    """The URL cannot be parsed safely."""

    code = "url_invalid"
    http_status: ClassVar[int] = 400
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class SchemeForbiddenError(ServiceError):
    """Only http and https are allowed."""

    code = "scheme_forbidden"
    http_status: ClassVar[int] = 400
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class PortForbiddenError(ServiceError):
    """The port is not allow-listed."""

    code = "port_forbidden"
    http_status: ClassVar[int] = 400
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class UrlForbiddenError(ServiceError):
    """The host or address is forbidden."""

    code = "url_forbidden"
    http_status: ClassVar[int] = 403
    grpc_status: ClassVar[str] = "PERMISSION_DENIED"


class RedirectForbiddenError(ServiceError):
    """A redirect went somewhere forbidden."""

    code = "redirect_forbidden"
    http_status: ClassVar[int] = 403
    grpc_status: ClassVar[str] = "PERMISSION_DENIED"


class TooManyRedirectsError(ServiceError):
    """Too many redirects."""

    code = "too_many_redirects"
    http_status: ClassVar[int] = 400
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class FetchFailedError(ServiceError):
    """The origin could not be fetched."""

    code = "fetch_failed"
    http_status: ClassVar[int] = 502
    grpc_status: ClassVar[str] = "UNAVAILABLE"


class DownloadTimeoutError(ServiceError):
    """The download took too long."""

    code = "download_timeout"
    http_status: ClassVar[int] = 504
    grpc_status: ClassVar[str] = "DEADLINE_EXCEEDED"


class DownloadTooLargeError(ServiceError):
    """The download exceeds the cap."""

    code = "download_too_large"
    http_status: ClassVar[int] = 413
    grpc_status: ClassVar[str] = "RESOURCE_EXHAUSTED"


class UnsupportedMediaError(ServiceError):
    """The container/codec is not allowed."""

    code = "unsupported_media"
    http_status: ClassVar[int] = 415
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class NoVideoStreamError(ServiceError):
    """The file has no video stream."""

    code = "no_video_stream"
    http_status: ClassVar[int] = 422
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class MediaTooLongError(ServiceError):
    """The video is longer than the cap."""

    code = "media_too_long"
    http_status: ClassVar[int] = 422
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class ResolutionTooLargeError(ServiceError):
    """The frame size exceeds the cap."""

    code = "resolution_too_large"
    http_status: ClassVar[int] = 422
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


class DecodeFailedError(ServiceError):
    """The video could not be decoded."""

    code = "decode_failed"
    http_status: ClassVar[int] = 422
    grpc_status: ClassVar[str] = "INVALID_ARGUMENT"


ALL_ERRORS: tuple[type[ServiceError], ...] = (
    InvalidRequestError,
    PayloadTooLargeError,
    OverloadedError,
    NotReadyError,
    DrainingError,
    UnauthenticatedError,
    PermissionDeniedError,
    RateLimitedError,
    DeadlineExceededError,
    ClientClosedError,
    JobNotFoundError,
    InternalError,
    UrlInvalidError,
    SchemeForbiddenError,
    PortForbiddenError,
    UrlForbiddenError,
    RedirectForbiddenError,
    TooManyRedirectsError,
    FetchFailedError,
    DownloadTimeoutError,
    DownloadTooLargeError,
    UnsupportedMediaError,
    NoVideoStreamError,
    MediaTooLongError,
    ResolutionTooLargeError,
    DecodeFailedError,
)
ERRORS_BY_CODE: dict[str, type[ServiceError]] = {cls.code: cls for cls in ALL_ERRORS}
