"""The package's modules import one another without circles.

Every ``corridors.*`` import of every module counts, whether at the top, inside a function
or under ``TYPE_CHECKING``: a module that needs another only for a type still depends on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import corridors

SRC = Path(corridors.__file__).parent


def _imports(path: Path, modules: set[str]) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "corridors":
            parts = node.module.split(".")
            names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
            out.update(n if n in modules else "__init__" for n in names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("corridors."))
    return out - {path.stem}


def dependencies() -> dict[str, set[str]]:
    packages = [p.parent for p in SRC.glob("*/__init__.py")]
    modules = {p.stem for p in SRC.glob("*.py")} | {p.name for p in packages}
    deps = {p.stem: _imports(p, modules) for p in SRC.glob("*.py") if p.stem != "__init__"}
    for package in packages:  # a subpackage counts as one module: the imports of all its files
        deps[package.name] = set().union(*(_imports(f, modules) for f in package.glob("*.py"))) - {
            package.name
        }
    return deps


def test_no_module_imports_one_that_imports_it_back():
    deps = dependencies()

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            for nxt in deps.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    circles = {m: sorted(d for d in deps[m] if m in reach(d)) for m in deps if m in reach(m)}
    assert circles == {}, f"import circles: {circles}"


def test_no_module_imports_the_package_itself():
    """``from corridors import x`` of a name that is not a module runs the package's __init__."""
    deps_on_init = [m for m, d in dependencies().items() if "__init__" in d]
    assert deps_on_init == []


def test_the_check_sees_a_circle(tmp_path):
    (tmp_path / "a.py").write_text("from corridors.b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from corridors import a, __version__\n")
    assert _imports(tmp_path / "a.py", {"a", "b"}) == {"b"}
    assert _imports(tmp_path / "b.py", {"a", "b"}) == {"a", "__init__"}


def test_the_model_class_stays_small():
    """Issue 13: ``CorridorModel`` keeps the schedule, the agents and the recording: under 400 lines."""
    import inspect

    from corridors.model import CorridorModel

    lines, _ = inspect.getsourcelines(CorridorModel)
    assert len(lines) < 400, f"CorridorModel is {len(lines)} lines"


def test_agents_write_no_attribute_of_the_model():
    """Issue 13: agents decide from a view; none assigns to the model (``self.model.x = ...``)."""
    offenders = []
    for path in sorted((SRC / "agents").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for t in targets:
                base = t
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    value = getattr(base, "value", None)
                    if (
                        isinstance(base, ast.Attribute)
                        and isinstance(value, ast.Attribute)
                        and value.attr == "model"
                    ):
                        offenders.append(f"{path.name}:{node.lineno}")
                    base = base.value
    assert offenders == []
