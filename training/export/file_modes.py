"""Permissions of what convert and export publish."""

from __future__ import annotations

import stat
from pathlib import Path

# Read by other users: the server usually runs as another user than the one who exported (a container's).
PUBLISHED_FILE_MODE = 0o644
PUBLISHED_DIR_MODE = 0o755


def make_readable(root: Path) -> None:
    """Every file under `root` 0644 and every directory 0755. safetensors writes 0600 and tempfile's staging
    directories are 0700, so a checkpoint or bundle left as written is unreadable by a server running as
    another user (issue 28)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = PUBLISHED_DIR_MODE if path.is_dir() else PUBLISHED_FILE_MODE
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)
