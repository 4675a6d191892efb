"""Run every benchmark script in benchmarks/ one after the other; exit 1 if any fails.

The scripts are ``benchmarks/bench_*.py`` (``benchlib.py`` is a helper module) followed by
``scipy_router.py``'s self-check. One temporary ``git worktree`` of the old revision (commit
5122682) serves all of them (``CORRIDORS_BENCH_OLD_TREE``), so its Numba cache is compiled
once; it is removed at the end. ``--quick`` is passed on to every script: ``make bench-quick``
and CI run ``python benchmarks/run_benchmarks.py --quick``, which checks that every
benchmark still runs (it asserts nothing about time: a missed target exits 0).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from benchlib import (  # next to this script
    BENCH_DIR,
    OLD_TREE_ENV,
    columns,
    exit_on_sigterm,
    old_worktree,
    print_load,
)


def scripts() -> list[str]:
    """The benchmark scripts, then the scipy router's self-check."""
    return [p.name for p in sorted(BENCH_DIR.glob("bench_*.py"))] + ["scipy_router.py"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script (for CI)")
    parser.add_argument(
        "--only",
        action="append",
        choices=scripts(),
        metavar="SCRIPT",
        help="run only this script (repeatable)",
    )
    return parser


def run(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``cmd``; on SIGTERM or Ctrl-C, stop it with SIGTERM (it cleans up) and re-raise."""
    proc = subprocess.Popen(cmd, env=env, cwd=BENCH_DIR.parent)
    try:
        return proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    exit_on_sigterm()
    started = time.perf_counter()
    print_load("at start")
    done: list[tuple[str, int, float]] = []
    with old_worktree() as (tree, why):
        env = dict(os.environ)
        if tree is not None:
            env[OLD_TREE_ENV] = str(tree.path)
            print(f"old version for every script: {tree.describe()}")
        else:
            print(f"old version: comparison SKIPPED: {why}")
        for name in args.only or scripts():
            cmd = [sys.executable, str(BENCH_DIR / name)] + (["--quick"] if args.quick else [])
            print(f"\n==> {' '.join(cmd)}", flush=True)
            t0 = time.perf_counter()
            code = run(cmd, env)
            done.append((name, code, time.perf_counter() - t0))
    print()
    rows = [("script", "exit status", "seconds")]
    rows += [(name, str(code), f"{seconds:.0f}") for name, code, seconds in done]
    print("\n".join(columns(rows, left={0})))
    failed = [name for name, code, _ in done if code]
    print(
        f"{len(done) - len(failed)} of {len(done)} scripts ran; total {time.perf_counter() - started:.0f} s"
    )
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
