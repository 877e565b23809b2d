"""The bulk job's output folder: Parquet parts (`part-*.parquet`, one row per video or per segment) or
`.npy` + JSONL parts, written atomically so an interrupted run leaves only complete parts behind.

Resume reads the ids already present, so a rerun embeds only what is missing. Failures are not written as
rows: a rerun tries them again.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

Format = Literal["parquet", "npy"]


@dataclass(frozen=True)
class Row:
    """`segment_index` is -1 for a whole-video embedding; segment bounds are in seconds (None: unknown)."""

    id: str
    source: str
    segment_index: int
    segment_start: float | None
    segment_end: float | None
    model: str
    vector: np.ndarray


def schema(dim: int | None = None) -> pa.Schema:
    vector = pa.list_(pa.float32(), dim) if dim else pa.list_(pa.float32())
    return pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("segment_index", pa.int32()),
            ("segment_start", pa.float64()),
            ("segment_end", pa.float64()),
            ("vector", vector),
            ("model", pa.string()),
        ]
    )


def rows_to_table(rows: list[Row]) -> pa.Table:
    dim = len(rows[0].vector) if rows else None
    columns = {
        "id": [r.id for r in rows],
        "source": [r.source for r in rows],
        "segment_index": [r.segment_index for r in rows],
        "segment_start": [r.segment_start for r in rows],
        "segment_end": [r.segment_end for r in rows],
        "vector": [np.asarray(r.vector, dtype=np.float32) for r in rows],
        "model": [r.model for r in rows],
    }
    return pa.table(columns, schema=schema(dim))


def _part_name() -> str:
    # Time first so parts sort in write order; the random tail keeps concurrent writers apart.
    return f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def _atomic(path: Path, write: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)  # type: ignore[operator]
    os.replace(tmp, path)


def _save_npy(path: Path, array: np.ndarray) -> None:
    # Through a handle: given a path, np.save would append ".npy" to the temporary name.
    with path.open("wb") as handle:
        np.save(handle, array)


def existing_ids(folder: Path) -> set[str]:
    """Ids already embedded in `folder` (Parquet parts, including Ray's, and .npy + JSONL parts)."""
    ids: set[str] = set()
    if not folder.is_dir():
        return ids
    for part in folder.glob("*.parquet"):
        ids.update(pq.read_table(part, columns=["id"]).column("id").to_pylist())
    for part in folder.glob("part-*.jsonl"):
        with part.open(encoding="utf-8") as handle:
            ids.update(json.loads(line)["id"] for line in handle if line.strip())
    return ids


def read_table(folder: Path) -> pa.Table:
    """Every Parquet part of `folder` as one table."""
    parts = sorted(folder.glob("*.parquet"))
    if not parts:
        raise FileNotFoundError(f"{folder}: no Parquet parts (run videoprism-embed with --format parquet)")
    tables = [pq.read_table(p) for p in parts]
    dims = {len(t.column("vector")[0]) for t in tables if t.num_rows}
    if len(dims) > 1:
        raise ValueError(f"{folder}: parts with different vector sizes {sorted(dims)}")
    return pa.concat_tables([t.cast(schema(next(iter(dims), None))) for t in tables])


class OutputWriter:
    """Buffers rows and writes a part every `flush_every` rows (and on `close`)."""

    def __init__(self, folder: Path, fmt: Format = "parquet", *, flush_every: int = 256) -> None:
        self.folder = folder
        self.format = fmt
        self.flush_every = flush_every
        self.rows_written = 0
        self._buffer: list[Row] = []
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, rows: list[Row]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        name = _part_name()
        if self.format == "parquet":
            table = rows_to_table(rows)
            _atomic(self.folder / f"{name}.parquet", lambda p: pq.write_table(table, p))
        else:
            vectors = np.stack([np.asarray(r.vector, dtype=np.float32) for r in rows])
            # The .npy goes first: a JSONL part is what marks ids as done, so it must never lack vectors.
            _atomic(self.folder / f"{name}.npy", lambda p: _save_npy(p, vectors))
            lines = "".join(
                json.dumps({k: v for k, v in asdict(r).items() if k != "vector"} | {"row": i}) + "\n"
                for i, r in enumerate(rows)
            )
            _atomic(self.folder / f"{name}.jsonl", lambda p: p.write_text(lines, encoding="utf-8"))
        self.rows_written += len(rows)

    def close(self) -> None:
        self.flush()
