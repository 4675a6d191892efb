"""Regret of choices across futures: the table, the minimax-regret and the best-expected choice.

Given each candidate's net benefit in each future (candidates x futures), the regret of a
candidate in a future is the best net benefit any candidate reaches in that future minus
its own (Savage's regret, the opportunity loss). The *minimax-regret* choice has the least
worst regret over the futures; the *best-expected* choice the greatest net benefit
averaged over the futures with their weights (equal by default).

EMA Workbench 2.5 has robustness functions only as outcomes of its robust optimisation
(``ScalarOutcome`` functions of one policy's results over the scenarios): a function of
one candidate cannot see the best of the others in each future, which regret needs. These
few lines of numpy are the whole arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["future_weights", "regret_summary", "regret_table"]


def _checked(net: pd.DataFrame) -> pd.DataFrame:
    if net.empty or net.shape[0] < 1 or net.shape[1] < 1:
        msg = "net: needs at least one candidate (row) and one future (column)"
        raise ValueError(msg)
    values = net.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        i, j = np.argwhere(~np.isfinite(values))[0]
        msg = f"net: no finite net benefit for candidate {net.index[i]!r} in future {net.columns[j]!r}"
        raise ValueError(msg)
    return net.astype(float)


def regret_table(net: pd.DataFrame) -> pd.DataFrame:
    """Return the regret of each candidate in each future.

    Parameters
    ----------
    net : pandas.DataFrame
        Net benefits, one row per candidate, one column per future (any one unit).

    Returns
    -------
    pandas.DataFrame
        Same shape: ``max(net[:, f]) - net[c, f]``, 0 for the best candidate of each future.

    Examples
    --------
    >>> net = pd.DataFrame({"calm": [10.0, 4.0], "storm": [-2.0, 3.0]}, index=["port", "rail"])
    >>> regret_table(net)
          calm  storm
    port   0.0    5.0
    rail   6.0    0.0
    """
    net = _checked(net)
    return net.max(axis=0) - net


def future_weights(futures: list[str], weights: Mapping[str, float] | None = None) -> pd.Series:
    """Return the futures' weights, summing to 1: equal unless ``weights`` gives them.

    Parameters
    ----------
    futures : list of str
        The futures' names.
    weights : mapping, optional
        A weight >= 0 for every future (normalised here); not all zero.

    Raises
    ------
    ValueError
        A weight for an unknown future, a future without one, a negative or non-finite
        weight, or all weights zero.
    """
    if weights is None:
        return pd.Series(1.0 / len(futures), index=futures, name="weight")
    unknown = [k for k in weights if k not in futures]
    if unknown:
        msg = f"weights: {unknown[0]!r} is not a future (futures: {', '.join(futures)})"
        raise ValueError(msg)
    missing = [f for f in futures if f not in weights]
    if missing:
        msg = f"weights: no weight for future {missing[0]!r} (give one for each future, or none)"
        raise ValueError(msg)
    w = pd.Series({f: float(weights[f]) for f in futures}, name="weight")
    if not np.isfinite(w).all() or (w < 0).any():
        bad = w[~np.isfinite(w) | (w < 0)].index[0]
        msg = f"weights: {bad!r} must be a finite number >= 0, got {weights[bad]!r}"
        raise ValueError(msg)
    if w.sum() <= 0:
        msg = "weights: at least one must be above 0"
        raise ValueError(msg)
    return w / w.sum()


def regret_summary(net: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Return, per candidate, its expected net benefit, worst regret and whether each rule picks it.

    Parameters
    ----------
    net : pandas.DataFrame
        Net benefits, candidates x futures.
    weights : mapping, optional
        The futures' weights for the expectation (default: equal).

    Returns
    -------
    pandas.DataFrame
        Indexed by candidate: ``expected_net``, ``worst_net``, ``max_regret``,
        ``worst_future`` (where its regret is greatest), ``minimax_regret`` and
        ``best_expected`` (bool: the rule's choice; ties go to the first candidate).

    Examples
    --------
    >>> net = pd.DataFrame({"calm": [10.0, 4.0], "storm": [-2.0, 3.0]}, index=["port", "rail"])
    >>> regret_summary(net)[["expected_net", "max_regret", "minimax_regret", "best_expected"]]
          expected_net  max_regret  minimax_regret  best_expected
    port           4.0         5.0            True           True
    rail           3.5         6.0           False          False
    """
    net = _checked(net)
    w = future_weights(list(net.columns), weights)
    regret = regret_table(net)
    out = pd.DataFrame(
        {
            "expected_net": net.to_numpy() @ w.to_numpy(),
            "worst_net": net.min(axis=1).to_numpy(),
            "max_regret": regret.max(axis=1).to_numpy(),
            "worst_future": regret.idxmax(axis=1).to_numpy(),
        },
        index=net.index,
    )
    out["minimax_regret"] = np.arange(len(out)) == int(np.argmin(out["max_regret"].to_numpy()))
    out["best_expected"] = np.arange(len(out)) == int(np.argmax(out["expected_net"].to_numpy()))
    return out
