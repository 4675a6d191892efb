"""``corridors dashboard``: the tuning sliders as a small Solara web app.

The levers of ``notebooks/02_tune_parameters.ipynb`` (:mod:`corridors.tuning`) for readers
without Jupyter: ``corridors dashboard`` serves this module with ``solara run`` on
http://127.0.0.1:8765 (loopback unless ``--host`` says otherwise). Solara is the optional
``dashboard`` extra: ``pip install -e ".[dashboard]"``.

Not Mesa's SolaraViz: it builds a model from slider keyword arguments, steps it, and draws
agents in a space and DataCollector series. This model has no space, is built from a
scenario's events and a :class:`~corridors.parameters.Parameters` object, and a change of
lever needs a whole new run from 2019, which :class:`~corridors.tuning.Tuner` does.
"""

from __future__ import annotations

import os

import solara

from corridors.tuning import Tuner

__all__ = ["END_YEAR_ENV", "SCENARIO_ENV", "Page", "make_tuner"]

# How ``corridors dashboard`` hands its arguments to the app that ``solara run`` imports.
SCENARIO_ENV = "CORRIDORS_DASHBOARD_SCENARIO"
END_YEAR_ENV = "CORRIDORS_DASHBOARD_END_YEAR"


def make_tuner() -> Tuner:
    """Make a tuner for the scenario and horizon in the environment (default: baseline to 2030)."""
    return Tuner(os.environ.get(SCENARIO_ENV, "baseline"), end_year=int(os.environ.get(END_YEAR_ENV, "2030")))


@solara.component
def _Lever(lever, value, on_value):  # noqa: N802 (a component)
    """One lever: its title, value and unit on a line of their own, the slider under them.

    The slider carries no inline label and no floating value (``thumb_label``): inline labels
    of different lengths gave each slider a different width, and values floating above the
    thumbs covered the slider above.
    """
    shown = f"{int(value)}" if lever.integer else f"{value:.3g}"
    solara.Markdown(f"**{lever.title}**: {shown} {lever.unit}", style={"margin-bottom": "-12px"})
    kwargs = {"value": value, "min": lever.low, "max": lever.high, "step": lever.step}
    if lever.integer:
        kwargs = {k: int(v) for k, v in kwargs.items()}
    slider = solara.SliderInt if lever.integer else solara.SliderFloat
    slider("", **kwargs, thumb_label=False, on_value=on_value)


@solara.component
def Page():  # noqa: N802 (solara run serves the component named Page)
    """Sliders on the left; corridor volumes and shares, and the time of the update, on the right."""
    tuner = solara.use_memo(make_tuner, dependencies=[])  # one per browser session: its own figure
    values, set_values = solara.use_state(dict(tuner.defaults))
    key = tuple(sorted(values.items()))
    update = solara.use_memo(lambda: tuner.update(**values), dependencies=[key])
    solara.Title("corridors: tuning")
    with solara.Columns([1, 3]):
        with solara.Column():
            solara.Markdown(f"**{tuner.scenario.title}**, to {tuner.end_year}, deterministic")
            for name, lever in tuner.levers.items():
                _Lever(lever, values[name], lambda v, n=name: set_values({**values, n: v}))
            solara.Button("reset to the scenario", on_click=lambda: set_values(dict(tuner.defaults)))
        with solara.Column():
            solara.FigureMatplotlib(update.figure, dependencies=[key], format="png")
            solara.Text(f"run and redraw: {update.seconds:.2f} s")
