"""Streaming access to an official `.npz`: shapes from the member headers, arrays one at a time.

`np.load` on an `.npz` cannot memory-map its members, and loading the whole file would hold every array at
once (2.3 GB for LvT-large) next to the converted copy. Reading only the `.npy` headers lets us infer and
validate the config before touching any data, and reading members one by one keeps at most one raw array
alive during conversion.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

PREFIX = "params/"


class OfficialCheckpointError(ValueError):
    """The file is not an official VideoPrism checkpoint this converter can map (message says why)."""


class OfficialNpz:
    """An official checkpoint file; keys are exposed without the `params/` prefix."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise OfficialCheckpointError(f"{self.path}: no such file")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise OfficialCheckpointError(f"{self.path}: not an .npz (zip) file: {exc}") from exc
        self._members: dict[str, str] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.dtypes: dict[str, np.dtype] = {}
        for member in self._zip.namelist():
            name = member.removesuffix(".npy")
            if not name.startswith(PREFIX):
                raise OfficialCheckpointError(
                    f"{self.path}: key {name!r} does not start with {PREFIX!r}; official checkpoints store "
                    "every array under params/"
                )
            key = name.removeprefix(PREFIX)
            self._members[key] = member
            self.shapes[key], self.dtypes[key] = self._header(member)

    def _header(self, member: str) -> tuple[tuple[int, ...], np.dtype]:
        with self._zip.open(member) as f:
            version = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _fortran, dtype = read(f)
        return tuple(int(s) for s in shape), np.dtype(dtype)

    def load(self, key: str) -> np.ndarray:
        """Read one array (a fresh float32 buffer owned by the caller)."""
        with self._zip.open(self._members[key]) as f:
            array = np.lib.format.read_array(f, allow_pickle=False)
        if array.dtype != np.float32:
            raise OfficialCheckpointError(f"{key}: dtype {array.dtype}, expected float32")
        return array

    def iter_arrays(self) -> Iterator[tuple[str, np.ndarray]]:
        """(key, array) in file order, one array loaded at a time."""
        for key in self._members:
            yield key, self.load(key)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> OfficialNpz:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
