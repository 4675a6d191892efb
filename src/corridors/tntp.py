"""Readers for the TNTP traffic-assignment benchmark format (Transportation Networks for Research).

Used to validate :mod:`corridors.routing` against published networks such as Sioux Falls.
Node ids in TNTP files are 1-based; the arrays returned here are 0-based.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["TntpNetwork", "read_flows", "read_network", "read_trips"]


@dataclass(frozen=True)
class TntpNetwork:
    """Links of a TNTP network, 0-based node ids, in file order."""

    n_nodes: int
    first_thru_node: int
    tail: np.ndarray
    head: np.ndarray
    capacity: np.ndarray
    length: np.ndarray
    free_flow_time: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray


def _metadata(lines: list[str], path: Path) -> tuple[dict[str, str], list[str]]:
    meta: dict[str, str] = {}
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("<END OF METADATA>"):
            return meta, lines[i + 1 :]
        if s.startswith("<"):
            key, _, value = s[1:].partition(">")
            meta[key.strip()] = value.strip()
    raise ValueError(f"{path}: no <END OF METADATA> line")


def read_network(path: str | Path) -> TntpNetwork:
    """Read a ``*_net.tntp`` file."""
    path = Path(path)
    meta, body = _metadata(path.read_text().splitlines(), path)
    rows = []
    for line in body:
        s = line.strip()
        if not s or s.startswith("~"):
            continue
        fields = s.rstrip(";").split()
        rows.append([float(v) for v in fields[:7]])
    a = np.array(rows)
    return TntpNetwork(
        n_nodes=int(meta["NUMBER OF NODES"]),
        first_thru_node=int(meta.get("FIRST THRU NODE", "1")) - 1,
        tail=a[:, 0].astype(np.int64) - 1,
        head=a[:, 1].astype(np.int64) - 1,
        capacity=a[:, 2],
        length=a[:, 3],
        free_flow_time=a[:, 4],
        alpha=a[:, 5],
        beta=a[:, 6],
    )


def read_trips(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a ``*_trips.tntp`` file: (origins, destinations, demand), positive demand only."""
    path = Path(path)
    _, body = _metadata(path.read_text().splitlines(), path)
    origins, dests, demand = [], [], []
    origin = -1
    for line in body:
        s = line.strip()
        if not s:
            continue
        if s.startswith("Origin"):
            origin = int(s.split()[1]) - 1
            continue
        for entry in s.split(";"):
            if ":" not in entry:
                continue
            d, q = entry.split(":")
            value = float(q)
            if value > 0:
                origins.append(origin)
                dests.append(int(d) - 1)
                demand.append(value)
    return np.array(origins, dtype=np.int64), np.array(dests, dtype=np.int64), np.array(demand)


def read_flows(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a ``*_flow.tntp`` solution: (tail, head, volume) with 0-based nodes."""
    rows = []
    for line in Path(path).read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3:
            rows.append((int(fields[0]) - 1, int(fields[1]) - 1, float(fields[2])))
    a = np.array(rows, dtype=object)
    return a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2].astype(float)
