"""The look every figure shares: colours, markers, line styles, axes helpers, the PNG writer.

The bottom of :mod:`corridors.plots`: it imports nothing of the package. One fixed,
colour-blind-safe colour per corridor everywhere; countries are told apart by marker and
dash in neutral tones, so that a colour always means a corridor.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.lines import Line2D

from corridors.vocabulary import BASE_YEAR, LAST_OBSERVED_YEAR

__all__ = [
    "C5_ISO3",
    "CORRIDOR_COLOURS",
    "COUNTRY_NAMES",
    "COUNTRY_STYLES",
    "FEEDER_COLOUR",
    "FIGURE_FORMATS",
    "HISTORY_SHADE",
    "NODE_MARKERS",
    "PIPELINE_COLOUR",
    "corridor_handles",
    "corridor_label",
    "figure_bytes",
    "inch_grid",
    "png_bytes",
    "run_title",
    "shade_observed",
    "svg_text_bytes",
    "y_grid",
    "year_axis",
]

# Okabe and Ito (2008), "Color Universal Design": distinguishable with any colour vision.
CORRIDOR_COLOURS: dict[str, str] = {
    "russian": "#D55E00",  # vermillion
    "chinese": "#CC79A7",  # reddish purple
    "middle": "#0072B2",  # blue
    "sea": "#56B4E9",  # sky blue
    "iranian": "#E69F00",  # orange
    "trans_afghan": "#009E73",  # bluish green
}
FEEDER_COLOUR = "#7F7F7F"
PIPELINE_COLOUR = "#000000"
NODE_MARKERS: dict[str, tuple[str, float]] = {
    "city": ("o", 22),
    "rail_hub": ("D", 18),
    "border_crossing": ("^", 26),
    "seaport": ("s", 24),
    "dry_port": ("p", 30),
    "market": ("*", 140),
}
C5_ISO3 = ("KAZ", "KGZ", "TJK", "TKM", "UZB")  # the five on the base map (its ISO 3166 alpha-3 codes)

COUNTRY_NAMES = {
    "KZ": "Kazakhstan",
    "KG": "Kyrgyzstan",
    "TJ": "Tajikistan",
    "TM": "Turkmenistan",
    "UZ": "Uzbekistan",
}
# Countries are not corridors: they are drawn in neutral tones and told apart by marker and dash,
# so that a colour always means a corridor.
COUNTRY_STYLES: dict[str, dict] = {
    "KZ": {"color": "#000000", "marker": "o", "ls": "-"},
    "KG": {"color": "#6E6E6E", "marker": "s", "ls": "--"},
    "TJ": {"color": "#000000", "marker": "^", "ls": ":"},
    "TM": {"color": "#6E6E6E", "marker": "D", "ls": "-."},
    "UZ": {"color": "#A8A8A8", "marker": "v", "ls": "-"},
}
HISTORY_SHADE = "#E4E4E4"
FIGURE_FORMATS = ("png", "pdf", "svg")
"""The file formats a figure is written in (the file's suffix, lower case, without the dot)."""


def figure_bytes(fig: Figure, fmt: str = "png", *, dpi: int = 120) -> bytes:
    """Render a figure as PNG, PDF or SVG, in memory (callers write it atomically).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    fmt : {"png", "pdf", "svg"}
        The format (:data:`FIGURE_FORMATS`).
    dpi : int
        Dots per inch (of the PNG; of the images inside a PDF or SVG).

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    ValueError
        If ``fmt`` is not one of :data:`FIGURE_FORMATS`.
    """
    if fmt not in FIGURE_FORMATS:
        msg = f"format: must be one of {', '.join(FIGURE_FORMATS)}, got {fmt!r}"
        raise ValueError(msg)
    buf = io.BytesIO()
    # no creation date in the metadata: the same figure gives the same PDF or SVG bytes
    metadata = {"png": None, "pdf": {"CreationDate": None}, "svg": {"Date": None}}[fmt]
    # PNG at zlib level 1, not Pillow's 6: encoding took about a fifth of saving a run's five
    # PNGs, for files about a tenth smaller; the pixels are the same
    extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata, **extra)
    return buf.getvalue()


def png_bytes(fig: Figure, *, dpi: int = 120) -> bytes:
    """Render a figure as PNG, in memory (callers write it atomically).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    dpi : int
        Dots per inch.

    Returns
    -------
    bytes
        The PNG file's content.
    """
    return figure_bytes(fig, "png", dpi=dpi)


def svg_text_bytes(fig: Figure) -> bytes:
    """Render a figure as SVG whose text stays text (``svg.fonttype = none``), to embed in a page.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.

    Returns
    -------
    bytes
        The SVG file's content.
    """
    with mpl.rc_context({"svg.fonttype": "none"}):
        return figure_bytes(fig, "svg")


def inch_grid(
    fig: Figure,
    nrows: int,
    ncols: int,
    *,
    left: float,
    right: float,
    top: float,
    bottom: float,
    wgap: float = 0.0,
    hgap: float = 0.0,
    **kwargs: Any,
) -> GridSpec:
    """Return a grid of axes at fixed places, its margins and gaps given in inches.

    A fixed layout instead of ``layout="constrained"``: the layout engine measures every
    text of a figure and lays it out again at each save, which took longer than drawing the
    run's figures themselves. Margins in inches keep room for titles, tick labels and
    legends whatever the figure's size.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to add the grid to.
    nrows, ncols : int
        Rows and columns of the grid.
    left, right, top, bottom : float
        Margins between the grid and the figure's edges, in inches.
    wgap, hgap : float
        Space between columns and between rows, in inches.
    **kwargs
        Passed to :meth:`~matplotlib.figure.Figure.add_gridspec` (``width_ratios``, ...).

    Returns
    -------
    matplotlib.gridspec.GridSpec
        The grid; ``fig.add_subplot(grid[i, j])`` places an axes in it.
    """
    width, height = fig.get_size_inches()
    cell_w = (width - left - right - wgap * (ncols - 1)) / ncols
    cell_h = (height - top - bottom - hgap * (nrows - 1)) / nrows
    return fig.add_gridspec(
        nrows,
        ncols,
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        wspace=wgap / cell_w,
        hspace=hgap / cell_h,
        **kwargs,
    )


def corridor_label(corridor: str) -> str:
    """Name a corridor as a legend or title does.

    Parameters
    ----------
    corridor : str
        A corridor of :data:`corridors.vocabulary.CORRIDORS` (``"trans_afghan"``).

    Returns
    -------
    str
        The name with dashes for underscores (``"trans-afghan"``).
    """
    return corridor.replace("_", "-")


def run_title(res: Any) -> str:
    """Name a run as a figure does: its scenario (or name) and seed.

    Parameters
    ----------
    res : Results
        A run; only its ``meta`` mapping is read (duck-typed).

    Returns
    -------
    str
        ``"<scenario>, seed <n>"``, or the name alone without a seed (``"run"`` without either).
    """
    meta: Mapping = getattr(res, "meta", {}) or {}
    name = next((v for v in (meta.get("scenario"), meta.get("name")) if isinstance(v, str) and v), "run")
    seed = meta.get("seed")
    return f"{name}, seed {seed}" if seed is not None else str(name)


def corridor_handles(corridors: Sequence[str], lw: float = 2.2) -> list[Line2D]:
    """Legend entries for corridors: a line in each one's colour.

    Parameters
    ----------
    corridors : sequence of str
        The corridors, in the legend's order.
    lw : float
        Line width of the entries.

    Returns
    -------
    list of Line2D
        One handle per corridor, labelled by :func:`corridor_label`.
    """
    return [Line2D([], [], color=CORRIDOR_COLOURS[c], lw=lw, label=corridor_label(c)) for c in corridors]


def shade_observed(ax, *, label: str | None = None, annual: bool = True) -> None:
    """Grey band over the observed window 2019-2023.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to shade.
    label : str, optional
        Legend label of the band.
    annual : bool
        Annual points sit on whole years (the band runs from half a year before the first
        to half a year after the last); otherwise from the start of 2019 to the end of 2023.
    """
    lo, hi = (
        (BASE_YEAR - 0.5, LAST_OBSERVED_YEAR + 0.5)
        if annual
        else (float(BASE_YEAR), LAST_OBSERVED_YEAR + 1.0)
    )
    ax.axvspan(lo, hi, color=HISTORY_SHADE, zorder=0, lw=0, label=label)


def y_grid(ax) -> None:
    """Light horizontal grid lines behind the data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to grid.
    """
    ax.grid(axis="y", color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)


def year_axis(ax, years: Iterable[int], *, max_ticks: int = 10) -> None:
    """Ticks on whole years, at most ``max_ticks`` of them, and the grid of :func:`y_grid`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes whose x axis is years.
    years : iterable of int
        The years drawn; ticks start at the first, every 1, 2, 4, 5, 10, 20 or 50 years.
    max_ticks : int
        The most ticks wanted (the step is at most 50 years).
    """
    years = np.asarray(sorted(years))
    step = next(s for s in (1, 2, 4, 5, 10, 20, 50) if len(years) <= s * max_ticks or s == 50)
    ticks = [y for y in years if (y - years[0]) % step == 0]
    ax.set_xticks(ticks)
    ax.tick_params(labelsize=8)
    y_grid(ax)
