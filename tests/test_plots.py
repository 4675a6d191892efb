"""Tests of the figures (the package :mod:`corridors.plots`); the observed history they draw
(:mod:`corridors.history`) is tested in tests/test_history.py.

Each plot function must return a :class:`matplotlib.figure.Figure` with the expected axes,
labelled axes, a legend and the fixed corridor colours, and must save to a PNG; the
calibration report's figures and the tuner's figure (redrawn in place) likewise. The
package's modules import one another one way, and no module outside it imports matplotlib.
"""

from __future__ import annotations

import ast
import inspect
import itertools
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

import corridors
from corridors import plots
from corridors.history import load_history, observed
from corridors.network import Network, load_network
from corridors.plots import CORRIDOR_COLOURS, FEEDER_COLOUR, maps
from corridors.results import OBSERVABLES, Results
from corridors.tuning import Tuner
from corridors.vocabulary import CORRIDORS

END = 2026
C5 = ("KZ", "KG", "TJ", "TM", "UZ")
CORRIDOR_HEX = {c: to_hex(v) for c, v in CORRIDOR_COLOURS.items()}
NAMES = {c.replace("_", "-"): c for c in CORRIDORS}  # legend label -> corridor


@pytest.fixture(scope="session")
def res() -> Results:
    return corridors.run(seed=1, end_year=END)


@pytest.fixture(scope="session")
def other() -> Results:
    return corridors.run(seed=2, end_year=END)


@pytest.fixture(scope="session")
def short() -> Results:
    """A shorter, deterministic run: compare_plot must align runs of different lengths."""
    return corridors.run(seed=1, end_year=2024, stochastic=False)


@pytest.fixture(scope="session")
def net() -> Network:
    return load_network()


@pytest.fixture(scope="session")
def figures(res: Results, net: Network) -> dict[str, Figure]:
    return plots.run_plots(res, net)


# ============================================================================ helpers


def _visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.axison]


def _legends(fig: Figure) -> list:
    out = list(fig.legends)
    for sub in fig.subfigs:
        out += list(sub.legends)
    out += [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return out


def _legend_labels(fig: Figure) -> set[str]:
    return {t.get_text() for leg in _legends(fig) for t in leg.get_texts()}


def _title(ax) -> str:
    return ax.get_title() or ax.get_title("left")


def _assert_labelled(fig: Figure) -> None:
    """Every axis in a grid's bottom row has an x label, every axis in its first column a y label."""
    for ax in _visible_axes(fig):
        spec = ax.get_subplotspec()
        where = _title(ax) or repr(ax)
        if spec.is_last_row():
            assert ax.get_xlabel().strip(), f"{where}: no x label"
        if spec.is_first_col():
            assert ax.get_ylabel().strip(), f"{where}: no y label"
        assert _title(ax).strip() or ax.get_xlabel().strip(), f"{where}: neither title nor x label"


def _assert_corridor_lines(ax) -> list[str]:
    """Lines labelled with a corridor are drawn in that corridor's colour; returns the corridors."""
    seen = []
    for line in ax.get_lines():
        corridor = NAMES.get(line.get_label())
        if corridor is not None:
            assert to_hex(line.get_color()) == CORRIDOR_HEX[corridor], (
                f"{corridor} drawn in {line.get_color()}"
            )
            seen.append(corridor)
    return seen


def _annual(res: Results) -> pd.DataFrame:
    return res.annual_volumes().pivot(index="year", columns="corridor", values="volume_t") / 1e6


# ============================================================================ every figure


@pytest.mark.parametrize(
    ("name", "n_axes"),
    [("volumes.png", 3), ("country_shares.png", 5), ("dependence.png", 2), ("bottlenecks.png", 7),
     ("flow_map.png", 2)],
)  # fmt: skip
def test_run_plot_structure(figures: dict[str, Figure], name: str, n_axes: int):
    fig = figures[name]
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n_axes
    _assert_labelled(fig)
    assert _legends(fig), f"{name}: no legend"
    assert fig.get_suptitle().strip()


@pytest.mark.parametrize(
    "name", ["volumes.png", "country_shares.png", "dependence.png", "bottlenecks.png", "flow_map.png"]
)
def test_run_plot_fixed_layout_keeps_every_text_inside_and_apart(figures: dict[str, Figure], name: str):
    """No layout engine (it lays a figure out again at every save); the fixed margins still hold
    every axes with its titles, labels and tick labels, and every legend, inside the figure,
    and no two of them overlap."""
    fig = figures[name]
    assert fig.get_layout_engine() is None, f"{name}: a fixed layout, not {fig.get_layout_engine()}"
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    page = fig.bbox
    boxes = {f"axes {i} ({ax.get_title(loc='left') or ax.get_title()})": ax.get_tightbbox(renderer)
             for i, ax in enumerate(fig.axes)}  # fmt: skip
    boxes |= {f"legend {i}": leg.get_window_extent(renderer) for i, leg in enumerate(fig.legends)}
    boxes |= {f"text {t.get_text()!r}": t.get_window_extent(renderer) for t in fig.texts if t.get_text()}
    for what, box in boxes.items():
        inside = (
            page.x0 - 0.5 <= box.x0
            and box.x1 <= page.x1 + 0.5
            and page.y0 - 0.5 <= box.y0
            and box.y1 <= page.y1 + 0.5
        )
        assert inside, f"{name}: {what} reaches outside the figure ({box} in {page})"
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), f"{name}: {a} overlaps {b}"


def test_run_plots_names_the_five_files(figures: dict[str, Figure]):
    assert set(figures) == {
        "volumes.png",
        "country_shares.png",
        "dependence.png",
        "bottlenecks.png",
        "flow_map.png",
    }


def test_each_figure_saves_as_a_png(figures: dict[str, Figure], res: Results, other: Results, tmp_path: Path):
    everything = {**figures, "compare.png": plots.compare_plot([res, other], ["seed 1", "seed 2"])}
    for name, fig in everything.items():
        path = tmp_path / name
        fig.savefig(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 20_000, f"{name}: only {path.stat().st_size} bytes"


def test_plots_make_no_pyplot_figures(res: Results, net: Network):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.run_plots(res, net)
    assert plt.get_fignums() == before


# ============================================================================ volumes


def test_volumes_plot_lines_and_legend(res: Results):
    fig = plots.volumes_plot(res)
    main = fig.axes[0]
    seen = _assert_corridor_lines(main)
    vol = _annual(res)
    carrying = [c for c in CORRIDORS if (vol.get(c, pd.Series([0.0])) > 0).any()]
    assert seen == carrying, "one line per corridor that carries freight, in CORRIDORS order"
    legend = {t.get_text() for t in main.get_legend().get_texts()}
    for closed in set(CORRIDORS) - set(carrying):
        assert closed.replace("_", "-") not in legend, f"{closed} carries nothing but is in the legend"
    for line in main.get_lines():
        c = NAMES.get(line.get_label())
        if c:
            np.testing.assert_allclose(line.get_ydata(), vol[c].to_numpy())
    assert "Mt/yr" in main.get_ylabel()


def test_volumes_plot_draws_the_history(res: Results):
    hist = load_history()
    fig = plots.volumes_plot(res, hist)
    for ax, name, div, corridor in ((fig.axes[1], "middle_corridor_t", 1e6, "middle"),
                                    (fig.axes[2], "northern_transit_teu", 1e3, "russian")):  # fmt: skip
        obs = [ln for ln in ax.get_lines() if ln.get_label().startswith("observed")]
        assert len(obs) == 1
        assert to_hex(obs[0].get_color()) == "#000000"
        expected = observed(hist, name)
        np.testing.assert_array_equal(obs[0].get_xdata(), expected.index.to_numpy())
        np.testing.assert_allclose(obs[0].get_ydata(), expected.to_numpy() / div)
        source = hist.loc[hist["series"] == name, "source"].iloc[0]
        assert source in obs[0].get_label(), "the legend names the source"
        model = [ln for ln in ax.get_lines() if ln.get_label().startswith("model")]
        assert to_hex(model[0].get_color()) == CORRIDOR_HEX[corridor]
        np.testing.assert_allclose(model[0].get_ydata(), res.observable(name).to_numpy() / div)
    assert "kTEU" in fig.axes[2].get_ylabel() and "Mt" in fig.axes[1].get_ylabel()


def test_volumes_plot_without_observations(res: Results):
    empty = load_history().iloc[0:0]
    fig = plots.volumes_plot(res, empty)
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label().startswith("observed")]


# ============================================================================ countries


def test_country_shares_plot(res: Results):
    fig = plots.country_shares_plot(res)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [f"{plots.COUNTRY_NAMES[c]} ({c})" for c in C5]
    assert all(ax.get_ylim() == (0.0, 1.0) for ax in axes), "shares on a shared 0-1 axis"
    colours = {to_hex(pc.get_facecolor()[0]) for ax in axes for pc in ax.collections}
    assert colours <= set(CORRIDOR_HEX.values())
    assert _legend_labels(fig) <= set(NAMES)
    # the stack tops at 1 in every year: the shares of a country add up
    for ax in axes:
        top = max(ax.collections, key=lambda pc: pc.get_paths()[0].vertices[:, 1].max())
        assert top.get_paths()[0].vertices[:, 1].max() == pytest.approx(1.0)


def test_dependence_plot_matches_the_summary(res: Results):
    fig = plots.dependence_plot(res)
    ax_ru, ax_hhi = fig.axes
    for ax, key in ((ax_ru, "russian_dependence_last_year"), (ax_hhi, "herfindahl_last_year")):
        lines = {ln.get_label()[-3:-1]: ln for ln in ax.get_lines() if ln.get_label().endswith(")")}
        assert set(lines) == set(C5)
        for code, line in lines.items():
            assert line.get_ydata()[-1] == pytest.approx(res.summary[key][code], abs=1e-12)
            assert line.get_xdata()[-1] == END
            assert to_hex(line.get_color()) not in CORRIDOR_HEX.values(), "a colour means a corridor"
        assert ax.get_ylim()[1] <= 1.05


# ============================================================================ bottlenecks


def test_bottleneck_plot_picks_the_top_links(res: Results, net: Network):
    fig = plots.bottleneck_plot(res, net)
    e = res.edges
    hard = net.edges.index[net.edges["capacity_hard"] & net.edges["capacity_t_per_quarter"].notna()]
    peak = (
        e[e["edge"].isin(hard)]
        .groupby("edge")["load_ratio"]
        .max()
        .sort_values(ascending=False, kind="stable")
    )
    expected = [f"{net.edges.loc[i, 'tail']} > {net.edges.loc[i, 'head']}" for i in peak.index[:6]]
    link_axes, backlog_ax = fig.axes[:6], fig.axes[6]
    assert [_title(ax).split("\n")[0].split(": ")[0] for ax in link_axes] == expected
    services = {
        i: plots.series.link_service(net.edges.loc[i]) for i in peak.index[:6]
    }  # what each link is: rail ferry, container feeder, crude tanker, rail, road
    for ax, edge in zip(link_axes, peak.index[:6], strict=True):
        assert _title(ax).split("\n")[0].endswith(": " + services[edge]), _title(ax)
    for ax, edge in zip(link_axes, peak.index[:6], strict=True):
        corridor = net.edges.loc[edge, "corridor"]
        colour = CORRIDOR_HEX.get(corridor, to_hex(FEEDER_COLOUR))
        load = next(ln for ln in ax.get_lines() if ln.get_label().startswith("load ratio"))
        assert to_hex(load.get_color()) == colour
        np.testing.assert_allclose(load.get_ydata(), e.loc[e["edge"] == edge, "load_ratio"].to_numpy())
    assert "kt" in backlog_ax.get_ylabel()
    backlog = _assert_corridor_lines(backlog_ax)
    assert backlog, "some corridor has a backlog in a run through 2026"
    for c in backlog:
        line = next(ln for ln in backlog_ax.get_lines() if ln.get_label() == c.replace("_", "-"))
        k = res.corridors[res.corridors["corridor"] == c]
        np.testing.assert_allclose(line.get_ydata(), k["backlog_t"].to_numpy() / 1e3)


# ============================================================================ flow map


def _map_lines(ax) -> list[tuple[float, str]]:
    """(width, colour) of every link drawn on a map: the maps draw links as LineCollections."""
    out = []
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            widths = np.broadcast_to(coll.get_linewidths(), (len(coll.get_segments()),))
            colours = np.broadcast_to(coll.get_colors(), (len(coll.get_segments()), 4))
            out += [(float(w), to_hex(c)) for w, c in zip(widths, colours, strict=True)]
    return out


def test_flow_map_widths_follow_the_flows(res: Results, net: Network):
    fig = plots.flow_map(res, net)
    assert str(END) in fig.get_suptitle(), "default year: the last"
    world = fig.axes[0]
    lines = _map_lines(world)
    assert max(w for w, _ in lines) == pytest.approx(14.0), "the busiest link gets the widest line"
    colours = {c for w, c in lines if w > 1.0}
    assert colours <= set(CORRIDOR_HEX.values()) | {to_hex(FEEDER_COLOUR)}
    assert any(t.endswith("Mt/yr") for t in _legend_labels(fig)), "a width legend in Mt/yr"
    assert {"longitude (°E)"} == {ax.get_xlabel() for ax in fig.axes}


def _label_boxes(fig: Figure, ax) -> dict[str, object]:
    renderer = fig.canvas.get_renderer()
    return {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}


@pytest.mark.parametrize("which", ["flow", "network"])
def test_map_labels_name_capitals_and_gateways_without_overlap(res: Results, net: Network, tmp_path, which):
    fig = plots.flow_map(res, net) if which == "flow" else plots.network_map(net)
    fig.savefig(tmp_path / "map.png", dpi=120)  # drawn as written: boxes measured after the draw
    zoom = fig.axes[1]
    boxes = _label_boxes(fig, zoom)
    assert {"tashkent", "astana", "bishkek", "aktau", "baku alat", "dostyk"} <= set(boxes)
    assert "navoi" not in boxes and "samara" not in boxes, "rail hubs are not named"
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), f"labels {a!r} and {b!r} overlap"
    frame = zoom.get_window_extent(fig.canvas.get_renderer())
    for name, box in boxes.items():
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, name


def test_place_labels_leaves_out_what_does_not_fit():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(3, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    same = [(5.0, 5.0, f"a long label {i}", {"fontsize": 9}) for i in range(12)]
    placed = maps.place_labels(ax, same)
    assert 1 <= len(placed) < 12, "labels on one point: some fit around it, the rest are left out"
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in placed]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_sea_lanes_do_not_cross_land(net: Network):
    """Every sea and ferry link is drawn through water on the base map (the Suez Canal excepted).

    Points within 1.5 degrees of a port are not checked: ports sit on a 1:110m coastline.
    """
    rings = [MplPath(r) for r in maps._basemap_polygons()[0]]
    crossing = []
    seen = set()
    for edge in net.edges.itertuples():
        if edge.mode not in ("sea", "ferry") or maps._link_key(edge) in seen:
            continue
        seen.add(maps._link_key(edge))
        xy = maps._lane(net, edge)
        pts = np.vstack(
            [np.linspace(a, b, max(2, int(np.hypot(*(b - a)) / 0.1))) for a, b in itertools.pairwise(xy)]
        )
        far = (np.hypot(*(pts - xy[0]).T) > 1.5) & (np.hypot(*(pts - xy[-1]).T) > 1.5)
        canal = (pts[:, 0] > 32.2) & (pts[:, 0] < 32.7) & (pts[:, 1] > 29.7) & (pts[:, 1] < 31.4)
        pts = pts[far & ~canal]
        if any(r.contains_points(pts).any() for r in rings):
            crossing.append(f"{edge.tail}>{edge.head} ({edge.mode})")
    assert crossing == []
    shanghai = next(
        e for e in net.edges.itertuples() if (e.tail, e.head, e.via) == ("shanghai", "rotterdam", "suez")
    )
    assert len(maps._lane(net, shanghai)) > 20, "the long lanes follow their water points"


def test_link_service_names_the_parallel_caspian_links(net: Network):
    e = net.edges
    caspian = e[(e["tail"] == "aktau") & (e["head"] == "baku_alat")]
    services = {plots.series.link_service(row) for _, row in caspian.iterrows()}
    assert {"rail ferry", "container feeder", "crude tanker"} <= services, services


def test_flow_map_has_a_legend_of_node_kinds(res: Results, net: Network):
    labels = _legend_labels(plots.flow_map(res, net))
    assert {"city", "rail hub", "border crossing", "seaport", "dry port", "market"} <= labels


def test_flow_map_other_year_and_bad_year(res: Results, net: Network):
    assert "2022" in plots.flow_map(res, net, year=2022).get_suptitle()
    with pytest.raises(ValueError, match="2040"):
        plots.flow_map(res, net, year=2040)


# ============================================================================ compare


@pytest.mark.parametrize("n_runs", [2, 3])
def test_compare_plot(res: Results, other: Results, short: Results, n_runs: int):
    runs = [res, other, short][:n_runs]
    labels = ["seed 1", "seed 2", "deterministic to 2024"][:n_runs]
    fig = plots.compare_plot(runs, labels)
    assert len(fig.axes) == 2 * n_runs, "a top row, a legend cell and n-1 differences"
    top = fig.axes[:n_runs]
    assert [ax.get_title() for ax in top] == labels
    assert len({ax.get_ylim() for ax in top}) == 1, "the top row shares its y axis"
    for ax in top:
        _assert_corridor_lines(ax)
    diffs = [ax for ax in fig.axes[n_runs:] if ax.axison]
    assert len(diffs) == n_runs - 1
    assert len({ax.get_ylim() for ax in diffs}) == 1
    base = _annual(res)
    for ax, run in zip(diffs, runs[1:], strict=True):
        assert "Mt/yr" in diffs[0].get_ylabel()
        d = _annual(run)
        for line in ax.get_lines():
            c = NAMES.get(line.get_label())
            if c is None:
                continue
            years = line.get_xdata()
            np.testing.assert_allclose(
                line.get_ydata(), d.loc[years, c].to_numpy() - base.loc[years, c].to_numpy()
            )
    _assert_labelled(fig)
    assert _legend_labels(fig) <= set(NAMES) | {"corridor"}


def test_compare_plot_rejects_bad_arguments(res: Results):
    with pytest.raises(ValueError, match="labels"):
        plots.compare_plot([res, res], ["one"])
    with pytest.raises(ValueError, match="no runs"):
        plots.compare_plot([], [])


def test_compare_plot_of_one_run_has_no_difference_row(res: Results):
    fig = plots.compare_plot([res], ["only"])
    assert len(fig.axes) == 1
    assert fig.axes[0].get_legend() is not None


# ============================================================================ layering


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, under `if TYPE_CHECKING`) for every import in a source file."""
    tree = ast.parse(path.read_text())
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in guarded) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, id(node) in guarded))
    return out


# The package's modules from the bottom up: each imports only modules of earlier layers.
PLOT_LAYERS = (
    ("style",),
    ("frames",),
    ("maps", "series", "comparison", "calibration", "sensitivity", "discovery", "sweeps", "robust", "tuner"),
    ("posterior", "criticality"),
    ("standard",),
    ("__init__",),
)
# What the figures may read of the rest of the package (results only to name its types).
PLOT_DEPENDENCIES = {"corridors.network", "corridors.history", "corridors.results", "corridors.vocabulary"}


def test_plot_layers_name_every_module():
    src = Path(inspect.getfile(plots)).parent
    assert src.name == "plots" and (src / "__init__.py").exists()
    assert {p.stem for p in src.glob("*.py")} == {m for layer in PLOT_LAYERS for m in layer}


def test_plots_and_results_do_not_import_each_other():
    src = Path(inspect.getfile(plots)).parent
    for path in src.glob("*.py"):
        for module, guarded in _imports(path):
            where = f"{path.name}: {module}"
            assert module != "corridors.results" or guarded, f"{where}: plots imports results at run time"
            assert "pyplot" not in module, f"{where}: plots uses pyplot"
            top = module.split(".")[0]
            assert top in {"matplotlib", "numpy", "pandas", "corridors", "__future__", "collections", "functools",
                           "typing", "json", "math", "re", "io", "textwrap"}, where  # fmt: skip
            if top == "corridors":
                assert module in PLOT_DEPENDENCIES or module.startswith("corridors.plots."), where
    for path in (src.parent / "results").glob("*.py"):
        assert not [m for m, _ in _imports(path) if m.startswith("corridors.plots")], path
    assert not [
        m for m, _ in _imports(src.parent / "history.py") if m in ("corridors.results", "corridors.plots")
    ]


def test_imports_inside_plots_flow_one_way():
    src = Path(inspect.getfile(plots)).parent
    layer = {m: i for i, names in enumerate(PLOT_LAYERS) for m in names}
    for path in src.glob("*.py"):
        for module, _ in _imports(path):
            if module.startswith("corridors.plots."):
                inner = module.removeprefix("corridors.plots.")
                assert layer[inner] < layer[path.stem], f"{path.name} imports {inner}: not from below"


def test_no_matplotlib_outside_plots():
    """Every figure is drawn in corridors.plots: other modules may only name its types."""
    src = Path(inspect.getfile(plots)).parent.parent
    for path in src.rglob("*.py"):
        if "plots" in path.relative_to(src).parts:
            continue
        runtime = [m for m, guarded in _imports(path) if m.split(".")[0] == "matplotlib" and not guarded]
        assert not runtime, f"{path.relative_to(src)} imports {runtime}"


# ============================================================================ calibration report

YEARS = list(range(2019, 2024))


def _fake_fit(scale: float = 1.0, n_free: int = 4) -> SimpleNamespace:
    """What the calibration figures read of a FitResult: modelled series, loss, free, profiles, values."""
    hist = load_history()
    modelled = {
        name: observed(hist, name).reindex(YEARS).ffill().bfill() * scale for name in plots.SERIES_LABELS
    }
    free = [SimpleNamespace(name=f"p{i}", lower=0.0, upper=2.0) for i in range(n_free)]
    grid = np.linspace(0.0, 2.0, 5)
    profiles = {
        "p0": pd.DataFrame({"value": grid, "loss": 1.0 + (grid - 1.0) ** 2}),  # spans < 20x: linear
        "p1": pd.DataFrame({"value": grid, "loss": 0.1 + 100 * (grid - 1.0) ** 2}),  # spans > 20x: log
    }
    return SimpleNamespace(modelled=modelled, loss=1.25, free=free, profiles=profiles,
                           values={p.name: 1.0 for p in free})  # fmt: skip


def test_series_figure_draws_observed_modelled_and_the_prediction():
    hist = load_history()
    fit = _fake_fit()
    cv = SimpleNamespace(
        fit=_fake_fit(scale=1.1), holdout=2022, fit_label="2019-2021", predicted_label="2022-2023"
    )
    fig = plots.series_figure(fit, hist, cv)
    n = len(plots.SERIES_LABELS)
    assert len(fig.axes) == n + 1 and not fig.axes[-1].axison, "one panel per series and a legend cell"
    assert set(plots.SERIES_LABELS) == set(OBSERVABLES), "every observable has a panel"
    labels = {t.get_text() for t in fig.axes[-1].get_legend().get_texts()}
    assert labels == {"modelled (fit 2019-2023)", "observed", "fit 2019-2021", "2022-2023 predicted"}
    assert "1.25" in fig.get_suptitle()
    for ax, (name, (title, unit, scale)) in zip(fig.axes, plots.SERIES_LABELS.items(), strict=False):
        assert ax.get_title() == title and ax.get_ylabel() == unit
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        np.testing.assert_allclose(lines["observed"].get_ydata(), observed(hist, name).to_numpy() * scale)
        predicted = [cv.fit.modelled[name][y] * scale for y in (2022, 2023)]
        np.testing.assert_allclose(lines["2022-2023 predicted"].get_ydata(), predicted)
    assert len(plots.series_figure(fit, hist).axes[0].get_lines()) == 2, "no cross-validation, no prediction"
    assert plots.png_bytes(fig).startswith(b"\x89PNG")


def test_profile_figure_one_panel_per_free_parameter():
    fit = _fake_fit(n_free=4)
    fig = plots.profile_figure(fit)
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == ["p0", "p1", "p2", "p3"]
    assert len(fig.axes) == 6, "three panels to a row"
    assert [ax.get_yscale() for ax in visible[:2]] == ["linear", "log"], "log where the loss spans > 20x"
    assert all(ax.get_xlim() == (0.0, 2.0) for ax in visible), "each panel spans the bounds"
    assert len(plots.profile_figure(_fake_fit(n_free=1)).axes) == 1
    assert plots.png_bytes(fig).startswith(b"\x89PNG")


# ============================================================================ sensitivity


def test_morris_plot_ranks_the_parameters():
    indices = pd.DataFrame({
        "outcome": ["a", "a", "a", "b", "b", "b"],
        "parameter": ["x", "y", "z"] * 2,
        "mu_star": [3.0, 1.0, 2.0, 0.5, 0.2, 0.0],
        "mu_star_conf": [0.3, 0.1, 0.2, 0.05, 0.02, 0.0],
        "sigma": [1.0, 2.0, 0.5, 0.1, 0.3, 0.0],
    })  # fmt: skip
    fig = plots.morris_plot(indices, ["a", "b"], title="screening")
    assert len(fig.axes) == 4 and fig.get_suptitle() == "screening"
    bars = fig.axes[0]
    assert bars.get_title() == "a"
    assert [t.get_text() for t in bars.get_yticklabels()] == ["y", "z", "x"], "ranked by mu*, largest on top"
    np.testing.assert_allclose([p.get_width() for p in bars.patches], [1.0, 2.0, 3.0])
    assert [ax.get_xlabel() for ax in fig.axes[2:]] == ["mu*", "mu*"]  # the scatters, under the bars
    assert all(ax.get_ylabel() == "sigma" for ax in fig.axes[2:])
    assert plots.png_bytes(fig).startswith(b"\x89PNG")


# ============================================================================ tuner


def test_update_keeps_earlier_changes_and_redraws_the_same_figure() -> None:
    own = Tuner("baseline", end_year=2026)
    figure = own.figure
    line = next(ln for ln in figure.axes[0].get_lines() if ln.get_label() == "russian")
    before = np.asarray(line.get_ydata(), dtype=float).copy()
    artists = [len(ax.get_children()) for ax in figure.axes]
    first = own.update(russia_premium_usd_per_t=200.0)
    second = own.update(sea_rate_factor=1.5)
    assert first.figure is figure and second.figure is figure
    assert [len(ax.get_children()) for ax in figure.axes] == artists, "lines replaced, none added"
    assert own.changes() == {"russia_premium_usd_per_t": 200.0, "sea_rate_factor": 1.5}
    assert 0 < second.seconds < 30
    after = np.asarray(line.get_ydata(), dtype=float)
    expected = _annual(second.results)["russian"].to_numpy()
    np.testing.assert_allclose(after, expected)
    assert after[-1] < before[-1]
    assert "Russia premium (USD/t) 200" in figure.get_suptitle()
    assert "Sea rate (x the scenario's) 1.5" in figure.get_suptitle()


def test_update_without_drawing_runs_and_leaves_the_figure() -> None:
    own = Tuner("baseline", end_year=2022)
    line = next(ln for ln in own.figure.axes[0].get_lines() if ln.get_label() == "russian")
    before = np.asarray(line.get_ydata(), dtype=float).copy()
    title = own.figure.get_suptitle()
    out = own.update(draw=False, russia_premium_usd_per_t=200.0)
    assert own.changes() == {"russia_premium_usd_per_t": 200.0}
    assert out.results is own.results
    np.testing.assert_array_equal(np.asarray(line.get_ydata(), dtype=float), before)
    assert own.figure.get_suptitle() == title == "baseline to 2022, deterministic: every lever at its default"
    assert not np.allclose(_annual(out.results)["russian"].to_numpy(), before)


def test_tuner_figure_draws_the_reference_dashed_and_shares_in_percent(res: Results):
    fig = plots.TunerFigure(res, "a run").figure
    ax_vol, ax_share = fig.axes
    vol = _annual(res)
    for c in _assert_corridor_lines(ax_vol):
        solid = next(ln for ln in ax_vol.get_lines() if ln.get_label() == c.replace("_", "-"))
        np.testing.assert_allclose(solid.get_ydata(), vol[c].to_numpy())
    dashed = [ln for ln in ax_vol.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == len(_assert_corridor_lines(ax_vol)), "one reference line per corridor"
    shares = np.sum([ln.get_ydata() for ln in ax_share.get_lines() if ln.get_linestyle() == "-"], axis=0)
    np.testing.assert_allclose(shares, 100.0)
    assert fig.get_suptitle() == "a run, deterministic: every lever at its default"
    assert fig.get_layout_engine() is None, "a fixed layout: constrained layout is slower than the run"


def test_flow_map_colours_a_shared_link_by_the_corridor_carrying_most(res: Results, net: Network):
    """A feeder link shared by corridors takes the colour of the one with most freight on it that year."""
    from corridors.plots.maps import _carriers, _link_key

    year = int(res.link_corridors["year"].max())
    rows = res.link_corridors[res.link_corridors["year"] == year]
    feeder = net.edges[net.edges["gateway"] < 0]
    shared = rows[rows["edge"].isin(feeder.index)].groupby("edge")["corridor"].nunique()
    edge = int(shared[shared > 1].index[0])
    carriers = _carriers(res, net, year)
    link = _link_key(next(e for e in net.edges.itertuples() if e.Index == edge))
    both = [e.Index for e in net.edges.itertuples() if _link_key(e) == link]
    by = rows[rows["edge"].isin(both)].groupby("corridor")["flow_t"].sum()
    assert carriers[link] == by.idxmax()
    # a run saved before the table existed keeps the gateway colours
    old = Results(res.corridors, res.countries, res.edges, res.policy, res.decisions, res.pipelines, res.meta)
    old.link_corridors = None
    assert _carriers(old, net, year) is None
    assert plots.flow_map(old, net, year=year) is not None
