"""Real corpora as endless example streams: manifest rows or tar shards, decoded like the service does.

Each epoch visits the rows (or shards) in a fresh seeded order; shard k of n keeps every n-th item, so
worker processes never duplicate work. A file that fails to decode is skipped (and counted), since one
broken clip in a web corpus must not stop a run; a source where nothing decodes raises.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import numpy as np

from training.data.examples import VideoTextExample
from training.data.manifest import ManifestRow
from training.data.media_decode import MediaReader
from training.data.mixing import WeightedSource
from training.data.shards import iter_shard

_log = logging.getLogger(__name__)
_DECODE_ERRORS = (ValueError, OSError)  # what a `FrameDecoder` raises for a file it cannot decode


@dataclass(frozen=True)
class DecodeOptions:
    reader: MediaReader
    seed: int = 0


@dataclass(frozen=True)
class ManifestSource:
    """The rows of one source of a manifest."""

    name: str
    rows: tuple[ManifestRow, ...]
    options: DecodeOptions

    def examples(self, shard: int, num_shards: int) -> Iterator[VideoTextExample]:
        if not self.rows:
            raise ValueError(f"source {self.name!r} has no rows")
        for epoch in count():
            order = np.random.default_rng([self.options.seed, epoch]).permutation(len(self.rows))
            decoded = 0
            for index in order[shard::num_shards]:
                row = self.rows[int(index)]
                try:
                    frames = self.options.reader.decode_location(row.video)
                except _DECODE_ERRORS as exc:
                    _log.warning("skipping %s: %s", row.video, exc)
                    continue
                decoded += 1
                yield VideoTextExample(frames=frames, caption=row.caption, source=self.name)
            if decoded == 0 and len(order[shard::num_shards]) > 0:
                raise RuntimeError(f"no file of source {self.name!r} could be decoded")


@dataclass(frozen=True)
class ShardSource:
    """Samples of a list of tar shards."""

    name: str
    shards: tuple[Path, ...]
    options: DecodeOptions

    def examples(self, shard: int, num_shards: int) -> Iterator[VideoTextExample]:
        if not self.shards:
            raise ValueError(f"source {self.name!r} has no shards")
        for epoch in count():
            order = np.random.default_rng([self.options.seed, epoch]).permutation(len(self.shards))
            decoded = position = 0
            for path in (self.shards[int(i)] for i in order):
                for sample in iter_shard(path):
                    mine = position % num_shards == shard
                    position += 1
                    if not mine:
                        continue
                    try:
                        frames = self.options.reader.decode_bytes(sample.media, sample.media_suffix)
                    except _DECODE_ERRORS as exc:
                        _log.warning("skipping %s in %s: %s", sample.key, path, exc)
                        continue
                    decoded += 1
                    yield VideoTextExample(frames=frames, caption=sample.caption, source=self.name)
            if decoded == 0:
                raise RuntimeError(f"no sample of source {self.name!r} could be decoded by shard {shard}")


def sources_from_manifest(
    rows: Sequence[ManifestRow], options: DecodeOptions, weights: Mapping[str, float] | None = None
) -> list[WeightedSource]:
    """One weighted source per `source` name; its weight is `weights[name]`, else its rows' summed weight."""
    grouped: dict[str, list[ManifestRow]] = {}
    for row in rows:
        grouped.setdefault(row.source, []).append(row)
    return [
        WeightedSource(
            name=name,
            weight=(weights or {}).get(name, sum(row.weight for row in members)),
            stream=ManifestSource(name, tuple(members), options),
        )
        for name, members in sorted(grouped.items())
    ]
