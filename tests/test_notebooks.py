"""Tests of the notebooks in notebooks/.

nbmake executes every notebook as a test of its own (``--nbmake`` in pyproject's addopts), with
the small settings that its parameter cell's ``nbmake.mock`` metadata gives. The tests here
check what that execution cannot: that the notebooks are committed without outputs, that
each has one parameter cell whose mock overrides settings the cell defines, that nbmake's
kernel is this interpreter, and that the tuning notebook's sliders re-run the model (its
cells run in this process, the sliders moved from code as a browser would).

Each notebook's ``execution.timeout`` (seconds per cell for nbclient, under nbmake) is a
bound on its slowest cell, not a round number: with widgets, nbclient sometimes sees a cell's
reply only when that timeout expires and then goes on (jupyter/nbclient issue 312), so the
tuning notebook keeps it at 20 s to bound that stall; its cells take under 5 s.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REQUIRED = {
    "01_quickstart.ipynb",
    "02_tune_parameters.ipynb",
    "03_compare_scenarios.ipynb",
    "04_uncertainty_and_sensitivity.ipynb",
}


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _parameter_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]


def test_the_notebooks_are_there_and_linked_from_the_readme() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert names >= REQUIRED
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"notebooks/{name}" in readme, name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = _read(path)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs (strip them before committing)"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert 0 < nb.metadata["execution"]["timeout"] <= 300, f"{path.name}: a cell timeout within pytest's"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameter_cell_whose_mock_overrides_its_settings(path: Path) -> None:
    nb = _read(path)
    cells = _parameter_cells(nb)
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters'"
    cell = cells[0]
    defined = {
        t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets
    }
    mock = cell.metadata["nbmake"]["mock"]
    assert mock, f"{path.name}: the parameter cell has no nbmake mock"
    assert set(mock) <= defined, f"{path.name}: mock sets {set(mock) - defined}, not defined in the cell"
    assert any(mock[k] != ast.literal_eval(_value(cell.source, k)) for k in mock), "the mock changes nothing"


def _value(source: str, name: str) -> str:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(t.id == name for t in node.targets):
            return ast.get_source_segment(source, node.value)
    raise KeyError(name)


def test_nbmake_kernel_is_this_interpreter() -> None:
    # nbmake starts the notebooks' kernelspec ("python3"); jupyter_client resolves it to the
    # interpreter running the tests, so the notebooks import the corridors being tested.
    from jupyter_client import KernelManager

    cmd = KernelManager(kernel_name="python3").format_kernel_cmd()
    assert Path(cmd[0]).resolve() == Path(sys.executable).resolve()


@pytest.fixture(scope="module")
def tuning_notebook(monkeypatch_module) -> dict:
    """The namespace of notebooks/02_tune_parameters.ipynb run up to its sliders, small settings.

    Plain ``exec`` of its code cells (the notebook uses no IPython magics), in the notebook's
    directory as nbmake runs it; not an IPython shell, whose history database a kernel
    started later by nbmake would wait on.
    """
    nb = _read(ROOT / "notebooks" / "02_tune_parameters.ipynb")
    monkeypatch_module.chdir(ROOT / "notebooks")
    ns: dict = {"__name__": "__main__"}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        exec(compile(cell.source, f"02_tune_parameters.ipynb, cell {i}", "exec"), ns)
        if "parameters" in cell.metadata.get("tags", []):
            ns.update(cell.metadata["nbmake"]["mock"])
        if "sliders = {" in cell.source:
            break
    return ns


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_tuning_notebook_update_function_reruns_the_model(tuning_notebook) -> None:
    from matplotlib.figure import Figure

    update, tuner = tuning_notebook["update"], tuning_notebook["tuner"]
    fig, seconds = update(russia_premium_usd_per_t=150.0)
    assert isinstance(fig, Figure)
    assert 0 < seconds < 30
    assert tuner.values["russia_premium_usd_per_t"] == 150.0
    tuning_notebook["reset"].click()
    assert tuner.changes() == {}


def test_tuning_notebook_sliders_rerun_the_model(tuning_notebook) -> None:
    sliders, tuner, timings = (tuning_notebook[k] for k in ("sliders", "tuner", "timings"))
    last = tuner.end_year

    def volume(corridor: str, res=None) -> float:
        v = (res or tuner.results).annual_volumes()
        return float(v[(v["year"] == last) & (v["corridor"] == corridor)]["volume_t"].iloc[0])

    n = len(timings)
    sliders["russia_premium_usd_per_t"].value = 180.0
    assert len(timings) == n + 1, "moving a slider did not run the update"
    assert volume("russian") < volume("russian", tuner.reference)

    sliders["russia_premium_usd_per_t"].value = tuner.defaults["russia_premium_usd_per_t"]
    sliders["sea_rate_factor"].value = 2.0
    assert volume("sea") < volume("sea", tuner.reference)
    assert volume("russian") > volume("russian", tuner.reference)

    tuning_notebook["reset"].click()
    assert tuner.changes() == {}
    assert {name: s.value for name, s in sliders.items()} == tuner.defaults
    assert tuner.results.corridors.equals(tuner.reference.corridors)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_only_the_public_api(path):
    """A notebook imports ``corridors`` and names of ``corridors.__all__`` (the ``plots``
    package among them), nothing from the package's inner modules."""
    import corridors

    public = set(corridors.__all__)
    for cell in _read(path).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("corridors.") or alias.name == "corridors.plots", (
                        alias.name
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("corridors"):
                if node.module == "corridors":
                    assert {a.name for a in node.names} <= public, [a.name for a in node.names]
                else:
                    assert node.module == "corridors.plots", f"{path.name} imports {node.module}"
