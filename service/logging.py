"""Structured JSON logs, one object per line, each carrying the request id of the request being served.

The request id lives in a ContextVar so every log line emitted while serving a request (front door, core,
media) is tagged without threading an id through every call. With tracing on, lines logged inside a traced
request also carry its `trace_id`, the key a tracing backend finds the request's spans by. Nothing here
logs headers or bodies: API keys and user data never reach the log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from service.tracing import current_trace_id

REQUEST_ID_HEADER = "x-request-id"
request_id_var: ContextVar[str | None] = ContextVar("videoprism_request_id", default=None)

# A client-supplied id is echoed back and logged, so it must not be able to forge log structure.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
# uvicorn attaches an ANSI-coloured copy of its message; the plain `msg` is enough.
_DROPPED = frozenset({"color_message"})


def new_request_id(proposed: str | None = None) -> str:
    """The client's id when it is short and plain, a fresh random one otherwise."""
    if proposed and _SAFE_ID.match(proposed):
        return proposed
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and key not in _DROPPED and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Routes the root logger and uvicorn's loggers to one stderr handler."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Our own access log line carries the request id and status; uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
