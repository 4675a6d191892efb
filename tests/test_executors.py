"""Where runs execute: the options object ``corridors.experiments.executors.Execution``.

Checked once, when it is made (a bad value names the option and the reason); the executor
it asks for (local processes, an embedded Dask cluster or an existing scheduler, from the
argument or ``DASK_SCHEDULER_ADDRESS``); and the ``execution=`` argument of
``run_ensemble``, ``sweep`` and ``sensitivity``. No executor is started here: the runs
themselves, on every executor, are in test_ensemble.py.
"""

from __future__ import annotations

import dataclasses
import inspect
import os

import numpy as np
import pytest

import corridors
from corridors.experiments.executors import SCHEDULER_ENV, DaskExecutor, Execution, LocalExecutor

ADDRESS = "tcp://127.0.0.1:8786"
ENSEMBLES = {
    "run_ensemble": lambda **kw: corridors.run_ensemble("baseline", replicates=2, **kw),
    "sweep": lambda **kw: corridors.sweep("baseline", params={"cost_elasticity": (2, 6)}, samples=2, **kw),
    "sensitivity": lambda **kw: corridors.sensitivity("baseline", params={"cost_elasticity": (2, 6)}, **kw),
}


@pytest.fixture(autouse=True)
def _no_scheduler_in_the_environment(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)


# ----------------------------------------------------------------------- the options


def test_the_defaults_are_local_processes_on_every_core():
    ex = Execution().make_executor()
    assert isinstance(ex, LocalExecutor) and ex.workers == (os.cpu_count() or 1)
    assert ex.describe() == {"executor": "local", "workers": ex.workers}


def test_it_is_frozen_comparable_and_reusable():
    a = Execution(workers=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.workers = 3  # type: ignore[misc]
    assert a == Execution(workers=2) and hash(a) == hash(Execution(workers=2))
    assert a.make_executor() is not a.make_executor()  # a new executor each time


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"executor": "spark"}, "executor: must be 'local' or 'dask', got 'spark'"),
        ({"executor": "Local"}, "executor: must be 'local' or 'dask', got 'Local'"),
        ({"workers": 0}, "workers: must be an integer >= 1, got 0"),
        ({"workers": -2}, "workers: must be an integer >= 1, got -2"),
        ({"workers": 1.5}, "workers: must be an integer >= 1, got 1.5"),
        ({"workers": "2"}, "workers: must be an integer >= 1, got '2'"),
        ({"workers": True}, "workers: must be an integer >= 1, got True"),
        ({"executor": "local", "scheduler": ADDRESS}, "scheduler: a Dask scheduler address needs executor 'dask'"),
        ({"scheduler": "127.0.0.1:8786"}, "scheduler: expected an address such as tcp://127.0.0.1:8786, got"),
        ({"scheduler": "tcp://"}, "scheduler: expected an address such as tcp://"),
        ({"scheduler": 8786}, "scheduler: expected an address such as tcp://127.0.0.1:8786, got 8786"),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_naming_the_option_and_the_reason(kwargs, reason):
    with pytest.raises(ValueError, match="^" + reason.replace(".", r"\.").replace("(", r"\(")):
        Execution(**kwargs)


def test_values_are_normalised():
    assert Execution(workers=np.int64(3)).workers == 3 and type(Execution(workers=np.int64(3)).workers) is int
    assert Execution(scheduler=f"  {ADDRESS} ").scheduler == ADDRESS


# ----------------------------------------------------------------------- the executor it asks for


def test_the_executor_asked_for():
    local = Execution(workers=3).make_executor()
    assert isinstance(local, LocalExecutor) and local.workers == 3
    embedded = Execution(executor="dask", workers=2).make_executor()
    assert isinstance(embedded, DaskExecutor) and embedded.scheduler is None
    assert embedded.describe() == {"executor": "dask", "workers": 2}
    existing = Execution(scheduler=ADDRESS).make_executor()  # a scheduler implies Dask
    assert isinstance(existing, DaskExecutor) and existing.scheduler == ADDRESS
    assert existing.describe()["executor"] == "dask-scheduler"
    assert Execution(executor="dask", scheduler=ADDRESS).make_executor().scheduler == ADDRESS


def test_the_scheduler_of_the_environment_unless_an_executor_is_named(monkeypatch):
    other = "tcp://127.0.0.1:8787"
    monkeypatch.setenv(SCHEDULER_ENV, other)
    ex = Execution(workers=2).make_executor()  # read when the executor is made
    assert isinstance(ex, DaskExecutor) and ex.scheduler == other
    assert Execution().scheduler_address() == other
    assert Execution(scheduler=ADDRESS).scheduler_address() == ADDRESS  # the argument wins
    assert isinstance(Execution(executor="local").make_executor(), LocalExecutor)  # an explicit choice wins
    assert Execution(executor="dask").make_executor().scheduler is None  # an embedded cluster


def test_a_bad_scheduler_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, "localhost")
    with pytest.raises(
        ValueError, match=rf"^scheduler: expected an address .*'localhost' \(from {SCHEDULER_ENV}\)"
    ):
        Execution().make_executor()
    assert isinstance(Execution(executor="local").make_executor(), LocalExecutor)  # not read then


# ----------------------------------------------------------------------- the ensembles' argument


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
def test_the_ensembles_take_execution_and_no_loose_executor_options(name):
    parameters = inspect.signature(getattr(corridors, name)).parameters
    assert (
        parameters["execution"].default is None
        and parameters["execution"].kind is inspect.Parameter.KEYWORD_ONLY
    )
    assert "workers" in parameters  # the shorthand notebooks use: workers=N
    assert not {"executor", "scheduler"} & set(parameters)


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"execution": "dask"}, r"^execution: must be a corridors\.Execution, got 'dask'"),
        ({"execution": {"workers": 2}}, r"^execution: must be a corridors\.Execution"),
        ({"execution": Execution(workers=1), "workers": 2}, r"^workers: give it in execution=Execution\(workers=2"),
        ({"workers": 0}, r"^workers: must be an integer >= 1, got 0"),
    ],
)  # fmt: skip
def test_a_bad_execution_is_refused_before_anything_is_written(name, kwargs, reason, tmp_path, monkeypatch):
    def no_run(self):
        raise AssertionError("an executor was made for a refused call")

    monkeypatch.setattr(Execution, "make_executor", no_run)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=reason):
        ENSEMBLES[name](out=out, **kwargs)
    assert not out.exists()


@pytest.mark.parametrize("name", sorted(ENSEMBLES))
def test_a_bad_scheduler_in_the_environment_is_refused_before_anything_is_written(
    name, tmp_path, monkeypatch
):
    monkeypatch.setenv(SCHEDULER_ENV, "localhost")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=SCHEDULER_ENV):
        ENSEMBLES[name](out=out)
    assert not out.exists()


def test_starting_workers_leaves_this_process_environment_as_it_was(monkeypatch):
    """The workers get one thread per library; this process keeps its own environment (Dask's
    nannies write their pre-spawn environment into it): numba here re-reads NUMBA_NUM_THREADS at
    each compilation and refuses a count other than the one its threads were launched with."""
    from corridors.experiments.executors import SINGLE_THREAD_ENV, loopback_cluster

    for name in SINGLE_THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    cluster = loopback_cluster(1)
    try:
        assert all(os.environ.get(name) is None for name in SINGLE_THREAD_ENV if name != "OMP_NUM_THREADS")
        assert os.environ["OMP_NUM_THREADS"] == "3"
    finally:
        cluster.close()
    ex = LocalExecutor(workers=1)
    ex.start()
    try:
        assert os.environ.get("NUMBA_NUM_THREADS") is None and os.environ["OMP_NUM_THREADS"] == "3"
    finally:
        ex.close()
