"""Manifest and tar-shard readers on real small videos and images, decoded like the service decodes them."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from service.media import SamplingSpec, decode_clip_sync
from service.media.blocking_decoder import BlockingFrameDecoder
from tests.data.media_files import make_image, make_video
from training.data.manifest import ManifestError, read_manifest
from training.data.media_decode import MediaReader
from training.data.mixing import AlternatingBatches, WeightedSource
from training.data.real_sources import DecodeOptions, ShardSource, sources_from_manifest
from training.data.shards import iter_shard

SPEC = SamplingSpec(num_frames=4, image_size=32)
OPTIONS = DecodeOptions(MediaReader(BlockingFrameDecoder(SPEC)))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    return {
        "pattern": make_video(root / "pattern.mp4", "testsrc"),
        "red": make_video(root / "red.mp4", "color=c=red"),
        "green": make_video(root / "green.mp4", "color=c=green"),
        "blue_png": make_image(root / "blue.png", "blue"),
        "yellow_jpg": make_image(root / "yellow.jpg", "yellow"),
    }


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_jsonl_and_csv_manifests_resolve_paths_and_defaults(tmp_path: Path, media: dict[str, Path]) -> None:
    jsonl = _write_jsonl(
        tmp_path / "m.jsonl",
        [
            {"video": str(media["red"]), "caption": "red", "source": "hq", "weight": 2},
            {"video": "clips/x.mp4", "caption": "x"},
            {"video": "https://example.org/v.mp4", "caption": "remote", "source": "web"},
        ],
    )
    rows = read_manifest(jsonl)
    assert [(r.source, r.weight) for r in rows] == [("hq", 2.0), ("default", 1.0), ("web", 1.0)]
    assert rows[1].video == str((tmp_path / "clips/x.mp4").resolve())
    assert rows[2].is_url and rows[2].video == "https://example.org/v.mp4"
    csv_path = tmp_path / "m.csv"
    csv_path.write_text('video,caption,source,weight\nred.mp4,"a red, plain clip",hq,\n')
    (csv_row,) = read_manifest(csv_path)
    assert (csv_row.caption, csv_row.source, csv_row.weight) == ("a red, plain clip", "hq", 1.0)


@pytest.mark.parametrize(
    ("row", "message"),
    [({"caption": "no video"}, "missing 'video'"), ({"video": "a.mp4"}, "missing 'caption'"),
     ({"video": "a.mp4", "caption": "c", "weight": -1}, "positive")],
)  # fmt: skip
def test_bad_manifest_rows_name_file_and_line(tmp_path: Path, row: dict[str, object], message: str) -> None:
    path = _write_jsonl(tmp_path / "bad.jsonl", [{"video": "ok.mp4", "caption": "ok"}, row])
    with pytest.raises(ManifestError, match=rf"bad.jsonl:2: .*{message}"):
        read_manifest(path)


def test_manifest_sources_decode_like_the_service(tmp_path: Path, media: dict[str, Path]) -> None:
    manifest = _write_jsonl(
        tmp_path / "m.jsonl",
        [
            {"video": str(media["pattern"]), "caption": "a test pattern", "source": "hq", "weight": 3},
            {"video": str(media["blue_png"]), "caption": "a blue picture", "source": "images"},
        ],
    )
    sources = sources_from_manifest(read_manifest(manifest), OPTIONS)
    assert [(s.name, s.weight) for s in sources] == [("hq", 3.0), ("images", 1.0)]
    video = next(sources[0].stream.examples(0, 1))
    assert video.frames.shape == (4, 32, 32, 3) and video.frames.dtype == np.uint8
    assert np.array_equal(video.frames, decode_clip_sync(media["pattern"], SPEC))
    assert video.caption == "a test pattern" and video.source == "hq"
    image = next(sources[1].stream.examples(0, 1))
    assert image.frames.shape == (1, 32, 32, 3)
    assert np.abs(image.frames.astype(int) - [0, 0, 255]).max() <= 2  # pure blue after the resize


def test_undecodable_rows_are_skipped_and_a_source_with_none_raises(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    rows = read_manifest(
        _write_jsonl(
            tmp_path / "m.jsonl",
            [{"video": str(broken), "caption": "broken"}, {"video": str(media["red"]), "caption": "red"}],
        )
    )
    (source,) = sources_from_manifest(rows, OPTIONS)
    stream = source.stream.examples(0, 1)
    assert {next(stream).caption for _ in range(3)} == {"red"}
    (only_broken,) = sources_from_manifest(rows[:1], OPTIONS)
    with pytest.raises(RuntimeError, match="could be decoded"):
        next(only_broken.stream.examples(0, 1))


def _write_shard(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_tar_shards_pair_media_with_txt_or_json_captions(tmp_path: Path, media: dict[str, Path]) -> None:
    shard = _write_shard(
        tmp_path / "shard-000.tar",
        [
            ("clips/a.mp4", media["red"].read_bytes()),
            ("clips/a.txt", b"a red clip\n"),
            ("clips/b.mp4", media["green"].read_bytes()),
            ("clips/b.json", json.dumps({"caption": "a green clip", "id": 7}).encode()),
            ("clips/c.jpg", media["yellow_jpg"].read_bytes()),
            ("clips/c.txt", b"a yellow picture"),
            ("clips/d.txt", b"caption without media"),
        ],
    )
    samples = list(iter_shard(shard))
    assert [(s.key, s.media_suffix, s.caption) for s in samples] == [
        ("clips/a", ".mp4", "a red clip"),
        ("clips/b", ".mp4", "a green clip"),
        ("clips/c", ".jpg", "a yellow picture"),
    ]
    source = ShardSource("web", (shard,), OPTIONS)
    examples = [next(it) for it in [source.examples(0, 1)] for _ in range(3)]
    by_caption = {e.caption: e.frames for e in examples}
    assert np.array_equal(by_caption["a red clip"], decode_clip_sync(media["red"], SPEC))
    assert by_caption["a yellow picture"].shape == (1, 32, 32, 3)
    # Two shards of the stream split the samples between them.
    first = [e.caption for e, _ in zip(source.examples(0, 2), range(2), strict=False)]
    second = [e.caption for e, _ in zip(source.examples(1, 2), range(1), strict=False)]
    assert first[0] not in second


def test_real_and_image_sources_alternate_in_batches(tmp_path: Path, media: dict[str, Path]) -> None:
    rows = read_manifest(
        _write_jsonl(
            tmp_path / "m.jsonl",
            [
                {"video": str(media["red"]), "caption": "red", "source": "videos"},
                {"video": str(media["green"]), "caption": "green", "source": "videos"},
                {"video": str(media["blue_png"]), "caption": "blue", "source": "images"},
            ],
        )
    )
    sources = sources_from_manifest(rows, OPTIONS, weights={"videos": 2.0, "images": 1.0})
    weighted = [WeightedSource(s.name, s.weight, s.stream) for s in sources]
    batches = list(AlternatingBatches(weighted, batch_size=2, num_batches=3))
    assert [b.source for b in batches] == ["videos", "images", "videos"]
    assert batches[0].frames.shape == (2, 4, 32, 32, 3)
    assert batches[1].frames.shape == (2, 1, 32, 32, 3)
