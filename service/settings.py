"""The one configuration object of the server process, read from `VIDEOPRISM_*` environment variables.

`Settings()` is built once (by the CLI, or by a test with keyword overrides) and handed down; nothing else
reads the environment. It also derives the typed settings of the core and the media layer so those packages
stay independent of how the process is configured.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.core.settings import BatcherSettings, CacheSettings, CoreSettings, RuntimeSettings
from service.media.settings import MediaSettings

DEMO_BUNDLE = Path(__file__).resolve().parent / "demo_bundle"

# Lists accept a JSON array or a comma-separated string ("a,b"), whichever is easier to write in a shell.
CsvList = Annotated[tuple[str, ...], NoDecode]
CsvInts = Annotated[tuple[int, ...], NoDecode]


def _split(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return tuple(json.loads(text))
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    """Every knob of `videoprism-serve`; the README's settings table documents each one."""

    model_config = SettingsConfigDict(env_prefix="VIDEOPRISM_", extra="ignore", frozen=True)

    # Listeners.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    # Idle keep-alive connections are closed after this long. Longer than the usual idle timeouts of load
    # balancers and client pools (60 s), so the other side closes first: a server that closes first races
    # a client reusing the connection, and that request fails with a disconnect it never caused.
    http_keep_alive_s: int = Field(default=75, ge=1)
    # Pending TCP connections the kernel queues for accept (capped by net.core.somaxconn); a burst beyond
    # it is reset before the server can answer 429.
    http_backlog: int = Field(default=4096, ge=1)

    # Model.
    bundle: Path = DEMO_BUNDLE
    engine: Literal["bundle", "dummy"] = "bundle"  # "dummy": numpy stand-in encoders, for front-door tests
    device: Literal["auto", "cpu"] = "auto"
    intra_op_threads: int = Field(default=0, ge=0)

    # Cache: Redis when a URL is given, the in-process LRU otherwise.
    redis_url: str | None = None
    cache: Literal["auto", "memory", "redis", "none"] = "auto"
    cache_memory_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    cache_ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    # A Redis slower than this is skipped (the embedding is recomputed), so a sick cache never adds latency.
    redis_timeout_s: float = Field(default=0.05, gt=0)

    # Dynamic batching.
    video_max_batch_size: int = Field(default=8, ge=1)
    video_max_queue_delay_ms: float = Field(default=5.0, ge=0)
    video_max_queue_size: int = Field(default=256, ge=1)
    # Batches run at once per encoder (onnxruntime only; TensorRT runs one). 0: auto, one single-threaded
    # run per core on the CPU and one run on a GPU (service/core/parallelism.py, docs/inference-core.md).
    video_workers: int = Field(default=0, ge=0)
    text_max_batch_size: int = Field(default=32, ge=1)
    text_max_queue_delay_ms: float = Field(default=2.0, ge=0)
    text_max_queue_size: int = Field(default=1024, ge=1)
    text_workers: int = Field(default=0, ge=0)

    # Request limits.
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)  # HTTP body and one gRPC message
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)  # one uploaded video (HTTP or gRPC stream)
    max_videos_per_request: int = Field(default=16, ge=1)
    max_texts_per_request: int = Field(default=256, ge=1)
    max_text_chars: int = Field(default=4096, ge=1)
    max_segments_per_request: int = Field(default=64, ge=1)
    max_stream_in_flight: int = Field(default=32, ge=1)  # StreamEmbed items processed at once per stream
    # Embedding requests handled at once, both doors together; beyond it `overloaded` is answered before
    # the body is read, so overload sheds at the door instead of queueing thousands of open connections.
    max_in_flight: int = Field(default=256, ge=1)

    # Timeouts.
    request_timeout_s: float = Field(default=60.0, gt=0)
    drain_timeout_s: float = Field(default=30.0, ge=0)

    # Media fetching (SSRF policy).
    media_max_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    media_max_duration_s: float = Field(default=3600.0, gt=0)
    fetch_timeout_s: float = Field(default=60.0, gt=0)
    allowed_ports: Annotated[tuple[int, ...], NoDecode] = (80, 443)
    host_allowlist: CsvList = ()
    host_denylist: CsvList = ()
    # Networks exempt from the private-address ban, e.g. "127.0.0.1/32" for tests. Never in production.
    allow_networks: CsvList = ()
    temp_dir: Path | None = None  # where downloads and uploads are spooled; None: the system temp directory

    # Decoding: which ffmpeg ("auto": system if on PATH else imageio's bundled one, or a path) and how long
    # one probe / one decode may run before the child is killed.
    ffmpeg: Literal["auto", "system", "imageio"] | Path = "auto"
    decode_timeout_s: float = Field(default=60.0, gt=0)
    probe_timeout_s: float = Field(default=20.0, gt=0)

    # Auth: when any key is set, every embedding and model route needs one; health and metrics stay open.
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()

    # Logs.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    @field_validator(
        "host_allowlist", "host_denylist", "allow_networks", "api_keys", "allowed_ports", mode="before"
    )
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for net in value:
            ipaddress.ip_network(net, strict=False)  # fail at startup, not on the first request
        return value

    @property
    def cache_backend(self) -> Literal["memory", "redis", "none"]:
        if self.cache == "auto":
            return "redis" if self.redis_url else "memory"
        return self.cache

    def api_key_values(self) -> frozenset[str]:
        return frozenset(k.get_secret_value() for k in self.api_keys if k.get_secret_value())

    def core_settings(self) -> CoreSettings:
        return CoreSettings(
            video_batcher=BatcherSettings(
                max_batch_size=self.video_max_batch_size,
                max_queue_delay_ms=self.video_max_queue_delay_ms,
                max_queue_size=self.video_max_queue_size,
                workers=self.video_workers,
                max_batches_in_flight=self.video_workers + 1 if self.video_workers else 0,
            ),
            text_batcher=BatcherSettings(
                max_batch_size=self.text_max_batch_size,
                max_queue_delay_ms=self.text_max_queue_delay_ms,
                max_queue_size=self.text_max_queue_size,
                workers=self.text_workers,
                max_batches_in_flight=self.text_workers + 1 if self.text_workers else 0,
            ),
            runtime=RuntimeSettings(device=self.device, intra_op_threads=self.intra_op_threads),
            default_deadline_s=self.request_timeout_s,
            max_texts_per_request=self.max_texts_per_request,
            max_text_chars=self.max_text_chars,
        )

    def cache_settings(self) -> CacheSettings:
        extra: dict[str, Any] = {"redis_url": self.redis_url} if self.redis_url else {}
        return CacheSettings(
            backend=self.cache_backend,
            memory_max_bytes=self.cache_memory_max_bytes,
            ttl_s=self.cache_ttl_s,
            redis_timeout_s=self.redis_timeout_s,
            **extra,
        )

    def media_settings(self) -> MediaSettings:
        return MediaSettings(
            max_bytes=self.media_max_bytes,
            max_duration_s=self.media_max_duration_s,
            total_timeout_s=self.fetch_timeout_s,
            allowed_ports=frozenset(self.allowed_ports),
            host_allowlist=self.host_allowlist,
            host_denylist=self.host_denylist,
            allow_networks=tuple(ipaddress.ip_network(n, strict=False) for n in self.allow_networks),
            max_segments=self.max_segments_per_request,
            temp_dir=self.temp_dir,
            ffmpeg=self.ffmpeg,
            decode_timeout_s=self.decode_timeout_s,
            probe_timeout_s=self.probe_timeout_s,
        )
