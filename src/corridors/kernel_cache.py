"""Numba's on-disk cache of the package's kernels, kept consistent across modules.

Numba drops a cached kernel when its own source file changes, but not when a kernel it calls
(and compiles into itself) changes in another module: after an edit or an upgrade that
changes ``trees.py`` alone, the cached kernels of ``loading.py`` and ``quotes.py`` would
still run the old tree code. :func:`drop_stale` keeps a stamp of the package's sources (each
file's size and modification time) beside the caches and removes every cached kernel of the
package when any source differs from the stamp; numba then compiles afresh. The package
calls it once on import: it costs a directory walk (well under a millisecond).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["drop_stale"]

PACKAGE = Path(__file__).resolve().parent
STAMP = "corridors-kernels.stamp"


def sources_stamp(package: Path = PACKAGE) -> str:
    """Return a digest of every Python source of ``package``: its path, size and modification time."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def drop_stale(package: Path = PACKAGE) -> int:
    """Remove the package's cached kernels if any source changed since they were stamped.

    Parameters
    ----------
    package : Path
        The package's directory; numba keeps its caches in the ``__pycache__`` folders below.

    Returns
    -------
    int
        The number of cache files removed (0 when the stamp matches, when ``NUMBA_CACHE_DIR``
        moves the caches elsewhere, or when the folder cannot be written: an installation
        the user cannot change has no caches of its own there either).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return 0
    stamp_file = package / "__pycache__" / STAMP
    try:
        stamp = sources_stamp(package)
        if stamp_file.is_file() and stamp_file.read_text() == stamp:
            return 0
        removed = 0
        for cache in [*package.rglob("__pycache__/*.nbi"), *package.rglob("__pycache__/*.nbc")]:
            cache.unlink(missing_ok=True)
            removed += 1
        stamp_file.parent.mkdir(exist_ok=True)
        tmp = stamp_file.with_name(f"{STAMP}.{os.getpid()}.tmp")
        tmp.write_text(stamp)
        os.replace(tmp, stamp_file)
    except OSError:
        return 0
    return removed
