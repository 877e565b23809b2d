"""The one configuration object of the server process, read from `VIDEOPRISM_*` environment variables.

`Settings()` is built once (by the CLI, or by a test with keyword overrides) and handed down; nothing else
reads the environment. It also derives the typed settings of the core and the media layer so those packages
stay independent of how the process is configured.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.auth.keys import Scope
from service.auth.rate_limit import RateLimitSettings
from service.core.settings import BatcherSettings, CacheSettings, CoreSettings, RuntimeSettings
from service.grace import ShutdownBudget
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


def _parse_rates(entries: tuple[str, ...]) -> dict[Scope, float]:
    rates: dict[Scope, float] = {}
    for entry in entries:
        scope, sep, rate = entry.partition("=")
        if not sep or float(rate) <= 0:
            raise ValueError(f"rate limit {entry!r}: expected <scope>=<requests per second > 0>")
        rates[Scope(scope.strip())] = float(rate)
    return rates


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
    # A separate listener for /metrics, health and the API docs (no keys there); None: they stay on the main
    # listener, key-protected (except health) when API keys are set.
    ops_host: str = "127.0.0.1"
    ops_port: int | None = Field(default=None, ge=0, le=65535)

    # gRPC connections. Keep-alive pings find peers that vanished behind a NAT or load balancer; a client
    # pinging more often than the minimum interval is sent GOAWAY ("too_many_pings").
    grpc_keepalive_time_s: float = Field(default=60.0, gt=0)
    grpc_keepalive_timeout_s: float = Field(default=20.0, gt=0)
    grpc_min_ping_interval_s: float = Field(default=10.0, gt=0)
    # Connections older than this get GOAWAY, so long-lived clients re-resolve DNS and reach pods added by a
    # scale-up (docs/deploy.md); calls in flight get the grace to finish. 0: connections live forever.
    grpc_max_connection_age_s: float = Field(default=0.0, ge=0)
    grpc_max_connection_age_grace_s: float = Field(default=30.0, ge=0)
    grpc_max_connection_idle_s: float = Field(default=0.0, ge=0)  # 0: idle connections stay open

    # Model.
    bundle: Path = DEMO_BUNDLE
    # Several models in one process: "name=path,name=path", or one directory whose subdirectories (each
    # holding a manifest.json) are bundles named after them. Empty: `bundle` alone, named by its manifest.
    bundles: CsvList = ()
    default_model: str | None = None  # what a request without `model` gets; unset: the first bundle
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
    # The pod's terminationGracePeriodSeconds and preStop sleep; when set, start-up refuses a drain deadline
    # that cannot finish before SIGKILL (service/grace.py).
    termination_grace_s: float | None = Field(default=None, gt=0)
    prestop_s: float = Field(default=0.0, ge=0)

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
    # Video codecs (ffmpeg names) the probe accepts; others answer unsupported_media. Comma-separated.
    codec_allowlist: CsvList = MediaSettings.model_fields["codec_allowlist"].default

    # Decoding: which ffmpeg ("auto": system if on PATH else imageio's bundled one, or a path) and how long
    # one probe / one decode may run before the child is killed.
    ffmpeg: Literal["auto", "system", "imageio"] | Path = "auto"
    # Fits inside the drain deadline, so a decode admitted just before SIGTERM still finishes (service/grace.py).
    decode_timeout_s: float = Field(default=25.0, gt=0)
    probe_timeout_s: float = Field(default=20.0, gt=0)
    # Plain MP4/MOV files are probed from their index in the server's process (no ffmpeg probe process).
    media_in_process_index: bool = True
    # Threads of each ffmpeg decode. 0: auto (ffmpeg picks for a request alone in the media pipeline, 1
    # thread when another request decodes, waits to decode or downloads; service/media/ingestor.py).
    decoder_threads: int = Field(default=0, ge=0)
    # Long decodes (over 1 000 decoded frames) cut at keyframes, the next chunk decoded by a second ffmpeg
    # while a decode permit is free (service/media/chunked_frames.py).
    media_chunked_decode: bool = True

    # Fetching and decoding limits of the media layer: an HTTP(S) proxy every fetch goes through
    # ("http://host:port", CONNECT for https too), extra CA certificates (PEM file) to trust, the largest
    # coded frame (width * height) accepted, and ffmpeg decodes run at once.
    egress_proxy: str | None = None
    ca_bundle: Path | None = None
    media_max_pixels: int = Field(default=4096 * 2304, gt=0)
    # Largest image item (png, jpeg, webp) in bytes, uploaded or downloaded; its pixels obey media_max_pixels.
    media_max_image_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_concurrent_decodes: int = Field(default=2, gt=0)

    # Auth: when any key is set, every embedding and model route needs one; health and metrics stay open.
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    # A file of hashed keys with scopes (`sha256:<hex> scopes=video,text`), re-read when it changes.
    api_keys_file: Path | None = None
    # Per-key limits: requests per second per scope ("video=5,text=50,jobs=1"; a scope not named is not
    # limited), video seconds embedded per second, and how many seconds of rate a bucket holds.
    rate_limits: CsvList = ()
    rate_limit_clip_seconds_per_s: float = Field(default=0.0, ge=0)
    rate_limit_burst_s: float = Field(default=2.0, gt=0)

    # Jobs (`/v1/jobs`): with `redis_url` the queue, state and results live in Redis and any replica runs
    # and answers them; without it they run in this process. Each replica runs `jobs_concurrency` jobs at
    # once; a job whose replica stopped renewing it for `jobs_visibility_timeout_s` is taken over.
    jobs_concurrency: int = Field(default=2, ge=1)
    jobs_result_ttl_s: float = Field(default=86400.0, gt=0)
    jobs_visibility_timeout_s: float = Field(default=30.0, gt=0)
    jobs_callback_secret: SecretStr | None = None  # HMAC-SHA256 key of the X-VideoPrism-Signature header
    jobs_callback_timeout_s: float = Field(default=10.0, gt=0)

    # Logs.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    @field_validator(
        "host_allowlist",
        "host_denylist",
        "allow_networks",
        "codec_allowlist",
        "api_keys",
        "allowed_ports",
        "rate_limits",
        "bundles",
        mode="before",
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

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _parse_rates(value)  # fail at startup, not on the first request
        return value

    @model_validator(mode="after")
    def _fits_grace_period(self) -> Settings:
        problems = self.shutdown_budget().problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def shutdown_budget(self) -> ShutdownBudget:
        return ShutdownBudget(
            self.termination_grace_s, self.prestop_s, self.drain_timeout_s, self.decode_timeout_s
        )

    def rate_limit_settings(self) -> RateLimitSettings:
        return RateLimitSettings(
            requests_per_s=_parse_rates(self.rate_limits),
            clip_seconds_per_s=self.rate_limit_clip_seconds_per_s,
            burst_s=self.rate_limit_burst_s,
            redis_url=self.redis_url,
            redis_timeout_s=self.redis_timeout_s,
        )

    def api_key_values(self) -> frozenset[str]:
        return frozenset(k.get_secret_value() for k in self.api_keys if k.get_secret_value())

    def core_settings(self) -> CoreSettings:
        return CoreSettings(
            video_batcher=BatcherSettings.for_workers(
                self.video_max_batch_size,
                self.video_max_queue_delay_ms,
                self.video_max_queue_size,
                self.video_workers,
            ),
            text_batcher=BatcherSettings.for_workers(
                self.text_max_batch_size,
                self.text_max_queue_delay_ms,
                self.text_max_queue_size,
                self.text_workers,
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
            in_process_index=self.media_in_process_index,
            decoder_threads=self.decoder_threads,
            chunked_decode=self.media_chunked_decode,
            egress_proxy=self.egress_proxy,
            ca_bundle=self.ca_bundle,
            max_pixels=self.media_max_pixels,
            max_image_bytes=self.media_max_image_bytes,
            max_concurrent_decodes=self.max_concurrent_decodes,
            codec_allowlist=self.codec_allowlist,
        )
