"""Render deploy/nginx/nginx.conf.template for local replicas on loopback, and print the nginx command.

    python deploy/nginx/render.py --prefix /tmp/vp-lb --lb-http-port 18000 --lb-grpc-port 18051 \
        --http-upstreams 18001,18002 --grpc-upstreams 18052,18053
    nginx -p /tmp/vp-lb -c /tmp/vp-lb/nginx.conf -e /tmp/vp-lb/error.log

`render()` is the importable API the cluster test uses.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# Only `${UPPER_CASE}` is a placeholder, so nginx's own `$variables` pass through untouched.
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def _substitute(text: str, values: dict[str, object]) -> str:
    """Fill every placeholder; a placeholder without a value raises KeyError instead of reaching nginx."""
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def _servers(ports: list[int]) -> str:
    if not ports:
        raise ValueError("at least one upstream port is needed")
    # max_fails/fail_timeout: a dead replica is skipped for 5 s instead of costing every request a retry.
    return "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)


def render(
    prefix: Path,
    lb_http_port: int,
    lb_grpc_port: int,
    http_upstreams: list[int],
    grpc_upstreams: list[int],
    client_max_body_size: str = "256m",
) -> Path:
    """Write `prefix/nginx.conf` and return its path."""
    prefix = prefix.resolve()
    # Only the parent: nginx creates the temp dirs itself and, started as root, chowns them to its workers.
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    text = _substitute(
        TEMPLATE.read_text(),
        dict(
            PREFIX=str(prefix),
            LB_HTTP_PORT=lb_http_port,
            LB_GRPC_PORT=lb_grpc_port,
            HTTP_SERVERS=_servers(http_upstreams),
            GRPC_SERVERS=_servers(grpc_upstreams),
            CLIENT_MAX_BODY_SIZE=client_max_body_size,
        ),
    )
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def _ports(value: str) -> list[int]:
    return [int(p) for p in value.split(",") if p]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prefix", type=Path, required=True)
    parser.add_argument("--lb-http-port", type=int, default=18000)
    parser.add_argument("--lb-grpc-port", type=int, default=18051)
    parser.add_argument("--http-upstreams", type=_ports, default=[18001, 18002])
    parser.add_argument("--grpc-upstreams", type=_ports, default=[18052, 18053])
    parser.add_argument("--client-max-body-size", default="256m")
    args = parser.parse_args()
    conf = render(
        args.prefix,
        args.lb_http_port,
        args.lb_grpc_port,
        args.http_upstreams,
        args.grpc_upstreams,
        args.client_max_body_size,
    )
    print(f"nginx -p {conf.parent} -c {conf} -e {conf.parent / 'error.log'}")


if __name__ == "__main__":
    main()
