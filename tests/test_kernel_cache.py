"""Tests of :mod:`corridors.kernel_cache`: a changed source drops every cached kernel of the package."""

from __future__ import annotations

import os

from corridors.kernel_cache import drop_stale


def make_package(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    (pkg / "__pycache__").mkdir()
    (pkg / "trees.py").write_text("x = 1\n")
    (pkg / "sub" / "loading.py").write_text("y = 2\n")
    return pkg


def cache_files(pkg):
    for name in ("__pycache__/trees.f-1.py311.nbi", "sub/__pycache__/loading.f-2.py311.1.nbc"):
        (pkg / name).write_bytes(b"cached")
    return sorted(p.name for p in pkg.rglob("*.nb[ic]"))


def test_caches_are_dropped_when_any_source_changes(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    pkg = make_package(tmp_path)
    cache_files(pkg)
    assert drop_stale(pkg) == 2  # no stamp yet: what is there may be stale
    assert not list(pkg.rglob("*.nb[ic]"))
    cache_files(pkg)
    assert drop_stale(pkg) == 0  # nothing changed: the caches stay
    assert len(list(pkg.rglob("*.nb[ic]"))) == 2
    (pkg / "trees.py").write_text("x = 10\n")  # a callee edited: its callers' caches are stale too
    assert drop_stale(pkg) == 2
    assert not list(pkg.rglob("*.nb[ic]"))
    cache_files(pkg)
    st = (pkg / "sub" / "loading.py").stat()
    os.utime(pkg / "sub" / "loading.py", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert drop_stale(pkg) == 2


def test_caches_elsewhere_are_left_to_numba(tmp_path, monkeypatch):
    pkg = make_package(tmp_path)
    cache_files(pkg)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert drop_stale(pkg) == 0
    assert len(list(pkg.rglob("*.nb[ic]"))) == 2
