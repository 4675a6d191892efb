"""The benchmark scripts import and parse their arguments; their helpers work.

No timing is asserted here (nor anywhere in the tests): ``make bench-quick`` runs every
benchmark with ``--quick`` in CI. These tests catch a script that no longer imports, a
parser that lost ``--quick``, and a broken worker protocol, within ``make test``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
HELPERS = {"benchlib.py"}  # modules without a command line
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name not in HELPERS)


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch):
    """Import a file of benchmarks/ by name, with benchmarks/ first on sys.path as when run."""
    monkeypatch.syspath_prepend(str(BENCH))

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"_bench_{Path(name).stem}", BENCH / name)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
        spec.loader.exec_module(module)
        return module

    return load


class _Parsed(Exception):  # noqa: N818 - a signal, not an error
    """Raised in place of running the benchmark, once its arguments are parsed."""

    def __init__(self, namespace: argparse.Namespace) -> None:
        self.namespace = namespace


def test_the_scripts_are_found():
    assert {
        "bench_model.py",
        "bench_ensemble.py",
        "bench_routing.py",
        "bench_cli_run.py",
        "scipy_router.py",
    } <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_parses_quick_and_help(name, bench, monkeypatch, capsys):
    module = bench(name)
    parse_args = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        raise _Parsed(parse_args(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    with pytest.raises(_Parsed) as parsed:
        module.main(["--quick"])
    assert parsed.value.namespace.quick is True
    with pytest.raises(SystemExit) as stopped:
        module.main(["--help"])
    assert stopped.value.code == 0
    assert "--quick" in capsys.readouterr().out


def test_old_worktree_says_why_when_the_commit_is_missing(bench, monkeypatch):
    benchlib = bench("benchlib.py")
    monkeypatch.delenv(benchlib.OLD_TREE_ENV, raising=False)
    with benchlib.old_worktree("0" * 40) as (tree, why):
        assert tree is None
        assert why  # printed by the scripts, which carry on without the old version


def test_worker_imports_corridors_from_the_given_src(bench):
    benchlib = bench("benchlib.py")
    src = benchlib.new_src()
    with benchlib.Worker("new", src) as worker:
        assert Path(worker.info["file"]).resolve().is_relative_to(src)
        with pytest.raises(benchlib.WorkerError, match="no_such_command"):
            worker.call("no_such_command")
        assert worker.call("hello", expect=str(src))["version"]
        with pytest.raises(benchlib.WorkerError, match="not from inside"):
            worker.call("hello", expect=str(benchlib.BENCH_DIR))


def test_lever_settings_are_inside_the_levers_ranges(bench):
    from corridors.tuning import LEVERS

    benchlib = bench("benchlib.py")
    moves = benchlib.lever_settings(12)
    assert len({tuple(m.items()) for m in moves}) == 12
    for move in moves:
        ((name, value),) = move.items()
        assert LEVERS[name].low <= value <= LEVERS[name].high


def test_scipy_router_agrees_with_ours_on_random_networks(bench):
    scipy_router = bench("scipy_router.py")
    check = scipy_router.check_random(seed=3, cases=6)
    assert not check.problems, check.summary()
    assert check.unique > 0


def test_scipy_router_through_mask_and_parallel_edges(bench):
    """A non-through source may start a path; a non-through node may end one but not pass on;
    of parallel edges the cheapest (lowest slot on a tie) is the predecessor."""
    scipy_router = bench("scipy_router.py")
    from corridors import routing

    # 0 -> 1 (two parallel slots, costs 2 and 1), 1 -> 2, 0 -> 2 (cost 10); node 1 not a through node
    indptr, indices, perm = routing.csr_from_edges(np.array([0, 0, 1, 0]), np.array([1, 1, 2, 2]), 3)
    w = np.array([[2.0, 1.0, 1.0, 10.0]])[:, perm]
    through = np.array([True, False, True])
    args = (indptr, indices, w, np.array([0, 0]), np.array([0, 1]))
    dist, pred = scipy_router.shortest_path_trees(
        *args, edge_mask=np.ones_like(w, bool), through_mask=through
    )
    ours = routing.shortest_path_trees(*args, edge_mask=np.ones_like(w, bool), through_mask=through)
    np.testing.assert_array_equal(dist, ours[0])
    np.testing.assert_array_equal(pred, ours[1])
    assert dist[0].tolist() == [0.0, 1.0, 10.0]  # 0 -> 2 may not pass through 1
    assert dist[1].tolist() == [np.inf, 0.0, 1.0]  # 1 may start a path
    assert pred.dtype == np.int64
