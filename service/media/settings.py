"""Typed configuration of media ingestion: what may be fetched, how much, how fast, and how frames are sampled."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MediaSettings(_Frozen):
    """Limits and policy for fetching and decoding untrusted media. The defaults are the production policy."""

    # Size and content caps.
    max_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_duration_s: float = Field(default=3600.0, gt=0)
    max_pixels: int = Field(default=4096 * 2304, gt=0)  # width * height of the coded frame
    max_frames: int = Field(default=500_000, gt=0)  # packets in the video stream
    max_url_length: int = Field(default=2048, gt=0)
    max_image_bytes: int = Field(default=20 * 1024 * 1024, gt=0)  # one png/jpeg/webp image item

    # Fetch timeouts (seconds). `total` covers every redirect hop and the whole body.
    connect_timeout_s: float = Field(default=5.0, gt=0)
    first_byte_timeout_s: float = Field(default=10.0, gt=0)
    total_timeout_s: float = Field(default=60.0, gt=0)
    max_redirects: int = Field(default=3, ge=0)

    # URL policy.
    allowed_ports: frozenset[int] = frozenset({80, 443})
    host_allowlist: tuple[str, ...] = ()  # empty: any public host; ".example.com" matches subdomains too
    host_denylist: tuple[str, ...] = ()
    # Explicit exceptions to the address policy, e.g. ("127.0.0.1/32",) in tests. Never set in production.
    allow_networks: tuple[IPNetwork, ...] = ()
    egress_proxy: str | None = None  # "http://host:port"; HTTP CONNECT is used for http and https alike
    ca_bundle: Path | None = None  # extra trust anchors (tests); None: the system store
    user_agent: str = "videoprism-service/0.1 (media fetcher)"

    # Local files: only under this root (after resolving symlinks); None disables local paths.
    local_root: Path | None = None

    # Decoding.
    ffmpeg: Literal["auto", "system", "imageio"] | Path = "auto"
    decode_timeout_s: float = Field(default=60.0, gt=0)  # wall clock of one clip decode
    # Streaming decodes of long videos: no frame for this long means the decoder is stuck.
    decode_stall_timeout_s: float = Field(default=20.0, gt=0)
    probe_timeout_s: float = Field(default=20.0, gt=0)
    # Probe plain (non-fragmented) MP4/MOV files from their `moov` index in-process, sparing a process start;
    # anything else, or False here, runs the ffmpeg probe (docs/media.md, "Two probe paths").
    in_process_index: bool = True
    max_concurrent_decodes: int = Field(default=2, gt=0)
    decoder_threads: int = Field(default=0, ge=0)  # 0: ffmpeg picks
    # Long decodes cut at keyframes, the next chunk in a second single-thread ffmpeg while a decode permit is
    # free (service/media/chunked_frames.py); False: one ffmpeg per decode.
    chunked_decode: bool = True
    memory_limit_bytes: int = Field(default=4 * 1024**3, gt=0)  # RLIMIT_AS of each ffmpeg process
    cpu_limit_s: int = Field(default=120, gt=0)  # RLIMIT_CPU of each ffmpeg process
    max_segments: int = Field(default=64, gt=0)  # cap of the whole-list `decode_segments` only
    # Video codecs the probe accepts (ffmpeg codec names); anything else is unsupported_media.
    codec_allowlist: tuple[str, ...] = (
        "h264",
        "hevc",
        "vp8",
        "vp9",
        "av1",
        "mpeg4",
        "mpeg1video",
        "mpeg2video",
        "mjpeg",
        "gif",
    )
    allowed_formats: tuple[str, ...] = (
        "mov,mp4,m4a,3gp,3g2,mj2",
        "matroska,webm",
        "avi",
        "gif",
        "mpegts",
        "flv",
        "mpeg",
        "ogg",
    )
    temp_dir: Path | None = None  # None: the system temp directory

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(ipaddress.ip_network(v, strict=False) if isinstance(v, str) else v for v in value)
        return value

    @field_validator("codec_allowlist")
    @classmethod
    def _lower_codecs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(c.strip().lower() for c in value if c.strip())

    @field_validator("host_allowlist", "host_denylist")
    @classmethod
    def _lower_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(h.strip().lower().rstrip(".") for h in value if h.strip())

    @model_validator(mode="after")
    def _no_playlists(self) -> MediaSettings:
        # Demuxers that open other files or URLs would bypass `-protocol_whitelist file` reasoning.
        banned = {"hls", "concat", "image2", "applehttp", "dash", "ffconcat", "tee", "sdp", "rtsp"}
        names = {n for entry in self.allowed_formats for n in entry.split(",")}
        if names & banned:
            raise ValueError(f"demuxers that follow references are never allowed: {sorted(names & banned)}")
        return self

    @property
    def format_whitelist(self) -> str:
        """The `-format_whitelist` value for ffmpeg: every allowed demuxer name."""
        return ",".join(sorted({n for e in self.allowed_formats for n in e.split(",")}))


class SamplingSpec(_Frozen):
    """Which frames to take and how to shape them; mirrors the bundle manifest's VideoSpec.

    Clip mode: `num_frames` frames uniformly over `[window_start_s, window_end_s)` (default: the whole video).
    Segment mode (`segment_s` set): consecutive windows of `segment_s` seconds, each sampled like a clip.
    """

    num_frames: int = Field(gt=0, le=1024)
    image_size: int = Field(gt=0, le=2048)
    resize_mode: Literal["crop", "squash"] = "crop"
    window_start_s: float | None = Field(default=None, ge=0)
    window_end_s: float | None = Field(default=None, gt=0)
    segment_s: float | None = Field(default=None, gt=0)
    max_segments: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _window_order(self) -> SamplingSpec:
        if (
            self.window_start_s is not None
            and self.window_end_s is not None
            and self.window_end_s <= self.window_start_s
        ):
            raise ValueError("window_end_s must be greater than window_start_s")
        return self
