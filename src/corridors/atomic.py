"""Writing files and directories so that a reader never sees half of them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["publish_dir", "write_bytes_atomic", "write_dir_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def publish_dir(tmp: Path, path: Path) -> None:
    """Move the finished directory ``tmp`` to ``path``, replacing an existing one.

    The old directory is first moved aside into a fresh hidden directory (never a fixed name,
    which a killed run could leave behind), then removed.
    """
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; a run directory is not
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-", dir=path.parent))
        os.replace(path, old / path.name)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


def write_dir_atomic(path: str | Path, fill: Callable[[Path], None], *, force: bool = False) -> Path:
    """Make the directory ``path`` atomically.

    ``fill(tmp)`` writes its files into a temporary sibling, which is then renamed into place
    (nothing is left if ``fill`` raises). An existing ``path`` is an error unless ``force``
    (then it is replaced whole).
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path}: already exists (use force=True or --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        fill(tmp)
        publish_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path
