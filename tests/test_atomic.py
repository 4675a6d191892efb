"""Tests of :mod:`corridors.atomic`: files and directories are replaced whole or not at all,
and nothing temporary is left behind when writing fails midway."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from corridors import atomic
from corridors.atomic import write_bytes_atomic, write_dir_atomic


class BoomError(RuntimeError):
    pass


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_bytes_atomic_replaces_the_file_whole(tmp_path):
    path = tmp_path / "deep" / "er" / "out.json"
    write_bytes_atomic(path, b"old")
    write_bytes_atomic(path, b"new and longer")
    assert path.read_bytes() == b"new and longer"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask()


def test_write_bytes_atomic_failing_midway_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    write_bytes_atomic(path, b"old")

    def fail(src, dst):
        raise BoomError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(BoomError):
        write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_dir_atomic_makes_the_directory_from_fill(tmp_path):
    def fill(tmp: Path) -> None:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run-")
        (tmp / "a.txt").write_text("a")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("b")

    out = write_dir_atomic(tmp_path / "run", fill)
    assert out == tmp_path / "run"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["a.txt", "sub", "sub/b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask()


def test_write_dir_atomic_failing_fill_leaves_nothing(tmp_path):
    def fill(tmp: Path) -> None:
        (tmp / "half.txt").write_text("half")
        raise BoomError("fill failed")

    with pytest.raises(BoomError):
        write_dir_atomic(tmp_path / "run", fill)
    assert list(tmp_path.iterdir()) == []


def test_write_dir_atomic_refuses_an_existing_directory_unless_forced(tmp_path):
    path = tmp_path / "run"
    write_dir_atomic(path, lambda tmp: (tmp / "old.txt").write_text("old"))
    with pytest.raises(FileExistsError, match="already exists"):
        write_dir_atomic(path, lambda tmp: (tmp / "new.txt").write_text("new"))
    assert [p.name for p in path.iterdir()] == ["old.txt"]
    write_dir_atomic(path, lambda tmp: (tmp / "new.txt").write_text("new"), force=True)
    assert [p.name for p in path.iterdir()] == ["new.txt"]  # replaced whole, not merged
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # the old one moved aside is gone


def test_a_forced_write_that_fails_keeps_the_old_directory(tmp_path):
    path = tmp_path / "run"
    write_dir_atomic(path, lambda tmp: (tmp / "old.txt").write_text("old"))

    def fill(tmp: Path) -> None:
        (tmp / "new.txt").write_text("new")
        raise BoomError("fill failed")

    with pytest.raises(BoomError):
        write_dir_atomic(path, fill, force=True)
    assert (path / "old.txt").read_text() == "old" and [p.name for p in path.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
