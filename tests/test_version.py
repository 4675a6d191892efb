"""Tests of :mod:`corridors._version`: the one version of the package."""

from __future__ import annotations

import importlib.metadata
import re

import corridors
from corridors._version import __version__


def test_version_is_the_installed_distributions():
    assert __version__ == importlib.metadata.version("corridors")


def test_the_package_exports_the_same_version():
    assert corridors.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", __version__), __version__
