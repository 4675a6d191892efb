"""Speed of :mod:`corridors.routing` against peers measured in the same run.

Three comparisons, each a median over ``--repeats`` samples after a warm-up, printed as
``peer / ours`` (above 1: ours is faster):

1. ``shortest_paths`` from 10 sources with ~10% of the edges masked, on seeded random
   directed networks of 50, 200 and 1000 nodes, against ``scipy.sparse.csgraph.dijkstra``
   (its timed part includes building the ``csr_matrix`` from the current weights with the
   masked edges dropped) and networkx ``single_source_dijkstra`` per source.
2. ``shortest_paths_batch`` with 1000 weight vectors at 200 nodes against a loop of scipy
   (building the matrix each time) over the same vectors.
3. User equilibrium on Sioux Falls to a relative gap of 1e-4 against AequilibraE 1.7 running
   the same algorithm, one thread each; both solutions' gaps are recomputed with the same
   function (``bpr_time`` + ``assign`` + ``relative_gap``).

A fourth section, ``threads``, times the public functions on one and on two Numba threads
and with the thread count :mod:`corridors.routing` chooses by problem size, over sizes from
20 to 2000 nodes and 1 to 500 jobs, first on the machine as it is (run it idle), then with
the other core kept busy by a child process that spins for the duration. The measurements
behind ``routing._PARALLEL_WORK`` come from this table.

Run ``python benchmarks/bench_routing.py`` (``make bench``); ``--quick`` for a shorter run,
``--section compare`` or ``--section threads`` for one part, ``--no-busy`` to skip the busy
half of ``threads``, ``--wait-idle SECONDS`` to wait for a quiet machine before each row of
``threads``, ``--busy`` to run the comparisons with one core kept busy. The exit status is 0
even when a target is missed: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numba
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from benchlib import columns, exit_on_sigterm, positive_int, print_load, version  # next to this script
from corridors import routing, tntp

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SEED = 20240611
SIZES = (50, 200, 1000)
TARGET_NODES = 200  # the size the shortest-path targets apply to
N_SOURCES = 10
OUT_DEGREE = 4
MASKED_SHARE = 0.10
BATCH = 1000
UE_GAP = 1e-4
UE_MAX_ITER = 10_000  # both sides
UE_METHODS = (("frank-wolfe", "fw"), ("cfw", "cfw"), ("bfw", "bfw"))  # ours <-> AequilibraE
AEQ_MIN_FREE_FLOW_TIME = 1e-6  # AequilibraE rejects zero free-flow times; for it only

THREAD_NODES = (20, 50, 200, 500, 2000)  # the threads section's shortest_paths grid
THREAD_JOBS = (1, 3, 10, 30, 100, 500)  # sources per call
QUICK_THREAD_NODES = (20, 200, 2000)
QUICK_THREAD_JOBS = (1, 10, 100, 500)
BUSY_SECONDS = 900  # the busy child exits by itself after this, or when its parent is gone
IDLE_CORES = 0.2  # --wait-idle: a row is measured again if other processes used more cores

Sampler = Callable[[int], float]  # loops -> seconds per call


# ----------------------------------------------------------------------------- timing


def timed(fn: Callable[[], object]) -> Sampler:
    """A sampler running ``fn`` ``loops`` times back to back."""

    def sample(loops: int) -> float:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        return (time.perf_counter() - start) / loops

    return sample


def compare(
    ours: Sampler, peer: Sampler, repeats: int, min_sample: float, *, warmed: bool = False
) -> tuple[float, float]:
    """Median seconds per call of ``ours`` and ``peer``.

    Each side is warmed with one call (unless ``warmed``), then run often enough per sample
    to last about ``min_sample`` seconds; the samples of the two sides alternate so that any
    drift of the machine affects both. The garbage collector is off while a sample runs.
    """
    loops = []
    for sampler in (ours, peer):
        if not warmed:
            sampler(1)
        one = sampler(1)
        loops.append(max(1, min(100_000, math.ceil(min_sample / max(one, 1e-9)))))
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for side, sampler in enumerate((ours, peer)):
            gc.collect()
            gc.disable()
            try:
                samples[side].append(sampler(loops[side]))
            finally:
                gc.enable()
    return float(np.median(samples[0])), float(np.median(samples[1]))


@dataclass(frozen=True)
class Row:
    case: str
    peer: str
    ours_s: float
    peer_s: float | None
    target: float | None  # peer/ours must reach this; None: reported only

    @property
    def ratio(self) -> float | None:
        return None if self.peer_s is None else self.peer_s / self.ours_s

    @property
    def status(self) -> str:
        if self.peer_s is None:
            return "SKIP"
        if self.target is None:
            return "-"
        return "PASS" if self.ratio >= self.target else "MISS"


def results_table(rows: list[Row]) -> list[str]:
    head = ("case", "ours (ms)", "peer", "peer (ms)", "peer/ours", "target", "result")
    cells = [
        (
            r.case,
            f"{r.ours_s * 1e3:.3f}",
            r.peer,
            "n/a" if r.peer_s is None else f"{r.peer_s * 1e3:.3f}",
            "n/a" if r.ratio is None else f"{r.ratio:.2f}x",
            "-" if r.target is None else f">= {r.target:g}x",
            r.status,
        )
        for r in rows
    ]
    return columns([head, *cells], left={0, 2})


# ------------------------------------------------------------------ random networks


@dataclass(frozen=True)
class Network:
    """A random directed network, its CSR form and a shortest-path query on it."""

    n: int
    tail: np.ndarray  # original edge order
    head: np.ndarray
    weights: np.ndarray
    mask: np.ndarray  # True: usable
    sources: np.ndarray
    indptr: np.ndarray  # CSR (ours)
    indices: np.ndarray
    perm: np.ndarray
    w_slots: np.ndarray  # weights and mask aligned with CSR slots
    mask_slots: np.ndarray
    kept_indptr: np.ndarray  # CSR of the unmasked edges only (scipy)
    kept_indices: np.ndarray


def random_network(n: int, rng: np.random.Generator) -> Network:
    """``OUT_DEGREE`` distinct out-edges per node, no self-loops or parallel edges.

    One out-edge per node follows a random Hamiltonian cycle, so the network is strongly
    connected before masking; about ``MASKED_SHARE`` of the edges are then masked.
    """
    order = rng.permutation(n)
    successor = np.empty(n, dtype=np.int64)
    successor[order] = np.roll(order, -1)
    tails, heads = [], []
    for u in range(n):
        extra = [v for v in rng.choice(n, OUT_DEGREE + 1, replace=False) if v not in (u, successor[u])]
        for v in (successor[u], *extra[: OUT_DEGREE - 1]):
            tails.append(u)
            heads.append(int(v))
    tail = np.array(tails, dtype=np.int64)
    head = np.array(heads, dtype=np.int64)
    n_e = tail.size
    weights = rng.uniform(1.0, 10.0, n_e)
    mask = np.ones(n_e, dtype=bool)
    mask[rng.choice(n_e, round(MASKED_SHARE * n_e), replace=False)] = False
    sources = rng.choice(n, N_SOURCES, replace=False).astype(np.int64)
    indptr, indices, perm = routing.csr_from_edges(tail, head, n)
    mask_slots = mask[perm]
    kept_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail[perm][mask_slots], minlength=n), out=kept_indptr[1:])
    return Network(
        n, tail, head, weights, mask, sources, indptr, indices, perm,
        weights[perm], mask_slots, kept_indptr, indices[mask_slots],
    )  # fmt: skip


def ours_paths(net: Network, w_slots: np.ndarray):
    return routing.shortest_paths(net.indptr, net.indices, w_slots, net.sources, edge_mask=net.mask_slots)


def scipy_paths(net: Network, w_slots: np.ndarray):
    """What the model would do with scipy when costs change: rebuild the matrix, then solve."""
    graph = csr_matrix((w_slots[net.mask_slots], net.kept_indices, net.kept_indptr), shape=(net.n, net.n))
    return dijkstra(graph, directed=True, indices=net.sources, return_predecessors=True)


def networkx_graph(net: Network) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(net.n))
    keep = net.mask
    graph.add_weighted_edges_from(
        zip(net.tail[keep].tolist(), net.head[keep].tolist(), net.weights[keep].tolist(), strict=True)
    )
    return graph


def networkx_paths(graph: nx.DiGraph, sources: list[int]):
    return [nx.single_source_dijkstra(graph, s, weight="weight") for s in sources]


def networkx_dist(result, n: int) -> np.ndarray:
    dist = np.full((len(result), n), np.inf)
    for row, (lengths, _paths) in zip(dist, result, strict=True):
        row[list(lengths)] = list(lengths.values())
    return dist


def bench_shortest_paths(rng, repeats: int, min_sample: float) -> tuple[list[Row], Network]:
    rows = []
    target_net = None
    for n in SIZES:
        net = random_network(n, rng)
        graph = networkx_graph(net)
        sources = net.sources.tolist()
        ours = ours_paths(net, net.w_slots)[0]
        np.testing.assert_allclose(scipy_paths(net, net.w_slots)[0], ours, rtol=1e-12, atol=0)
        np.testing.assert_allclose(networkx_dist(networkx_paths(graph, sources), n), ours, rtol=1e-12, atol=0)
        on_target = n == TARGET_NODES
        label = f"shortest_paths n={n} ({net.tail.size} edges)"
        t_ours, t_scipy = compare(
            timed(lambda net=net: ours_paths(net, net.w_slots)),
            timed(lambda net=net: scipy_paths(net, net.w_slots)),
            repeats,
            min_sample,
        )
        rows.append(Row(label, "scipy", t_ours, t_scipy, 2.0 if on_target else None))
        t_ours, t_nx = compare(
            timed(lambda net=net: ours_paths(net, net.w_slots)),
            timed(lambda graph=graph, sources=sources: networkx_paths(graph, sources)),
            repeats,
            min_sample,
        )
        rows.append(Row(label, "networkx", t_ours, t_nx, 20.0 if on_target else None))
        if on_target:
            target_net = net
    return rows, target_net


def bench_batch(net: Network, rng, repeats: int, min_sample: float) -> Row:
    batch = rng.uniform(1.0, 10.0, (BATCH, net.indices.size))  # aligned with CSR slots

    def ours():
        return routing.shortest_paths_batch(
            net.indptr, net.indices, batch, net.sources, edge_mask=net.mask_slots
        )

    def peer():
        return [scipy_paths(net, batch[b]) for b in range(BATCH)]

    dist = ours()[0]
    for b in (0, BATCH // 2, BATCH - 1):
        np.testing.assert_allclose(scipy_paths(net, batch[b])[0], dist[b], rtol=1e-12, atol=0)
    t_ours, t_peer = compare(timed(ours), timed(peer), repeats, min_sample)
    return Row(f"shortest_paths_batch n={net.n} B={BATCH}", "scipy loop", t_ours, t_peer, 10.0)


# ------------------------------------------------------------------ user equilibrium


@dataclass(frozen=True)
class SiouxFalls:
    net: tntp.TntpNetwork
    origins: np.ndarray
    destinations: np.ndarray
    demand: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    perm: np.ndarray

    def gap(self, flow: np.ndarray) -> float:
        """Relative gap of edge flows (original order): the one function used for both sides."""
        net = self.net
        times = routing.bpr_time(net.free_flow_time, flow, net.capacity, net.alpha, net.beta)
        loaded = routing.assign(
            self.indptr, self.indices, times[self.perm], self.origins, self.destinations, self.demand
        )
        return routing.relative_gap(flow, times, self.demand, loaded.cost[0])


def load_sioux_falls() -> SiouxFalls:
    net = tntp.read_network(DATA / "SiouxFalls_net.tntp")
    origins, destinations, demand = tntp.read_trips(DATA / "SiouxFalls_trips.tntp")
    indptr, indices, perm = routing.csr_from_edges(net.tail, net.head, net.n_nodes)
    return SiouxFalls(net, origins, destinations, demand, indptr, indices, perm)


def ours_equilibrium(sf: SiouxFalls, method: str) -> routing.Equilibrium:
    net = sf.net
    return routing.user_equilibrium(
        net.tail, net.head, net.n_nodes, net.free_flow_time, net.capacity, net.alpha, net.beta,
        sf.origins, sf.destinations, sf.demand, method=method, gap=UE_GAP, max_iter=UE_MAX_ITER,
    )  # fmt: skip


def import_aequilibrae():
    """The AequilibraE classes used here, or the reason they cannot be imported."""
    os.environ["AEQ_SHOW_PROGRESS"] = "FALSE"  # before the first import
    try:
        from aequilibrae.matrix import AequilibraeMatrix
        from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass
    except (ImportError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return (Graph, TrafficAssignment, TrafficClass, AequilibraeMatrix), None


def aequilibrae_assignment(aeq, sf: SiouxFalls, algorithm: str):
    """A ready-to-execute AequilibraE assignment built from the same arrays as ours."""
    import pandas as pd  # an AequilibraE dependency

    Graph, TrafficAssignment, TrafficClass, AequilibraeMatrix = aeq
    net = sf.net
    n, n_e = net.n_nodes, net.tail.size
    links = pd.DataFrame(
        {
            "link_id": np.arange(1, n_e + 1, dtype=np.int64),
            "a_node": net.tail + 1,
            "b_node": net.head + 1,
            "direction": np.ones(n_e, dtype=np.int8),
            "free_flow_time": np.maximum(net.free_flow_time, AEQ_MIN_FREE_FLOW_TIME),
            "capacity": net.capacity,
            "alpha": net.alpha,
            "beta": net.beta,
        }
    )
    zones = np.arange(1, n + 1, dtype=np.int64)
    graph = Graph()
    graph.network = links
    graph.prepare_graph(zones)  # every node is a zone
    graph.set_graph("free_flow_time")
    graph.set_blocked_centroid_flows(False)  # else no path may pass through any node
    matrix = AequilibraeMatrix()
    matrix.create_empty(zones=n, matrix_names=["demand"], memory_only=True)
    matrix.index[:] = zones
    matrix.matrices[:, :, 0] = 0.0
    np.add.at(matrix.matrices[:, :, 0], (sf.origins, sf.destinations), sf.demand)
    matrix.computational_view(["demand"])
    assignment = TrafficAssignment()
    assignment.set_classes([TrafficClass("car", graph, matrix)])
    assignment.set_vdf("BPR")
    assignment.set_vdf_parameters({"alpha": "alpha", "beta": "beta"})
    assignment.set_capacity_field("capacity")
    assignment.set_time_field("free_flow_time")
    assignment.set_cores(1)
    assignment.max_iter = UE_MAX_ITER
    assignment.rgap_target = float(UE_GAP)
    assignment.set_algorithm(algorithm)  # last, as AequilibraE requires
    return assignment


def execute_quietly(assignment) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # AequilibraE's own 0/0 in its line search
        assignment.execute()


def aequilibrae_flows(assignment, n_edges: int) -> np.ndarray:
    res = assignment.results()
    return res["PCE_AB"].reindex(np.arange(1, n_edges + 1)).to_numpy(dtype=np.float64)


def bench_equilibrium(repeats: int, min_sample: float) -> tuple[list[Row], list[str]]:
    """Rows for the table, and detail lines: iterations and gaps of both sides."""
    sf = load_sioux_falls()
    aeq, why = import_aequilibrae()
    if aeq is None:
        print(
            f"UE comparison skipped: aequilibrae is not importable ({why}). "
            'Install the peer with: pip install -e ".[bench]". Ours is still timed.'
        )
    rows = []
    details = [("method", "solver", "iterations", "gap", "own stopping gap", "note")]
    flow_diffs = []
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        for method, algorithm in UE_METHODS:
            label = f"equilibrium Sioux Falls {method} gap {UE_GAP:g}"
            result = ours_equilibrium(sf, method)  # also the warm-up
            ours = timed(lambda method=method: ours_equilibrium(sf, method))
            details.append(
                (
                    method,
                    "ours",
                    str(result.iterations),
                    f"{sf.gap(result.flow):.3e}",
                    f"{result.gap:.3e}",
                    "",
                )
            )
            if aeq is None:
                t_ours = float(np.median([ours(1) for _ in range(repeats)]))
                rows.append(Row(label, "AequilibraE", t_ours, None, 1.0))
                continue
            check = aequilibrae_assignment(aeq, sf, algorithm)  # also the warm-up
            execute_quietly(check)
            flow = aequilibrae_flows(check, sf.net.tail.size)
            peer_gap = sf.gap(flow)
            flag = (
                f"<- above {UE_GAP:g} by our gap function: the ratio favours AequilibraE"
                if peer_gap > UE_GAP
                else ""
            )
            details.append(
                (
                    method,
                    f"AequilibraE {algorithm}",
                    str(check.assignment.iter),
                    f"{peer_gap:.3e}",
                    f"{check.assignment.convergence_report['rgap'][-1]:.3e}",
                    flag,
                )
            )
            diff = np.abs(flow - result.flow) / np.maximum(np.abs(result.flow), 1.0)
            flow_diffs.append(f"{method} {diff.max():.1e}")

            def peer(loops: int, algorithm=algorithm) -> float:
                total = 0.0
                for _ in range(loops):
                    assignment = aequilibrae_assignment(aeq, sf, algorithm)  # set-up: not timed
                    start = time.perf_counter()
                    execute_quietly(assignment)
                    total += time.perf_counter() - start
                return total / loops

            t_ours, t_peer = compare(ours, peer, repeats, min_sample, warmed=True)
            rows.append(Row(label, f"AequilibraE {algorithm}", t_ours, t_peer, 1.0))
    finally:
        numba.set_num_threads(previous_threads)
    lines = columns(details, left={0, 1, 5}, indent="  ")
    if flow_diffs:
        lines.append(
            "  largest relative difference of edge flows, ours vs AequilibraE: " + ", ".join(flow_diffs)
        )
    if aeq is None:
        lines.append(
            f'  UE comparison skipped: aequilibrae is not importable ({why}); pip install -e ".[bench]"'
        )
    return rows, lines


# ------------------------------------------------------------------- thread count


@dataclass(frozen=True)
class ThreadCase:
    """One public call, with routing's own estimate of its work and its parallel tasks."""

    case: str
    n: int
    jobs: str  # what the call splits into, e.g. "30" or "4x10"
    work: int
    tasks: int
    call: Callable[[], object]


def thread_cases(rng: np.random.Generator, quick: bool) -> list[ThreadCase]:
    """A grid of ``shortest_paths`` calls, then a few calls of each other public entry point."""
    nodes = QUICK_THREAD_NODES if quick else THREAD_NODES
    jobs = QUICK_THREAD_JOBS if quick else THREAD_JOBS
    nets = {n: random_network(n, rng) for n in sorted({*nodes, 200, 2000})}
    cases = []
    for n in nodes:
        net = nets[n]
        m = net.indices.size
        for s in jobs:
            sources = rng.integers(0, n, s)

            def call(net=net, sources=sources):
                return routing.shortest_paths(
                    net.indptr, net.indices, net.w_slots, sources, edge_mask=net.mask_slots
                )

            cases.append(ThreadCase("shortest_paths", n, str(s), routing._dijkstra_work(s, n, m), s, call))
    for n in (200, 2000):
        net = nets[n]
        m = net.indices.size
        for b in (3,) if quick else (3, 30):
            batch = rng.uniform(1.0, 10.0, (b, m))

            def call(net=net, batch=batch):
                return routing.shortest_paths_batch(
                    net.indptr, net.indices, batch, net.sources, edge_mask=net.mask_slots
                )

            jobs_b = b * N_SOURCES
            label = f"{b}x{N_SOURCES}"
            work = routing._dijkstra_work(jobs_b, n, m)
            cases.append(ThreadCase("shortest_paths_batch", n, label, work, jobs_b, call))
            rows = np.sort(rng.integers(0, b, jobs_b))
            srcs = rng.integers(0, n, jobs_b)
            masks = np.ascontiguousarray(np.broadcast_to(net.mask_slots, (b, m)))

            def call(net=net, batch=batch, rows=rows, srcs=srcs, masks=masks):
                return routing.shortest_path_trees(
                    net.indptr, net.indices, batch, rows, srcs, edge_mask=masks
                )

            cases.append(ThreadCase("shortest_path_trees", n, str(jobs_b), work, jobs_b, call))
        k = 4
        for n_org in (3,) if quick else (3, 30):
            n_od = 20 * n_org
            graph = routing.Graph(net.indptr, net.indices)
            origins = np.repeat(rng.choice(n, n_org, replace=False), 20)
            dest = rng.integers(0, n, n_od)
            demand = rng.uniform(0.0, 5.0, (k, n_od))
            w = rng.uniform(1.0, 10.0, (k, m))
            masks = np.ascontiguousarray(np.broadcast_to(net.mask_slots, (k, m)))
            label = f"{k}x{n_org}"

            def call(graph=graph, w=w, origins=origins, dest=dest, demand=demand, masks=masks):
                return graph.assign(w, origins, dest, demand, edge_mask=masks, time=w[0], distance=w[1])

            work = graph._assign_work(k, n_org, n_od, 2)
            cases.append(ThreadCase("assign", n, label, work, k * n_org, call))
            paths = call().paths
            values = rng.uniform(0.0, 1.0, (2, m))
            pairs = f"{k}x{n_od}"

            def call(paths=paths, values=values):
                return paths.sums(values)

            work = routing._walk_work(k, n_od, 2, n)
            cases.append(ThreadCase("PathSet.sums", n, pairs, work, k * n_od, call))

            def call(paths=paths, demand=demand):
                return paths.load(demand)

            work = routing._walk_work(k, n_od, 0, n)
            cases.append(ThreadCase("PathSet.load", n, pairs, work, k, call))
    return cases


@contextlib.contextmanager
def threads_chosen(choose: Callable[[int, int], int]) -> Iterator[None]:
    """Replace routing's choice of the thread count inside the block."""
    original = routing._threads_for
    routing._threads_for = choose
    try:
        yield
    finally:
        routing._threads_for = original


def threads_sampler(fn: Callable[[], object], threads: int | None) -> Callable[[float], float]:
    """Seconds per call of ``fn`` on ``threads`` Numba threads, or on routing's choice (None),
    calling it for at least the given seconds (at least once). Bounded by time rather than by a
    number of calls, since one call on two threads may stall for milliseconds."""

    def sample(duration: float) -> float:
        with threads_chosen(lambda work, tasks=2: threads) if threads else contextlib.nullcontext():
            calls = 0
            start = time.perf_counter()
            while True:
                fn()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= duration:
                    return elapsed / calls

    return sample


def compare_many(samplers: list[Callable[[float], float]], repeats: int, min_sample: float) -> list[float]:
    """Median seconds per call of each sampler after one warm-up call; samples alternate, in
    reversed order every other round, with the garbage collector off while one runs."""
    for sampler in samplers:
        sampler(0.0)
    samples: list[list[float]] = [[] for _ in samplers]
    for r in range(repeats):
        order = range(len(samplers)) if r % 2 == 0 else reversed(range(len(samplers)))
        for i in order:
            gc.collect()
            gc.disable()
            try:
                samples[i].append(samplers[i](min_sample))
            finally:
                gc.enable()
    return [float(np.median(s)) for s in samples]


class CpuMeter:
    """CPU time that processes other than this one (and its busy child) took, from /proc/stat."""

    def __init__(self, child: subprocess.Popen | None = None):
        self.child = child
        self.start = self._read()

    def _read(self) -> tuple[float, float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:]]
            child = 0.0
            if self.child is not None:
                with open(f"/proc/{self.child.pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                child = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None
        busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
        own = os.times()
        return time.perf_counter(), busy, own.user + own.system, child

    def others(self) -> float | None:
        """Cores that other processes kept busy on average since this meter started."""
        end = self._read()
        if self.start is None or end is None:
            return None
        wall, busy, own, child = (e - s for e, s in zip(end, self.start, strict=True))
        return max(0.0, (busy - own - child) / wall)


@contextlib.contextmanager
def busy_core() -> Iterator[subprocess.Popen]:
    """A child process spinning on one core for the duration of the block; always stopped."""
    code = (
        "import os, time\n"
        f"parent, end = os.getppid(), time.monotonic() + {BUSY_SECONDS}\n"
        "while os.getppid() == parent and time.monotonic() < end:\n"
        "    for _ in range(100_000):\n"
        "        pass\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)  # let it start spinning
        if child.poll() is not None:
            raise RuntimeError(f"the busy-loop process exited at once (status {child.returncode})")
        yield child
    finally:
        child.kill()
        child.wait()


ThreadRow = tuple[float, float, float, int, float | None]  # 1T, 2T, auto (s), auto's count, others


def measure_row(c: ThreadCase, repeats: int, min_sample: float, child: subprocess.Popen | None) -> ThreadRow:
    """Seconds per call on 1 and 2 threads and on routing's choice, the count it chose, and the
    cores other processes used meanwhile."""
    meter = CpuMeter(child)
    chosen = []
    original = routing._threads_for

    def record(work, tasks=2):
        chosen.append(original(work, tasks))
        return chosen[-1]

    with threads_chosen(record):
        c.call()
    t1, t2, auto = compare_many(
        [threads_sampler(c.call, 1), threads_sampler(c.call, 2), threads_sampler(c.call, None)],
        repeats,
        min_sample,
    )
    return t1, t2, auto, chosen[0] if chosen else 0, meter.others()


def wait_for_quiet(child: subprocess.Popen | None, deadline: float) -> None:
    """Wait, until ``deadline`` at most, for a second in which other processes used fewer than
    ``IDLE_CORES`` cores."""
    while time.monotonic() < deadline:
        meter = CpuMeter(child)
        time.sleep(1.0)
        others = meter.others()
        if others is None or others < IDLE_CORES:
            return


# the threads table, printed a row at a time: (header, width, left-aligned)
THREAD_COLUMNS = (
    ("case", 20, True), ("nodes", 5, False), ("jobs", 5, True), ("work", 9, False),
    ("1T us", 9, False), ("2T us", 9, False), ("2T/1T", 6, False), ("auto us (T)", 13, False),
    ("others", 6, False),
)  # fmt: skip


def _line(cells: list[str]) -> str:
    return "  ".join(
        c.ljust(w) if left else c.rjust(w) for c, (_, w, left) in zip(cells, THREAD_COLUMNS, strict=True)
    ).rstrip()


def thread_row_cells(c: ThreadCase, row: ThreadRow) -> list[str]:
    t1, t2, auto, chosen, others = row
    return [
        c.case, str(c.n), c.jobs, f"{c.work:,}", _us(t1), _us(t2), f"{t2 / t1:.2f}",
        f"{_us(auto)} ({chosen})", _load(others),
    ]  # fmt: skip


def measure_threads(
    cases: list[ThreadCase], repeats: int, min_sample: float, child: subprocess.Popen | None, wait_idle: float
) -> float | None:
    """Print :func:`measure_row` of each case as a table row as soon as it is measured;
    return the cores other processes used over all of them.

    With ``wait_idle`` seconds, each row waits up to that long for other processes to leave
    the cores alone and is measured again while they used more than ``IDLE_CORES``; the
    attempt with the least such use is kept.
    """
    meter = CpuMeter(child)
    print(_line([name for name, _, _ in THREAD_COLUMNS]))
    print(_line(["-" * w for _, w, _ in THREAD_COLUMNS]))
    for c in cases:
        deadline = time.monotonic() + wait_idle
        best = None
        while True:
            if wait_idle:
                wait_for_quiet(child, deadline)
            row = measure_row(c, repeats, min_sample, child)
            if best is None or (row[4] or 0.0) < (best[4] or 0.0):
                best = row
            if row[4] is None or row[4] <= IDLE_CORES or time.monotonic() >= deadline:
                break
        print(_line(thread_row_cells(c, best)), flush=True)
    return meter.others()


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f}"


def bench_threads(repeats: int, min_sample: float, quick: bool, busy: bool, wait_idle: float) -> None:
    """Print the threads section: a table per phase (idle, busy), then what its columns mean."""
    if numba.config.NUMBA_NUM_THREADS < 2 or numba.get_num_threads() < 2:
        print("threads section skipped: fewer than 2 Numba threads (NUMBA_NUM_THREADS)")
        return
    cases = thread_cases(np.random.default_rng(SEED + 1), quick)
    print("\nidle: the machine as it is")
    others = measure_threads(cases, repeats, min_sample, None, wait_idle)
    print(f"other processes kept {_cores(others)} busy on average")
    if busy:
        print("\nbusy: a child process spins on one core")
        with busy_core() as child:
            others = measure_threads(cases, repeats, min_sample, child, wait_idle)
        print(f"other processes kept {_cores(others)} busy on average besides it")
    print()
    print("1T, 2T: on 1 and 2 Numba threads; auto: on the count routing chose (T)")
    print("others: cores that other processes kept busy on average while a row was measured")
    print(
        f"work: routing's estimate in inner-loop steps; routing._PARALLEL_WORK = "
        f"{routing._PARALLEL_WORK:,}: auto runs on 1 thread below it"
    )


def _load(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _cores(value: float | None) -> str:
    return "n/a (no /proc/stat)" if value is None else f"{value:.2f} cores"


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=None,
        help="samples per measurement (default 5; 3 with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and shorter samples (a rough reading)"
    )
    parser.add_argument(
        "--section",
        choices=("all", "compare", "threads"),
        default="all",
        help="compare: ours against the peers; threads: 1 against 2 Numba threads (default: both)",
    )
    parser.add_argument(
        "--no-busy", action="store_true", help="threads section: skip the run with the other core busy"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="threads section on a shared machine: before each row wait up to this long for other "
        f"processes to use fewer than {IDLE_CORES} cores, and measure it again while they used more",
    )
    parser.add_argument(
        "--busy",
        action="store_true",
        help="compare section: keep one core busy with a spinning child process meanwhile",
    )
    args = parser.parse_args(argv)
    exit_on_sigterm()  # SIGTERM runs the finally blocks: the busy child is stopped
    repeats = args.repeats or (3 if args.quick else 5)
    min_sample = 0.005 if args.quick else 0.02
    started = time.perf_counter()

    routing.warmup()  # compile or load every kernel from Numba's cache
    # Every sample starts with gc.collect(), which scans all the objects the imports left
    # (numba's, about 0.15 s a time here: 80 s of a quick run); frozen, they are skipped.
    gc.collect()
    gc.freeze()
    threads = numba.get_num_threads()
    print(f"corridors.routing benchmark: median of {repeats} samples; ratio = peer / ours (> 1: ours faster)")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__} "
        f"({threads} threads, {numba.threading_layer()}), scipy {version('scipy')}, "
        f"networkx {nx.__version__}, aequilibrae {version('aequilibrae')}; {os.cpu_count()} CPUs"
    )
    print_load("at start")  # and a warning when other processes are running (ours on threads suffers most)
    missed: list[Row] = []
    checked = 0
    if args.section in ("all", "compare"):
        print()
        with busy_core() if args.busy else contextlib.nullcontext():
            rows, notes = compare_section(repeats, min_sample, threads, args.busy)
        print("\n".join(results_table(rows)))
        print()
        print(
            "equilibrium: relative gap of the returned flows by corridors.routing.relative_gap, "
            "each side's own"
        )
        print("stopping gap, and iterations as each side counts them")
        for line in notes:
            print(line)
        print()
        missed = [r for r in rows if r.status == "MISS"]
        for r in missed:
            print(
                f"MISS: {r.case} vs {r.peer}: {r.ratio:.2f}x, target {r.target:g}x "
                f"(short by a factor {r.target / r.ratio:.2f})"
            )
        checked = sum(r.status in ("PASS", "MISS") for r in rows)
        print(f"{checked - len(missed)} of {checked} targets met")
    if args.section in ("all", "threads"):
        print()
        print(
            "threads: the public functions on 1 and 2 Numba threads (1T, 2T) and on the count routing "
            "chooses (auto), microseconds per call"
        )
        bench_threads(repeats, min_sample, args.quick, not args.no_busy, args.wait_idle)
    elapsed = time.perf_counter() - started
    print()
    print_load("at the end")
    print(f"finished in {elapsed:.0f} s")
    return 0


def compare_section(repeats: int, min_sample: float, threads: int, busy: bool) -> tuple[list[Row], list[str]]:
    """Ours against scipy, networkx and AequilibraE: the table's rows and the equilibrium notes."""
    print(
        f"shortest paths: {N_SOURCES} sources, {OUT_DEGREE} out-edges per node, "
        f"{MASKED_SHARE:.0%} of edges masked, seed {SEED}; ours on up to {threads} Numba thread(s) "
        "as routing chooses by size, scipy and networkx single-threaded; scipy's time includes "
        "building its csr_matrix"
    )
    print("equilibrium: one thread each (numba.set_num_threads(1), AequilibraE set_cores(1))")
    if busy:
        print("--busy: a child process keeps one core busy throughout this section")
    print()
    rng = np.random.default_rng(SEED)
    rows, net = bench_shortest_paths(rng, repeats, min_sample)
    rows.append(bench_batch(net, rng, repeats, min_sample))
    ue_rows, notes = bench_equilibrium(repeats, min_sample)
    return rows + ue_rows, notes


if __name__ == "__main__":
    sys.exit(main())
