"""Tests of :mod:`corridors.parameters`: the bounds and descriptions declared on the fields of
:class:`~corridors.parameters.Parameters`, ``replace``, ``to_dict`` and ``default_alignment``."""

from __future__ import annotations

import pytest

from corridors.parameters import BOUND_KINDS, Parameters, default_alignment
from corridors.scenario import scenario_schema
from corridors.uncertainty import NUMERIC_PARAMETERS

_SCHEMA_BOUND = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def _numbers_in(node: dict) -> list[dict]:
    """The number schemas inside a property's schema: itself, or its tables' values and arrays' items."""
    if node.get("type") in ("number", "integer"):
        return [node]
    inner = [node.get("additionalProperties"), node.get("items"), *node.get("anyOf", [])]
    return [leaf for sub in inner if isinstance(sub, dict) for leaf in _numbers_in(sub)]


@pytest.mark.parametrize("name", Parameters.names())
def test_schema_bounds_are_the_fields_metadata(name):
    """The scenario schema bounds each parameter (each number in a table or pair) as its field does."""
    prop = scenario_schema()["$defs"]["Parameters"]["properties"][name]
    field = Parameters.__dataclass_fields__[name]
    assert set(field.metadata) <= {"doc", *BOUND_KINDS}, f"unknown metadata keys of {name}"
    bounds = Parameters.bounds(name)
    expected = {_SCHEMA_BOUND[k]: v for k, v in bounds.items()}
    numbers = _numbers_in(prop)
    assert numbers or not bounds, f"{name} has bounds but the schema has no number"
    for number in numbers:
        assert {k: number[k] for k in _SCHEMA_BOUND.values() if k in number} == expected


def test_every_numeric_parameter_is_bounded():
    """A numeric parameter without bounds accepts anything: each declares at least one."""
    assert [n for n in NUMERIC_PARAMETERS if not Parameters.bounds(n)] == []


def test_every_parameter_has_a_description():
    props = scenario_schema()["$defs"]["Parameters"]["properties"]
    assert set(props) == set(Parameters.names())
    for name in Parameters.names():
        assert len(Parameters.description(name)) > 20, name
        assert props[name]["description"] == Parameters.description(name)
        assert "\n" not in props[name]["description"]


def test_replace_returns_a_changed_copy_and_refuses_unknown_names():
    p = Parameters()
    q = p.replace(cost_elasticity=5.5)
    assert q.cost_elasticity == 5.5 and p.cost_elasticity == Parameters().cost_elasticity
    assert {n for n in Parameters.names() if getattr(p, n) != getattr(q, n)} == {"cost_elasticity"}
    with pytest.raises(TypeError, match="cost_elastcity"):
        p.replace(cost_elastcity=5.5)


def test_names_and_to_dict_follow_the_fields():
    p = Parameters()
    d = p.to_dict()
    assert tuple(d) == Parameters.names() and len(set(Parameters.names())) == len(d)
    assert d == {n: getattr(p, n) for n in Parameters.names()}
    d["alignment"]["KZ"]["russia"] = -1.0  # a copy: the parameters keep their tables
    assert p.alignment["KZ"]["russia"] == default_alignment()["KZ"]["russia"] != -1.0
    with pytest.raises(KeyError):
        Parameters.bounds("no_such_parameter")


def test_default_alignment_is_a_fresh_table_within_the_fields_bounds():
    table = default_alignment()
    assert set(table) == {"KZ", "KG", "TJ", "TM", "UZ", "CN"}
    assert all(set(row) == {"russia", "china", "west", "iran", "neutral"} for row in table.values())
    bounds = Parameters.bounds("alignment")
    assert bounds == {"ge": 0, "le": 1}
    assert all(0 <= v <= 1 for row in table.values() for v in row.values())
    assert Parameters().alignment == table
    table["KZ"]["russia"] = 0.0
    assert default_alignment()["KZ"]["russia"] != 0.0 and Parameters().alignment["KZ"]["russia"] != 0.0
