"""Engines: pre-process a list of items into feeds, run the backend, split the output per item, warm up.

The batcher is generic over engines; each engine knows its item type, how much an item costs (frames or
real tokens) and how to reject a malformed item before it joins a batch, so one bad item fails alone.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from service.core.backends import Feeds, SessionBackend
from service.core.types import Vector
from service.errors import InternalError, InvalidRequestError
from videoprism_bundle.tensor_names import INPUT_IDS, PADDINGS, VIDEO_INPUT

ItemT = TypeVar("ItemT")


# Start-up time a warm-up may spend: a full-size model's largest batch is left to its first request.
WARMUP_BUDGET_S = 20.0


class Engine(ABC, Generic[ItemT]):
    kind: str

    def __init__(
        self, backend: SessionBackend, embedding_dim: int, reason: str = "", max_items_per_run: int = 0
    ) -> None:
        self.backend = backend
        self.embedding_dim = embedding_dim
        self.reason = reason
        # 0: a batch is one run. Otherwise a batch runs as consecutive runs of at most this many items:
        # the encoder has no cross-item term, so outputs are the same, and the runtime's activation memory
        # is sized by this many items instead of the batcher's largest batch.
        self.max_items_per_run = max_items_per_run
        self.warmed_batch_sizes: tuple[int, ...] = ()

    @abstractmethod
    def validate(self, item: ItemT) -> None:
        """Raise InvalidRequestError for an item this engine cannot take."""

    @abstractmethod
    def cost(self, item: ItemT) -> int: ...

    @abstractmethod
    def preprocess(self, items: Sequence[ItemT]) -> Feeds: ...

    @abstractmethod
    def example_item(self) -> ItemT:
        """A valid item of maximal cost, used to warm up every batch shape."""

    def infer(self, feeds: Feeds) -> npt.NDArray[np.float32]:
        return self.backend.run(feeds)

    def postprocess(self, output: npt.NDArray[np.float32], count: int) -> list[Vector]:
        if output.shape != (count, self.embedding_dim):
            raise InternalError(
                f"{self.kind} encoder returned shape {output.shape}, expected ({count}, {self.embedding_dim})"
            )
        return [np.array(row, dtype=np.float32) for row in output]

    def run_size(self, batch_size: int) -> int:
        """Items per runtime run for a batch of `batch_size` items."""
        return min(batch_size, self.max_items_per_run) if self.max_items_per_run else batch_size

    def run_batch(self, items: Sequence[ItemT]) -> list[Vector]:
        step = self.run_size(len(items))
        if step >= len(items):
            return self.postprocess(self.infer(self.preprocess(items)), len(items))
        # Each chunk's float feeds are built just before its run, so only one chunk's input is held.
        outputs = [self.infer(self.preprocess(items[i : i + step])) for i in range(0, len(items), step)]
        return self.postprocess(np.concatenate(outputs), len(items))

    def warmup(self, batch_sizes: Sequence[int], budget_s: float = WARMUP_BUDGET_S) -> float:
        """Runs each batch size not yet warmed once, smallest first, so the first real request does not pay
        for kernel selection and allocation; returns the seconds spent. A size whose run, estimated from
        the previous one's seconds per item, would overrun `budget_s` is skipped: its first real batch pays
        that cost instead of every start-up. A size whose runs (see `max_items_per_run`) have the shape of
        one already warmed is warm without running."""
        started = time.perf_counter()
        example = self.example_item()
        per_item = 0.0
        run_shapes = {self.run_size(size) for size in self.warmed_batch_sizes}
        for size in sorted(set(batch_sizes) - set(self.warmed_batch_sizes)):
            run = self.run_size(size)
            if run not in run_shapes:
                if per_item * run > budget_s - (time.perf_counter() - started):
                    continue
                run_started = time.perf_counter()
                self.run_batch([example] * run)
                per_item = (time.perf_counter() - run_started) / run
                run_shapes.add(run)
            self.warmed_batch_sizes = tuple(sorted({*self.warmed_batch_sizes, size}))
        return time.perf_counter() - started


def warmup_sizes(batch_sizes: Sequence[int]) -> list[int]:
    """The smallest and largest batch only: warming every size made start-up scale with max batch x model
    cost (7 min for a full-size model, issue 28); the sizes between reuse the largest one's allocations."""
    return sorted({min(batch_sizes), max(batch_sizes)})


class VideoEngine(Engine[npt.NDArray[np.uint8]]):
    """Items are uint8 RGB clips [T, S, S, 3] sampled to the bundle's spec."""

    kind = "video"

    def __init__(
        self,
        backend: SessionBackend,
        *,
        embedding_dim: int,
        num_frames: int,
        image_size: int,
        value_range: tuple[float, float] = (0.0, 1.0),
        reason: str = "",
        max_items_per_run: int = 0,
    ) -> None:
        super().__init__(backend, embedding_dim, reason, max_items_per_run)
        self.shape = (num_frames, image_size, image_size, 3)
        self._low, self._high = value_range

    def validate(self, item: npt.NDArray[np.uint8]) -> None:
        if not isinstance(item, np.ndarray) or item.dtype != np.uint8 or item.shape != self.shape:
            got = f"{item.dtype} {item.shape}" if isinstance(item, np.ndarray) else type(item).__name__
            raise InvalidRequestError(f"video clip must be uint8 {self.shape}, got {got}")

    def cost(self, item: npt.NDArray[np.uint8]) -> int:
        return int(item.shape[0])

    def preprocess(self, items: Sequence[npt.NDArray[np.uint8]]) -> Feeds:
        # Each clip is converted and scaled straight into its slot of the float batch: one pass over the
        # pixels instead of stack (uint8 copy) + astype (float copy) + scale.
        batch = np.empty((len(items), *self.shape), dtype=np.float32)
        scale = np.float32((self._high - self._low) / 255.0)
        for slot, item in zip(batch, items, strict=True):
            np.multiply(item, scale, out=slot, dtype=np.float32)
        if self._low:
            batch += np.float32(self._low)
        return {VIDEO_INPUT: batch}

    def example_item(self) -> npt.NDArray[np.uint8]:
        return np.full(self.shape, 127, dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class TokenRow:
    """One tokenized text: its token ids, already truncated and not padded. Padding to the encoder's
    fixed length happens once per batch in `TextEngine.preprocess` (on the inference thread), so a request
    costs no numpy work on the event loop."""

    ids: Sequence[int]

    @property
    def num_tokens(self) -> int:
        return len(self.ids)


class TextEngine(Engine[TokenRow]):
    kind = "text"

    def __init__(
        self,
        backend: SessionBackend,
        *,
        embedding_dim: int,
        max_length: int,
        pad_id: int = 0,
        reason: str = "",
    ) -> None:
        super().__init__(backend, embedding_dim, reason)
        self.max_length = max_length
        self.pad_id = pad_id

    def validate(self, item: TokenRow) -> None:
        if len(item.ids) > self.max_length:
            raise InvalidRequestError(f"token row must have at most {self.max_length} ids")

    def cost(self, item: TokenRow) -> int:
        # Rows are padded to max_length, but real tokens are what a length-bucketing runtime pays for and
        # what distinguishes a long request from a short one; at least 1 so empty rows are not free.
        return max(1, item.num_tokens)

    def preprocess(self, items: Sequence[TokenRow]) -> Feeds:
        # Right-padded with `pad_id`; `paddings` is 1.0 exactly at padded positions (the bundle's contract).
        ids = np.full((len(items), self.max_length), self.pad_id, dtype=np.int64)
        lengths = np.fromiter((len(i.ids) for i in items), dtype=np.int64, count=len(items))
        for row, item in zip(ids, items, strict=True):
            row[: len(item.ids)] = item.ids
        paddings = (np.arange(self.max_length)[None, :] >= lengths[:, None]).astype(np.float32)
        return {INPUT_IDS: ids, PADDINGS: paddings}

    def example_item(self) -> TokenRow:
        return TokenRow(ids=(1,) * self.max_length)
