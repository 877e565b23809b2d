"""The reliability suite needs the `bench` extra (psutil, aiohttp); `make test` does not install it, so
without those packages the modules are not even collected (they are all `slow` anyway)."""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if all(importlib.util.find_spec(m) for m in ("psutil", "aiohttp")) else ["test_*.py"]
