"""Docker HEALTHCHECK: exit 0 when the local server answers GET /readyz with 200, else 1.

Readiness rather than liveness, so `depends_on: condition: service_healthy` in compose waits for a warm model.
Stdlib only: the image carries no curl.
"""

import os
import sys
import urllib.request

port = os.environ.get("VIDEOPRISM_HTTP_PORT", "8000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure (refused, 503, timeout) means not healthy
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
