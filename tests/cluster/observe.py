"""Reading which replica did what: nginx's access log (`upstream=$upstream_addr`, every address tried, in
order) and each replica's own Prometheus counters."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

_LINE = re.compile(
    r'^\S+ "(?P<request>[^"]*)" (?P<status>\d+) upstream=(?P<upstreams>.*?) '
    r"upstream_status=(?P<statuses>.*?) rt=\S+$"
)


@dataclass(frozen=True)
class Access:
    method: str
    path: str
    status: int
    upstreams: tuple[str, ...]  # "127.0.0.1:port" per attempt; more than one when nginx retried
    upstream_statuses: tuple[str, ...]

    @property
    def port(self) -> int:
        """The upstream port that gave the final answer."""
        return int(self.upstreams[-1].rsplit(":", 1)[1])

    @property
    def grpc(self) -> bool:
        return self.path.startswith("/videoprism.v1.")


def _split(field: str) -> tuple[str, ...]:
    # nginx separates attempts with ", " (and upstream groups with " : ", which one location never has).
    return tuple(part.strip() for part in field.split(",") if part.strip() and part.strip() != "-")


def read_access_log(path: Path, offset: int = 0, end: int | None = None) -> list[Access]:
    """The requests logged from byte `offset` of the log up to byte `end` (nginx writes each line whole,
    when its request completes, so the file's size is always a line boundary)."""
    entries = []
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read(-1 if end is None else end - offset).decode()
    for line in text.splitlines():
        match = _LINE.match(line)
        assert match is not None, f"unexpected access log line: {line!r}"
        method, target, _ = match["request"].split(" ")
        entries.append(
            Access(
                method,
                target.split("?", 1)[0],
                int(match["status"]),
                _split(match["upstreams"]),
                _split(match["statuses"]),
            )
        )
    return entries


def wait_for_access(path: Path, offset: int, count: int, timeout_s: float = 10.0) -> list[Access]:
    """The log after `offset` once it holds at least `count` requests: nginx writes a line in its log
    phase, after the response has left, so a client can read its answer before the line is there."""
    deadline = time.monotonic() + timeout_s
    while True:
        entries = read_access_log(path, offset)
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def counter(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of the samples of counter `name` (without `_total`) whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_total" and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
