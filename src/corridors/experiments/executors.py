"""Where runs execute: local worker processes, an existing Dask cluster, or an embedded one.

One interface for every backend (as EMA Workbench's evaluators): an executor is a context
manager whose :meth:`Executor.imap_unordered` runs ``fn(task)`` for each task and yields
``(index, result, error)`` as runs finish, in whatever order. Callers never depend on that
order: every run carries its own seed.

- :class:`LocalExecutor`: ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn``
  start method (no fork of a process holding threads), one Numba thread per worker, the
  kernels loaded from Numba's cache once per worker; workers exit if the coordinating
  process dies (e.g. ``SIGKILL``), so an interrupted sweep leaves no orphans.
- :class:`DaskExecutor`: a ``dask.distributed`` client, either connected to an existing
  scheduler (``tcp://host:8786``) or owning an embedded ``LocalCluster`` of single-threaded
  worker processes listening on loopback only, without a dashboard.

:class:`Execution` is what a user asks for (``workers``, ``executor``, ``scheduler``),
checked once when it is made; :meth:`Execution.make_executor` gives the executor.
"""

from __future__ import annotations

import logging
import multiprocessing
import operator
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "DaskExecutor",
    "Execution",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "loopback_cluster",
    "prepare_worker",
]

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# One thread per worker process for every library that could start its own pool.
SINGLE_THREAD_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d+)?/?$")
_prepared = False
_prepare_lock = threading.Lock()


class ExecutorError(RuntimeError):
    """An executor could not start (an unreachable scheduler, a cluster that failed)."""


def prepare_worker() -> None:
    """Once per worker process: one Numba thread, kernels and packaged data loaded.

    Runs are parallel across processes, never within one: two levels of threads on the
    same cores only slow each other down.
    """
    global _prepared
    with _prepare_lock:
        if _prepared:
            return
        # For what this worker starts. Not NUMBA_NUM_THREADS once numba is imported: numba
        # re-reads it at each compilation and refuses a value other than the one its threads
        # were launched with; set_num_threads below is the run-time switch.
        keep = ("NUMBA_NUM_THREADS",) if "numba" in sys.modules else ()
        os.environ.update({k: v for k, v in SINGLE_THREAD_ENV.items() if k not in keep})
        import numba  # lazy: after the environment above, which numba reads when first imported

        numba.set_num_threads(1)
        from corridors import routing
        from corridors.model import packaged_inputs  # lazy: +0.6 s (Mesa) to import; workers only

        routing.warmup()  # loads every kernel from the on-disk cache
        packaged_inputs()
        _prepared = True


def _restore_environ(saved: dict[str, str | None]) -> None:
    """Put the variables ``saved`` (name: value, ``None`` for unset) back into ``os.environ``."""
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _ready() -> int:
    """Prove that the worker has started (and prepared): a task that only returns its pid."""
    return os.getpid()


def _local_initializer(parent: int) -> None:
    """Worker start: prepare, and exit when the coordinating process is gone."""

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="corridors-parent-watch", daemon=True).start()
    prepare_worker()


class Executor:
    """Runs tasks and yields ``(index, result, error)`` as they finish (base class)."""

    kind: str = "executor"
    workers: int = 1

    def __enter__(self) -> Executor:
        """Start the executor for the block."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Close it; runs not yet started are dropped if the block raised."""
        self.close(cancel=exc[0] is not None)

    def start(self) -> None:
        """Start the workers (or connect to them)."""

    def close(self, *, cancel: bool = False) -> None:
        """Stop the workers started here; ``cancel`` drops runs not yet started."""

    def describe(self) -> dict[str, Any]:
        """Describe what ran the runs, for the manifest."""
        return {"executor": self.kind, "workers": self.workers}

    def imap_unordered(
        self, fn: Callable[[Any], Any], tasks: Sequence[Any]
    ) -> Iterator[tuple[int, Any, BaseException | None]]:
        """``(i, fn(tasks[i]), None)`` or ``(i, None, error)`` for each task, as they finish."""
        raise NotImplementedError

    def submitter(self) -> Any:
        """Return what takes ``submit(fn, *args)`` and gives futures: for libraries that schedule runs themselves.

        The started backend (a ``concurrent.futures`` pool, a Dask client), so that a library
        such as pyabc runs its simulations on the same prepared workers as ensembles do.
        """
        raise NotImplementedError


class LocalExecutor(Executor):
    """Worker processes on this machine (``spawn``), ``workers`` of them (default: the cores)."""

    kind = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = None

    def start(self) -> None:
        """Start every worker process now, each with one thread per library."""
        from concurrent.futures import ProcessPoolExecutor  # lazy: +75 ms to import; local runs only

        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_local_initializer,
            initargs=(os.getpid(),),
        )
        # Start every worker now, with one thread per library from its first import: the
        # environment a spawned process inherits is this process's at the time it starts.
        saved = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
        os.environ.update(SINGLE_THREAD_ENV)
        try:
            wait([self._pool.submit(_ready) for _ in range(self.workers)])
        finally:
            _restore_environ(saved)

    def close(self, *, cancel: bool = False) -> None:
        """Shut the pool down, dropping runs not yet started; wait for running ones unless ``cancel``."""
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=True)
            self._pool = None

    def submitter(self):
        """Return the started process pool (``concurrent.futures.ProcessPoolExecutor``)."""
        assert self._pool is not None, "use the executor as a context manager"
        return self._pool

    def imap_unordered(self, fn, tasks):
        """Run ``fn`` on the tasks, a few queued per worker; a crashed worker fails its run only."""
        assert self._pool is not None, "use the executor as a context manager"
        # Keep a few runs queued per worker rather than submitting thousands at once, so an
        # interrupted sweep leaves little queued work to cancel.
        pending: dict[Any, int] = {}
        queue = iter(range(len(tasks)))
        limit = 4 * self.workers

        def fill() -> None:
            while len(pending) < limit:
                i = next(queue, None)
                if i is None:
                    return
                pending[self._pool.submit(fn, tasks[i])] = i

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    yield i, fut.result(), None
                except Exception as exc:  # a crashed worker: the run failed, the others go on
                    yield i, None, exc
            fill()


class DaskExecutor(Executor):
    """A Dask cluster: ``scheduler`` an existing one's address, else an embedded ``LocalCluster``."""

    def __init__(self, *, scheduler: str | None = None, workers: int | None = None) -> None:
        self.scheduler = scheduler
        self.kind = "dask" if scheduler is None else "dask-scheduler"
        self.workers = workers or os.cpu_count() or 1
        self._cluster = None
        self._client = None

    def start(self) -> None:
        """Start the embedded cluster, or connect to the scheduler and count its threads.

        Raises
        ------
        ExecutorError
            The scheduler is unreachable, or the cluster failed to start.
        """
        from distributed import Client  # lazy: +0.27 s to import; Dask runs only

        try:
            if self.scheduler is None:
                self._cluster = loopback_cluster(self.workers)
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.scheduler, timeout="10s")
                self.workers = max(
                    1, sum(w["nthreads"] for w in self._client.scheduler_info()["workers"].values())
                )
        except (OSError, TimeoutError) as exc:
            self.close()
            where = self.scheduler or "an embedded LocalCluster"
            msg = f"cannot start the Dask executor ({where}): {exc}"
            raise ExecutorError(msg) from None

    def describe(self) -> dict[str, Any]:
        """Describe what ran the runs, with the scheduler's address if there is one."""
        out = super().describe()
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler
        return out

    def close(self, *, cancel: bool = False) -> None:
        """Close the client, and the cluster if it was started here."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def submitter(self):
        """Return the connected ``distributed.Client``."""
        assert self._client is not None, "use the executor as a context manager"
        return self._client

    def imap_unordered(self, fn, tasks):
        """Submit every task and yield each as it finishes; the rest are cancelled if the caller stops."""
        from distributed import as_completed  # lazy, as in start

        assert self._client is not None, "use the executor as a context manager"
        futures = {self._client.submit(fn, t, pure=False): i for i, t in enumerate(tasks)}
        try:
            for fut in as_completed(futures):
                i = futures.pop(fut)
                try:
                    yield i, fut.result(), None
                except Exception as exc:  # a lost worker (KilledWorker): this run failed
                    yield i, None, exc
                fut.release()
        finally:
            if futures:
                self._client.cancel(list(futures))


def loopback_cluster(workers: int):
    """Start a ``distributed.LocalCluster`` of ``workers`` single-threaded processes, on loopback only.

    The scheduler and workers listen on 127.0.0.1 at free ports; there is no dashboard, and
    the scheduler's HTTP server (health, metrics) serves no routes.
    """
    import dask  # lazy: +0.14 s to import (distributed +0.27 s); Dask runs only
    from distributed import LocalCluster

    # pre-spawn: the workers' environment before their first import (numba reads it then)
    config = {
        "distributed.scheduler.http.routes": [],
        **{f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in SINGLE_THREAD_ENV.items()},
    }
    # Dask's nannies run in this process and write their pre-spawn environment into its
    # os.environ: put it back, or numba here would re-read NUMBA_NUM_THREADS=1 at its next
    # compilation and refuse it (its threads were launched with another count)
    saved = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
    try:
        with dask.config.set(config):
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.ERROR,
                env=dict(SINGLE_THREAD_ENV),
            )
    finally:
        _restore_environ(saved)


@dataclass(frozen=True)
class Execution:
    """Where the runs of an ensemble, a sweep or a sensitivity analysis execute.

    The same options for :func:`corridors.run_ensemble`, :func:`corridors.sweep` and
    :func:`corridors.sensitivity` (``execution=``), checked once, here: a bad value raises at
    once, before any run starts or anything is written. Where the runs execute changes no
    result: every run carries its own seed.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: the machine's cores); ignored for an existing cluster,
        whose workers are counted instead.
    executor : {"local", "dask"}, optional
        ``"local"``: worker processes on this machine; ``"dask"``: an embedded Dask
        ``LocalCluster`` of ``workers`` single-threaded processes, or the cluster at
        ``scheduler``. Default: ``"local"`` unless a scheduler is given here or in
        ``DASK_SCHEDULER_ADDRESS``.
    scheduler : str, optional
        Address of an existing Dask scheduler, ``tcp://host:port`` (default:
        ``DASK_SCHEDULER_ADDRESS`` when ``executor`` is not given).

    Raises
    ------
    ValueError
        An unknown executor, a scheduler with ``executor="local"``, a malformed address or
        fewer than one worker, with a message naming the option and the reason.

    Examples
    --------
    >>> Execution(workers=2)
    Execution(workers=2, executor=None, scheduler=None)
    >>> Execution(executor="dask", scheduler="tcp://127.0.0.1:8786").scheduler_address()
    'tcp://127.0.0.1:8786'
    """

    workers: int | None = None
    executor: Literal["local", "dask"] | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        """Check the options (see Raises above); ``workers`` becomes an int."""
        workers, executor, scheduler = self.workers, self.executor, self.scheduler
        if executor not in (None, "local", "dask"):
            msg = f"executor: must be 'local' or 'dask', got {executor!r}"
            raise ValueError(msg)
        if workers is not None:
            count = _whole(workers)
            if count is None or count < 1:
                msg = f"workers: must be an integer >= 1, got {workers!r}"
                raise ValueError(msg)
            object.__setattr__(self, "workers", count)
        if scheduler is not None:
            if executor == "local":
                msg = "scheduler: a Dask scheduler address needs executor 'dask', not 'local'"
                raise ValueError(msg)
            object.__setattr__(self, "scheduler", _check_address(scheduler))

    def scheduler_address(self) -> str | None:
        """Find the existing Dask scheduler the runs go to, if any.

        Returns
        -------
        str or None
            ``scheduler``, else ``DASK_SCHEDULER_ADDRESS`` when ``executor`` is not given
            (read now, so a variable set after this object was made counts), else None.

        Raises
        ------
        ValueError
            ``DASK_SCHEDULER_ADDRESS`` holds a malformed address.
        """
        if self.scheduler is not None or self.executor is not None:
            return self.scheduler
        found = os.environ.get(SCHEDULER_ENV) or None
        return None if found is None else _check_address(found, f" (from {SCHEDULER_ENV})")

    def make_executor(self) -> Executor:
        """Make the executor these options ask for (not started: use it as a context manager).

        Returns
        -------
        Executor
            A :class:`DaskExecutor` for ``executor="dask"`` or a scheduler address (given or
            from ``DASK_SCHEDULER_ADDRESS``), else a :class:`LocalExecutor`.
        """
        scheduler = self.scheduler_address()
        if scheduler is not None:
            return DaskExecutor(scheduler=scheduler, workers=self.workers)
        if self.executor == "dask":
            return DaskExecutor(workers=self.workers)
        return LocalExecutor(self.workers)


def _whole(value: object) -> int | None:
    """``value`` as an int if it is an integer (NumPy's too), not a bool; else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_address(value: object, source: str = "") -> str:
    """Check a Dask scheduler address and strip it; ValueError naming ``scheduler`` otherwise."""
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        msg = f"scheduler: expected an address such as tcp://127.0.0.1:8786, got {value!r}{source}"
        raise ValueError(msg)
    return value.strip()
