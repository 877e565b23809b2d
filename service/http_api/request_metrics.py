"""What the front-door request metrics call an HTTP request: a bounded route label and its result code.

The code is the stable error code of the answer (read from the error body, which every error path writes
through `error_response`), so HTTP and gRPC requests count under the same codes.
"""

from __future__ import annotations

import json

# Fixed routes are their own label; anything with ids in its path is folded onto its prefix, so the
# label set stays bounded whatever clients send.
_PREFIXES = ("/v1/jobs", "/v1/admin")


def route_label(path: str) -> str:
    for prefix in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return path if path.count("/") <= 3 and len(path) <= 40 else "other"


def result_code(status: int, first_body_chunk: bytes) -> str:
    if status < 400:
        return "ok"
    try:
        code = json.loads(first_body_chunk)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "internal" if status >= 500 else "invalid_request"
    return str(code)
