"""Media ingestion: SSRF-safe fetching of user URLs and isolated ffmpeg decoding to model-ready frames.

No web framework here; the HTTP and gRPC front doors and the training data loaders all use this API.

Service (async)::

    async with MediaIngestor(MediaSettings()) as ingestor:
        media = await ingestor.fetch_url(url)      # or from_bytes(data) / from_local_path(path)
        try:
            key = media.sha256                     # embedding-cache key: sha256 of the video bytes
            frames = await ingestor.decode_clip(media, SamplingSpec(num_frames=16, image_size=288))
            segments = await ingestor.decode_segments(media, SamplingSpec(..., segment_s=10.0))
        finally:
            ingestor.release(media)                # aclose() removes anything left

Long videos, one segment at a time (bounded memory, cancellable)::

        info = await ingestor.open_media(media)                 # probe + caps, coded errors
        spans = ingestor.plan_segment_spans(info, spec)         # spans.total, spans.truncated, before decoding
        async with contextlib.aclosing(ingestor.iter_segments(media, spec, info)) as segments:
            async for segment in segments:                      # Segment(start_s, end_s, frames [T, S, S, 3])
                ...

Training data loaders (blocking, same pixels as the service)::

    frames = decode_clip_sync(path, SamplingSpec(num_frames=16, image_size=288))

`frames` is uint8 [T, S, S, 3] RGB, not normalised. Frame i is the frame on screen at
`start + i * (end - start) / T`, which for constant frame rate is the demos' `floor(linspace(0, n, T,
endpoint=False))`. Every failure is a `service.errors.ServiceError` subclass with a stable `code`.
"""

from service.media.decode import decode_clip_sync, decode_segments_sync, probe_sync
from service.media.ingestor import MediaIngestor
from service.media.models import FetchedMedia, Frames, MediaInfo, Segment
from service.media.resolver import Resolver, SystemResolver
from service.media.sampling import SegmentSpans
from service.media.settings import MediaSettings, SamplingSpec

__all__ = [
    "FetchedMedia",
    "Frames",
    "MediaInfo",
    "MediaIngestor",
    "MediaSettings",
    "Resolver",
    "SamplingSpec",
    "Segment",
    "SegmentSpans",
    "SystemResolver",
    "decode_clip_sync",
    "decode_segments_sync",
    "probe_sync",
]
