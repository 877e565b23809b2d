"""A usearch (HNSW, cosine) index over the Parquet rows of `videoprism-embed`, saved next to a copy of the
rows' metadata and one JPEG thumbnail per row, so the search page needs nothing but the index folder."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from usearch.index import Index

from videoprism_tools.embed.output import read_table

INDEX_FILE = "vectors.usearch"
ROWS_FILE = "rows.parquet"
META_FILE = "meta.json"
THUMBS = "thumbs"


@dataclass(frozen=True)
class Hit:
    row: int
    id: str
    source: str
    segment_start: float | None
    segment_end: float | None
    score: float  # cosine similarity, higher is closer


def _thumbnail(source: str, at_s: float, out: Path) -> bool:
    # Seeking before the input is fast and lands on the nearest frame, which is all a thumbnail needs.
    cmd = ["ffmpeg", "-v", "error", "-y", "-ss", f"{at_s:.3f}", "-i", source, "-frames:v", "1",
           "-vf", "scale=160:-2", str(out)]  # fmt: skip
    try:
        subprocess.run(cmd, check=True, timeout=30, capture_output=True)
    except (subprocess.SubprocessError, OSError):
        return False
    return out.is_file()


def build_index(embeddings: Path, index_dir: Path, *, thumbnails: bool = True) -> int:
    """Indexes every row of the Parquet parts in `embeddings`; returns the number of rows."""
    table = read_table(embeddings)
    vectors = np.asarray(table.column("vector").to_pylist(), dtype=np.float32)
    index = Index(ndim=vectors.shape[1], metric="cos", dtype="f32")
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors)
    index_dir.mkdir(parents=True, exist_ok=True)
    index.save(str(index_dir / INDEX_FILE))
    pq.write_table(table.drop_columns(["vector"]), index_dir / ROWS_FILE)
    models = sorted(set(table.column("model").to_pylist()))
    (index_dir / META_FILE).write_text(json.dumps({"rows": len(vectors), "dim": int(vectors.shape[1]),
                                                   "models": models}))  # fmt: skip
    if thumbnails:
        (index_dir / THUMBS).mkdir(exist_ok=True)
        starts = table.column("segment_start").to_pylist()
        with ThreadPoolExecutor(max_workers=2) as pool:
            for row, (source, start) in enumerate(
                zip(table.column("source").to_pylist(), starts, strict=True)
            ):
                pool.submit(_thumbnail, source, start or 0.0, index_dir / THUMBS / f"{row}.jpg")
    return len(vectors)


class SearchIndex:
    def __init__(self, index_dir: Path) -> None:
        self.dir = index_dir
        meta = json.loads((index_dir / META_FILE).read_text())
        self.dim: int = meta["dim"]
        self.models: list[str] = meta["models"]
        index = Index.restore(str(index_dir / INDEX_FILE))
        if index is None:
            raise FileNotFoundError(f"{index_dir / INDEX_FILE}: not a usearch index")
        self._index = index
        self._rows = pq.read_table(index_dir / ROWS_FILE).to_pylist()

    def __len__(self) -> int:
        return len(self._rows)

    def thumbnail(self, row: int) -> Path | None:
        path = self.dir / THUMBS / f"{row}.jpg"
        return path if path.is_file() else None

    def search(self, query: np.ndarray, k: int = 10) -> list[Hit]:
        found = self._index.search(np.asarray(query, dtype=np.float32), min(k, len(self._rows)))
        hits = []
        for key, distance in zip(found.keys, found.distances, strict=True):
            r = self._rows[int(key)]
            hits.append(Hit(int(key), r["id"], r["source"], r["segment_start"], r["segment_end"],
                            score=1.0 - float(distance)))  # fmt: skip
        return hits
