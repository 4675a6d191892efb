"""Tests of the corridor network: the packaged data, the loader and its error messages.

The packaged data are checked by re-reading the files independently (csv, tomllib and a
heading scan of SOURCES.md), then through :func:`corridors.network.load_network` and the
routing core. Malformed data are built by copying the packaged data directory into
``tmp_path`` and corrupting one thing. The fact ranges (corridor_facts.md, section B) are
constants below, each with the SOURCES.md key that records it.
"""

from __future__ import annotations

import csv
import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridors import routing
from corridors.errors import DataError
from corridors.network import DEFAULT_VALUE_OF_TIME, Network, default_data_dir, load_network
from corridors.vocabulary import BASE_YEAR, COMMODITIES, CORRIDORS

DATA = default_data_dir()
DATA_FILES = ("nodes.csv", "edges.csv", "corridors.toml", "units.toml", "SOURCES.md")
C5_CAPITALS = ("astana", "bishkek", "dushanbe", "tashkent", "ashgabat")
CASPIAN_EAST_PORTS = ("aktau", "kuryk", "turkmenbashi")

# ---------------------------------------------------------------- fact ranges (section B)
# Free flow, containers, 2019 network, least generalised cost at DEFAULT_VALUE_OF_TIME.
# S-northern-times: Northern rail China -> EU 12-18 days.
RUSSIAN_DAYS = (12.0, 18.0)
# S-middle-schedule (official schedule 31-37 d, Altynkol -> Constanta 20-22 d) and
# S-middle-observed-2022-2023 (19-23 d in 2023, up to 38-53 d in 2022): between the two.
MIDDLE_DAYS = (20.0, 40.0)
# S-sea-times: Shanghai -> Rotterdam via Suez 30-45 days.
SEA_DAYS = (30.0, 45.0)
# S-middle-cost: the Middle Corridor is about 30-33% dearer than the route via Russia.
MIDDLE_OVER_RUSSIAN_PRICE = (1.25, 1.40)
# S-caspian-ferries (ferries ~4.5 Mt/yr), A-feeder-capacity (feeders) and S-titr-capacity
# (corridor capacity 5.8 Mt/yr in 2023): the westbound Caspian dry-cargo crossing, t/yr.
CASPIAN_T_PER_YEAR = (4.5e6, 6.0e6)
# S-btk: Baku-Tbilisi-Kars 1 Mt/yr (2017-2023) = 250,000 t per quarter per direction.
BTK_T_PER_QUARTER = 250_000.0


# --------------------------------------------------------------------------- helpers


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


NODE_ROWS = read_rows(DATA / "nodes.csv")
EDGE_ROWS = read_rows(DATA / "edges.csv")
CORRIDORS_DOC = tomllib.loads((DATA / "corridors.toml").read_text(encoding="utf-8"))


def source_headings(path: Path) -> set[str]:
    """Keys of SOURCES.md: the first word of every heading of level 2 or deeper."""
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"(#+)\s+(\S+)", line)
        if m and len(m.group(1)) >= 2:
            keys.add(m.group(2))
    return keys


def split_keys(cell: str) -> list[str]:
    return [k.strip() for k in cell.split(";") if k.strip()]


def node_row(name: str) -> int:
    """Data-row index (= id) of a node in the packaged nodes.csv."""
    (row,) = [i for i, r in enumerate(NODE_ROWS) if r["name"] == name]
    return row


def edge_row(tail: str, head: str, mode: str | None = None) -> int:
    """Data-row index (= id) of the single packaged edge tail -> head (of that mode)."""
    rows = [
        i
        for i, r in enumerate(EDGE_ROWS)
        if r["tail"] == tail and r["head"] == head and (mode is None or r["mode"] == mode)
    ]
    assert len(rows) == 1, f"{tail}->{head} ({mode}): {rows}"
    return rows[0]


def line(row: int) -> str:
    """The file line of a data row: the header is line 1."""
    return rf"\bline {row + 2}\b"


def copy_data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(DATA, root)
    return root


def set_cell(root: Path, name: str, row: int, column: str, value: str) -> None:
    path = root / name
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[row + 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def drop_column(root: Path, name: str, column: str) -> None:
    path = root / name
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    k = rows[0].index(column)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([r[:k] + r[k + 1 :] for r in rows])


def edit_lines(root: Path, name: str, edit: Callable[[list[str]], list[str]]) -> None:
    path = root / name
    path.write_text("\n".join(edit(path.read_text(encoding="utf-8").splitlines())) + "\n", encoding="utf-8")


def replace_text(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def toml_section(text: str, table: str) -> tuple[int, int]:
    """Start and end offsets of ``[table]`` (up to the next table header or the end)."""
    start = text.index(f"\n[{table}]\n") + 1
    nxt = re.search(r"^\[", text[start + 1 :], re.M)
    return start, len(text) if nxt is None else start + 1 + nxt.start()


def set_toml_line(root: Path, name: str, table: str, key: str, value: str | None) -> None:
    """Replace (or with ``None`` delete) the ``key = ...`` line of ``[table]``; add it if absent."""
    path = root / name
    text = path.read_text(encoding="utf-8")
    start, end = toml_section(text, table)
    section = text[start:end]
    pattern = re.compile(rf"^{re.escape(key)} = .*\n", re.M)
    new_line = "" if value is None else f"{key} = {value}\n"
    if pattern.search(section):
        section = pattern.sub(lambda _: new_line, section, count=1)
    else:
        head, _, rest = section.partition("\n")
        section = f"{head}\n{new_line}{rest}"
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")


def remove_toml_table(root: Path, name: str, table: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    start, end = toml_section(text, table)
    path.write_text(text[:start] + text[end:], encoding="utf-8")


def gateways_of(corridor: str) -> list[int]:
    return list(CORRIDORS_DOC[corridor]["gateways"])


def westbound_caspian(corridor_doc: dict) -> list[int]:
    """The middle gateways leaving the east Caspian ports (read from the packaged files)."""
    return [g for g in corridor_doc["middle"]["gateways"] if EDGE_ROWS[g]["tail"] in CASPIAN_EAST_PORTS]


@pytest.fixture(scope="module")
def net() -> Network:
    return load_network()


def generalised_cost(net: Network) -> np.ndarray:
    return net.to_slots(net.price_usd_per_t + DEFAULT_VALUE_OF_TIME * net.free_flow_time_h)


def slot_edges(net: Network, slots: np.ndarray) -> np.ndarray:
    """Original edge ids of CSR slots."""
    return net.perm[slots]


# --------------------------------------------------------------------------- loading


def test_packaged_network_loads_twice_the_same(net):
    again = load_network()
    assert again is not net
    assert (again.n_nodes, again.n_edges) == (net.n_nodes, net.n_edges)
    for attr in ("indptr", "indices", "perm"):
        np.testing.assert_array_equal(getattr(again, attr), getattr(net, attr))
    pd.testing.assert_frame_equal(again.edges, net.edges)
    pd.testing.assert_frame_equal(again.nodes, net.nodes)
    assert again.corridors == net.corridors
    assert again.data_dir == DATA


def test_counts_match_the_csv_rows(net):
    assert net.n_nodes == len(NODE_ROWS) == net.indptr.size - 1
    assert net.n_edges == len(EDGE_ROWS) == net.indices.size
    assert sorted(net.perm.tolist()) == list(range(len(EDGE_ROWS)))


def test_names_and_ids_agree_with_the_csv(net):
    for i, r in enumerate(NODE_ROWS):
        assert net.node_id(r["name"]) == i == int(r["id"])
    tails = np.array([net.node_id(r["tail"]) for r in EDGE_ROWS])
    heads = np.array([net.node_id(r["head"]) for r in EDGE_ROWS])
    np.testing.assert_array_equal(net.edges["tail_id"], tails)
    np.testing.assert_array_equal(net.edges["head_id"], heads)
    # CSR slot k is original edge perm[k]: tail and head agree
    np.testing.assert_array_equal(routing.slot_tails(net.indptr), tails[net.perm])
    np.testing.assert_array_equal(net.indices, heads[net.perm])
    with pytest.raises(KeyError, match="atlantis"):
        net.node_id("atlantis")


def test_free_flow_time_and_price_follow_the_columns(net):
    for i in (RAIL, SEA_SUEZ):
        r = EDGE_ROWS[i]
        travel = float(r["time_h"]) if r["time_h"] else float(r["length_km"]) / float(r["speed_kmh"])
        assert net.free_flow_time_h[i] == pytest.approx(travel + float(r["dwell_h"]))
        price = float(r["tariff_usd_per_t"]) + float(r["handling_usd_per_t"])
        assert net.price_usd_per_t[i] == pytest.approx(price)


def test_every_edge_source_is_a_heading_of_SOURCES_md():
    headings = source_headings(DATA / "SOURCES.md")
    assert len(headings) > 50
    missing = {(int(r["id"]), k) for r in EDGE_ROWS for k in split_keys(r["source"]) if k not in headings}
    assert not missing
    assert all(split_keys(r["source"]) for r in EDGE_ROWS)


def test_units_and_sea_rates_cite_headings_of_SOURCES_md():
    headings = source_headings(DATA / "SOURCES.md")
    units = tomllib.loads((DATA / "units.toml").read_text(encoding="utf-8"))
    assert {k for u in units.values() for k in split_keys(u["source"])} <= headings
    rates = read_rows(DATA / "sea_rates.csv")
    assert {k for r in rates for k in split_keys(r["source"])} <= headings


def test_units(net):
    assert net.unit("t_per_teu_loaded") == 10.0
    assert net.unit("t_per_feu_loaded") == 2 * net.unit("t_per_teu_loaded")
    with pytest.raises(KeyError, match="no_such_unit"):
        net.unit("no_such_unit")


def test_corridors_and_their_state(net):
    assert tuple(net.corridors) == CORRIDORS == tuple(CORRIDORS_DOC)
    assert not net.corridors["iranian"].enabled
    # trans_afghan is open as far as Afghanistan (Termez-Hairatan, A-demand-afghan); its
    # Afghanistan-Pakistan links start closed (opens_year, A-afghan-opening)
    assert net.corridors["trans_afghan"].enabled
    assert net.enabled_corridors == ("russian", "chinese", "middle", "sea", "trans_afghan")
    pakistan = net.edges.loc[list(net.corridors["trans_afghan"].gateways)]
    pakistan = pakistan[(pakistan["tail"] == "peshawar") | (pakistan["head"] == "peshawar")]
    assert len(pakistan) == 4 and pakistan["opens_year"].notna().all()
    for name, c in net.corridors.items():
        assert c.gateways == tuple(CORRIDORS_DOC[name]["gateways"])
        assert c.markets == tuple(CORRIDORS_DOC[name]["markets"])


def test_every_gateway_belongs_to_exactly_one_corridor(net):
    owners: dict[int, list[str]] = {}
    for name, table in CORRIDORS_DOC.items():
        for g in table["gateways"]:
            owners.setdefault(g, []).append(name)
    assert all(len(v) == 1 for v in owners.values()), {g: v for g, v in owners.items() if len(v) > 1}
    expected = np.full(net.n_edges, -1)
    for g, (name,) in owners.items():
        expected[g] = CORRIDORS.index(name)
    np.testing.assert_array_equal(net.gateway_of, expected)
    assert (net.edges["corridor"] == [CORRIDORS[k] if k >= 0 else "" for k in expected]).all()
    # each corridor's mask holds its own gateways and no other corridor's
    for k, name in enumerate(CORRIDORS):
        mask = net.edge_mask(name)
        gw = net.to_slots(net.gateway_of)
        non_pipeline = net.to_slots((net.edges["mode"] != "pipeline").to_numpy())
        np.testing.assert_array_equal(mask[(gw == k) & non_pipeline], True)
        assert not mask[(gw >= 0) & (gw != k)].any()


@pytest.mark.parametrize("commodity", [None, *COMMODITIES])
def test_pipelines_are_in_no_corridor_mask(net, commodity):
    pipeline = net.to_slots((net.edges["mode"] == "pipeline").to_numpy())
    assert pipeline.sum() >= 2  # CPC and BTC
    for year in (None, 2019, 2100):
        masks = net.edge_masks(CORRIDORS, commodity=commodity, year=year)
        assert masks.shape == (len(CORRIDORS), net.n_edges)
        assert not masks[:, pipeline].any()


def test_commodity_masks_follow_the_commodities_column(net):
    crude_only = net.to_slots(net.edges["commodities"].map(lambda c: c == ("crude",)).to_numpy())
    assert crude_only.any()
    for corridor in CORRIDORS:
        assert not net.edge_mask(corridor, commodity="containers")[crude_only].any()
    # the Aktau -> Baku crude tanker is a middle gateway: in the crude mask only
    (tanker,) = [
        i
        for i, r in enumerate(EDGE_ROWS)
        if (r["tail"], r["head"], r["commodities"]) == ("aktau", "baku_alat", "crude")
    ]
    slot = np.argsort(net.perm)[tanker]
    assert net.edge_mask("middle", commodity="crude")[slot]
    assert not net.edge_mask("middle", commodity="metals_ores")[slot]
    assert not net.edge_mask("sea", commodity="crude")[slot]


BULK_ONLY_MARKETS = ("market_black_sea",)


@pytest.mark.parametrize("corridor", CORRIDORS)
def test_paths_never_use_another_corridors_gateway(net, corridor):
    """From each C5 capital to each market of the corridor (corridors.toml), at free flow.

    On the 2019 links, and for trans_afghan on those of 2026, when its Torkham road to Pakistan
    opens (``opens_year``, A-afghan-opening). Containers, but bulk (``grain_cotton``) to
    ``market_black_sea``, which only bulk classes reach (A-market-black-sea).
    """
    k = CORRIDORS.index(corridor)
    sources = net.node_ids(C5_CAPITALS)

    def solve(commodity):
        return routing.shortest_paths(
            net.indptr,
            net.indices,
            generalised_cost(net),
            sources,
            edge_mask=net.edge_mask(
                corridor, commodity=commodity, year=2026 if corridor == "trans_afghan" else 2019
            ),
            through_mask=net.through_mask,
        )

    markets = CORRIDORS_DOC[corridor]["markets"]
    assert markets
    for i, origin in enumerate(C5_CAPITALS):
        for market in markets:
            dist, pred = solve("grain_cotton" if market in BULK_ONLY_MARKETS else "containers")
            m = net.node_id(market)
            assert np.isfinite(dist[i, m]), f"{corridor}: no path {origin} -> {market}"
            slots = routing.path_slots(pred[i], net.indptr, int(sources[i]), m)
            owners = net.gateway_of[slot_edges(net, slots)]
            assert set(owners.tolist()) <= {-1, k}, f"{corridor}: {origin} -> {market} uses {owners}"
            assert (owners == k).any(), f"{corridor}: {origin} -> {market} crosses no own gateway"


def test_trans_afghan_reaches_afghanistan_from_the_start_and_south_asia_once_opened(net):
    """Termez-Hairatan is open from 2019 (trade with Afghanistan, A-demand-afghan); the
    Afghanistan-Pakistan links only from their ``opens_year`` (A-afghan-opening)."""
    sources = net.node_ids(C5_CAPITALS)
    afghanistan, south_asia = net.node_id("market_afghanistan"), net.node_id("market_south_asia")
    for year, reaches_south_asia in ((2019, False), (2025, False), (2026, True)):
        dist, _ = routing.shortest_paths(
            net.indptr,
            net.indices,
            generalised_cost(net),
            sources,
            edge_mask=net.edge_mask("trans_afghan", commodity="grain_cotton", year=year),
            through_mask=net.through_mask,
        )
        assert np.isfinite(dist[:, afghanistan]).all(), year
        assert np.isfinite(dist[:, south_asia]).any() == reaches_south_asia, year
    for corridor in ("russian", "chinese", "middle", "sea"):  # Afghanistan lies beyond trans_afghan only
        dist, _ = routing.shortest_paths(
            net.indptr,
            net.indices,
            generalised_cost(net),
            sources,
            edge_mask=net.edge_mask(corridor),
            through_mask=net.through_mask,
        )
        assert not np.isfinite(dist[:, afghanistan]).any(), corridor


def test_market_nodes_are_not_crossed(net):
    is_market = (net.nodes["kind"] == "market").to_numpy()
    np.testing.assert_array_equal(net.through_mask, ~is_market)
    tails = routing.slot_tails(net.indptr)
    sources = net.node_ids(C5_CAPITALS)
    w = generalised_cost(net)

    def crossings(through_mask) -> int:
        count = 0
        for corridor in CORRIDORS:
            _, pred = routing.shortest_paths(
                net.indptr,
                net.indices,
                w,
                sources,
                edge_mask=net.edge_mask(corridor),
                through_mask=through_mask,
            )
            for i, s in enumerate(sources):
                for v in np.flatnonzero(pred[i] >= 0):
                    slots = routing.path_slots(pred[i], net.indptr, int(s), int(v))
                    count += int(is_market[tails[slots[1:]]].sum())
        return count

    assert crossings(net.through_mask) == 0
    # without the mask some least-cost paths would cut through a market (zero-cost connectors)
    assert crossings(None) > 0


def test_links_opening_later_are_masked_until_their_year(net):
    cku = [
        edge_row("kashgar", "torugart", "rail"),
        edge_row("torugart", "kashgar", "rail"),
        edge_row("torugart", "jalal_abad", "rail"),
        edge_row("jalal_abad", "torugart", "rail"),
    ]
    afghan_rail = [edge_row("kabul", "peshawar", "rail"), edge_row("peshawar", "kabul", "rail")]
    assert (net.edges.loc[cku + afghan_rail, "opens_year"] == 2030).all()
    slot_of = np.argsort(net.perm)
    for corridor, links in (("russian", cku), ("middle", cku), ("trans_afghan", afghan_rail)):
        slots = slot_of[links]
        for year in (2019, 2029):
            assert not net.edge_mask(corridor, year=year)[slots].any()
        assert net.edge_mask(corridor, year=2030)[slots].all()
        assert net.edge_mask(corridor)[slots].all()  # no year: every link
    # the links that are open from the start are open in 2019
    always = net.to_slots(net.edges["opens_year"].isna().to_numpy())
    assert np.array_equal(net.edge_mask("russian", year=2019) & always, net.edge_mask("russian") & always)


def test_cku_shortens_kashgar_to_the_eu_only_once_open(net):
    skims = {
        year: net.skim(["kashgar"], ["market_eu"], corridors=["russian"], year=year).iloc[0]
        for year in (2019, 2029, 2030)
    }
    assert skims[2029].price_usd_per_t == skims[2019].price_usd_per_t
    assert skims[2030].price_usd_per_t < skims[2019].price_usd_per_t
    assert skims[2030].distance_km < skims[2019].distance_km


def test_skim_rejects_unknown_names(net):
    with pytest.raises(ValueError, match="northern"):
        net.edge_mask("northern")
    with pytest.raises(ValueError, match="uranium"):
        net.edge_mask("russian", commodity="uranium")
    with pytest.raises(KeyError, match="atlantis"):
        net.skim(["atlantis"], ["market_eu"])


# ----------------------------------------------------------------- malformed data

# Rows of the packaged files used by the corruptions (found by name, not by id).
ALMATY = node_row("almaty")
SHU = node_row("shu")
RAIL = edge_row("almaty", "aktogay")  # length_km and speed_kmh given
SEA_SUEZ = next(
    i
    for i, r in enumerate(EDGE_ROWS)
    if (r["tail"], r["head"], r["via"]) == ("shanghai", "rotterdam", "suez")
)
FIRST_BTK_CITER = next(i for i, r in enumerate(EDGE_ROWS) if "S-btk" in split_keys(r["source"]))
TURKEY_CONNECTORS = [i for i, r in enumerate(EDGE_ROWS) if r["head"] == "market_turkey"]
WESTBOUND = westbound_caspian(CORRIDORS_DOC)


def _cell(name, row, column, value):
    return lambda root: set_cell(root, name, row, column, value)


def _retarget_turkey_connectors(root: Path) -> None:
    # istanbul/ankara/mersin -> market_turkey become ordinary links between Turkish nodes
    for i in TURKEY_CONNECTORS:
        tail = EDGE_ROWS[i]["tail"]
        set_cell(root, "edges.csv", i, "head", "ankara" if tail != "ankara" else "istanbul")


def _move_westbound_crossings_to_iranian(root: Path) -> None:
    east = [g for g in gateways_of("middle") if g not in WESTBOUND]
    set_toml_line(root, "corridors.toml", "middle", "gateways", str(east))
    set_toml_line(root, "corridors.toml", "iranian", "gateways", str(gateways_of("iranian") + WESTBOUND))


def _extra_cell(root: Path) -> None:
    edit_lines(root, "edges.csv", lambda ls: [*ls[: RAIL + 1], ls[RAIL + 1] + ",extra", *ls[RAIL + 2 :]])


def _append(name, text):
    def corrupt(root: Path) -> None:
        path = root / name
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return corrupt


def _header_only(name):
    return lambda root: edit_lines(root, name, lambda ls: ls[:1])


def _text(name, old, new):
    return lambda root: replace_text(root, name, old, new)


def _toml(name, table, key, value):
    return lambda root: set_toml_line(root, name, table, key, value)


E, N, C, U = r"edges\.csv", r"nodes\.csv", r"corridors\.toml", r"units\.toml"
MISSING, BOOLEAN = r"missing|empty|required", r"true|false|boolean"

# id, corruption, regexes that must all be found in the message (file, place, reason)
BAD_DATA = [
    # nodes.csv
    ("node-duplicate-name", _cell("nodes.csv", SHU, "name", "almaty"), [N, line(SHU), "name", "duplicate"]),
    ("node-id-gap", _cell("nodes.csv", 30, "id", "31"), [N, line(30), r"\bid\b", r"\b31\b"]),
    ("node-id-text", _cell("nodes.csv", 30, "id", "x"), [N, line(30), r"\bid\b", "integer"]),
    ("node-lon-over", _cell("nodes.csv", ALMATY, "lon", "200"), [N, line(ALMATY), "lon", "180"]),
    ("node-lon-under", _cell("nodes.csv", ALMATY, "lon", "-181"), [N, line(ALMATY), "lon", "-180"]),
    ("node-lat-over", _cell("nodes.csv", ALMATY, "lat", "91"), [N, line(ALMATY), "lat", "90"]),
    ("node-lat-nan", _cell("nodes.csv", ALMATY, "lat", "nan"), [N, line(ALMATY), "lat", "finite"]),
    ("node-lat-text", _cell("nodes.csv", ALMATY, "lat", "north"), [N, line(ALMATY), "lat", "north", "number"]),
    ("node-country-alpha3", _cell("nodes.csv", ALMATY, "country", "KAZ"), [N, line(ALMATY), "country", "ISO"]),
    ("node-country-lower", _cell("nodes.csv", ALMATY, "country", "kz"), [N, line(ALMATY), "country", "ISO"]),
    ("node-kind", _cell("nodes.csv", ALMATY, "kind", "village"), [N, line(ALMATY), "kind", "not one of"]),
    ("node-missing-name", _cell("nodes.csv", ALMATY, "name", ""), [N, line(ALMATY), "name", MISSING]),
    ("node-missing-column", lambda r: drop_column(r, "nodes.csv", "lat"), [N, "header|line 1", "lat", "missing"]),
    ("node-header-only", _header_only("nodes.csv"), [N, r"no (data )?rows|empty"]),
    # edges.csv
    ("edge-unknown-tail", _cell("edges.csv", RAIL, "tail", "nowhere"), [E, line(RAIL), "tail", "nowhere", "unknown|no node|not a node"]),
    ("edge-unknown-head", _cell("edges.csv", RAIL, "head", "nowhere"), [E, line(RAIL), "head", "nowhere", "unknown|no node|not a node"]),
    ("edge-self-loop", _cell("edges.csv", RAIL, "head", "almaty"), [E, line(RAIL), "head", "different"]),
    ("edge-id-gap", _cell("edges.csv", 100, "id", "1000"), [E, line(100), r"\bid\b", r"\b1000\b"]),
    ("edge-negative-length", _cell("edges.csv", RAIL, "length_km", "-570"), [E, line(RAIL), "length_km", ">= 0"]),
    ("edge-negative-tariff", _cell("edges.csv", RAIL, "tariff_usd_per_t", "-1"), [E, line(RAIL), "tariff_usd_per_t", ">= 0"]),
    ("edge-negative-dwell", _cell("edges.csv", RAIL, "dwell_h", "-2"), [E, line(RAIL), "dwell_h", ">= 0"]),
    ("edge-negative-season", _cell("edges.csv", RAIL, "season_q4", "-0.5"), [E, line(RAIL), "season_q4", ">= 0"]),
    ("edge-negative-time", _cell("edges.csv", SEA_SUEZ, "time_h", "-600"), [E, line(SEA_SUEZ), "time_h", ">= 0"]),
    ("edge-nan-length", _cell("edges.csv", RAIL, "length_km", "nan"), [E, line(RAIL), "length_km", "finite"]),
    ("edge-inf-tariff", _cell("edges.csv", RAIL, "tariff_usd_per_t", "inf"), [E, line(RAIL), "tariff_usd_per_t", "finite"]),
    ("edge-nan-capacity", _cell("edges.csv", RAIL, "capacity_t_per_quarter", "NaN"), [E, line(RAIL), "capacity_t_per_quarter", "finite"]),
    ("edge-zero-capacity", _cell("edges.csv", RAIL, "capacity_t_per_quarter", "0"), [E, line(RAIL), "capacity_t_per_quarter", "> 0"]),
    ("edge-zero-speed", _cell("edges.csv", RAIL, "speed_kmh", "0"), [E, line(RAIL), "speed_kmh", "> 0"]),
    ("edge-text-number", _cell("edges.csv", RAIL, "handling_usd_per_t", "ten"), [E, line(RAIL), "handling_usd_per_t", "ten", "number"]),
    ("edge-missing-tariff", _cell("edges.csv", RAIL, "tariff_usd_per_t", ""), [E, line(RAIL), "tariff_usd_per_t", MISSING]),
    ("edge-missing-controller", _cell("edges.csv", RAIL, "controller", ""), [E, line(RAIL), "controller", MISSING]),
    ("edge-speed-and-time", _cell("edges.csv", RAIL, "time_h", "12"), [E, line(RAIL), "time_h|speed_kmh", "exactly one"]),
    ("edge-neither-speed-nor-time", _cell("edges.csv", RAIL, "speed_kmh", ""), [E, line(RAIL), "time_h|speed_kmh", "exactly one"]),
    ("edge-speed-without-length", _cell("edges.csv", RAIL, "length_km", ""), [E, line(RAIL), "length_km", "speed_kmh"]),
    ("edge-bad-boolean", _cell("edges.csv", RAIL, "capacity_hard", "maybe"), [E, line(RAIL), "capacity_hard", BOOLEAN]),
    ("edge-bad-border-flag", _cell("edges.csv", RAIL, "border", "2"), [E, line(RAIL), "border", BOOLEAN]),
    ("edge-unknown-mode", _cell("edges.csv", RAIL, "mode", "hovercraft"), [E, line(RAIL), "mode", "not one of"]),
    ("edge-unknown-commodity", _cell("edges.csv", RAIL, "commodities", "containers;uranium"), [E, line(RAIL), "commodities", "uranium"]),
    ("edge-no-commodity", _cell("edges.csv", RAIL, "commodities", ";"), [E, line(RAIL), "commodities", r"one of|separated|empty"]),
    ("edge-unknown-source", _cell("edges.csv", RAIL, "source", "A-rail-speed;S-no-such-source"), [E, line(RAIL), "source", "S-no-such-source", "SOURCES.md"]),
    ("edge-empty-source", _cell("edges.csv", RAIL, "source", ";"), [E, line(RAIL), "source", "SOURCES.md"]),
    ("edge-opens-too-early", _cell("edges.csv", RAIL, "opens_year", "2018"), [E, line(RAIL), "opens_year", r"2019\D+2100"]),
    ("edge-opens-too-late", _cell("edges.csv", RAIL, "opens_year", "2101"), [E, line(RAIL), "opens_year", r"2019\D+2100"]),
    ("edge-opens-fraction", _cell("edges.csv", RAIL, "opens_year", "2030.5"), [E, line(RAIL), "opens_year", "integer"]),
    ("edge-unknown-via", _cell("edges.csv", SEA_SUEZ, "via", "arctic"), [E, line(SEA_SUEZ), "via", "not one of"]),
    ("edge-missing-column", lambda r: drop_column(r, "edges.csv", "dwell_h"), [E, "header|line 1", "dwell_h", "missing"]),
    ("edge-extra-cell", _extra_cell, [E, line(RAIL), r"cells|columns|fields"]),
    ("edge-header-only", _header_only("edges.csv"), [E, r"no (data )?rows|empty"]),
    # SOURCES.md: a heading renamed, so the edges citing it fail
    ("sources-heading-renamed", _text("SOURCES.md", "### S-btk\n", "### S-btk-railway\n"), [E, line(FIRST_BTK_CITER), "source", "S-btk"]),
    # corridors.toml
    ("toml-unknown-corridor", _append("corridors.toml", '\n[northern]\ngateways = [0]\n'), [C, r"\[northern\]", "unknown corridor"]),
    ("toml-gateway-out-of-range", _toml("corridors.toml", "middle", "gateways", str([*gateways_of("middle"), 9999])), [C, r"\[middle\]\.gateways", "9999", "out of range"]),
    ("toml-gateway-negative", _toml("corridors.toml", "sea", "gateways", "[-1]"), [C, r"\[sea\]\.gateways", "-1", "out of range"]),
    ("toml-gateway-in-two-corridors", _toml("corridors.toml", "middle", "gateways", str([*gateways_of("middle"), gateways_of("russian")[0]])), [C, r"\[middle\]\.gateways", str(gateways_of("russian")[0]), "russian"]),
    ("toml-gateway-not-integer", _toml("corridors.toml", "sea", "gateways", '["190"]'), [C, r"\[sea\]\.gateways", "edge ids"]),
    ("toml-gateway-boolean", _toml("corridors.toml", "middle", "gateways", str([True, *gateways_of("middle")]).replace("True", "true")), [C, r"\[middle\]\.gateways", "edge ids"]),
    ("toml-no-gateways", _toml("corridors.toml", "sea", "gateways", "[]"), [C, r"\[sea\]\.gateways", "non-empty"]),
    ("toml-missing-corridor", lambda r: remove_toml_table(r, "corridors.toml", "trans_afghan"), [C, "missing corridor", "trans_afghan"]),
    ("toml-unknown-field", _toml("corridors.toml", "sea", "colour", '"blue"'), [C, r"\[sea\]", "unknown field", "colour"]),
    ("toml-enabled-not-boolean", _toml("corridors.toml", "iranian", "enabled", '"no"'), [C, r"\[iranian\]\.enabled", BOOLEAN]),
    ("toml-market-not-a-market", _toml("corridors.toml", "sea", "markets", '["market_eu", "istanbul"]'), [C, r"\[sea\]\.markets", "'istanbul'", "not a market node"]),
    ("toml-market-unknown", _toml("corridors.toml", "sea", "markets", '["market_mars"]'), [C, r"\[sea\]\.markets", "market_mars"]),
    # `russian = "north"` at the top level; the old [russian] table is renamed out of the way
    ("toml-not-a-table", lambda r: replace_text(r, "corridors.toml", "\n[russian]\n", '\nrussian = "north"\n[russian_]\n'), [C, r"\[russian\]", "table"]),
    ("toml-invalid", _append("corridors.toml", '\nbroken = "unterminated\n'), [C, "TOML", r"line \d+"]),
    # the connectors into market_turkey are pointed at Turkish cities: no corridor can reach it
    ("toml-market-unreachable", _retarget_turkey_connectors, [C, r"\[(russian|middle)\]\.markets", "market_turkey", "no path"]),
    # the westbound Caspian crossings move to the (closed) iranian corridor
    ("toml-westbound-crossings-gone", _move_westbound_crossings_to_iranian, [C, r"\[middle\]\.markets", "market_eu", "no path"]),
    # units.toml
    ("units-negative", _toml("units.toml", "t_per_teu_loaded", "value", "-10.0"), [U, r"\[t_per_teu_loaded\]\.value", "positive"]),
    ("units-zero", _toml("units.toml", "t_per_teu_loaded", "value", "0"), [U, r"\[t_per_teu_loaded\]\.value", "positive"]),
    ("units-nan", _toml("units.toml", "t_per_teu_loaded", "value", "nan"), [U, r"\[t_per_teu_loaded\]\.value", "positive"]),
    ("units-inf", _toml("units.toml", "t_per_teu_loaded", "value", "inf"), [U, r"\[t_per_teu_loaded\]\.value", "positive|finite"]),
    ("units-text", _toml("units.toml", "t_per_teu_loaded", "value", '"ten"'), [U, r"\[t_per_teu_loaded\]\.value", "positive"]),
    ("units-boolean", _toml("units.toml", "t_per_teu_loaded", "value", "true"), [U, r"\[t_per_teu_loaded\]\.value", "positive"]),
    ("units-unknown-source", _toml("units.toml", "t_per_teu_loaded", "source", '"S-imo-eeoi;S-nowhere"'), [U, r"\[t_per_teu_loaded\]\.source", "S-nowhere", "SOURCES.md"]),
    ("units-missing-unit", _toml("units.toml", "t_per_teu_loaded", "unit", None), [U, r"\[t_per_teu_loaded\]\.unit", "missing"]),
    ("units-not-a-table", lambda r: replace_text(r, "units.toml", "\n[t_per_teu_loaded]\n", "\nstray = 1\n[t_per_teu_loaded]\n"), [U, r"\[stray\]", "table"]),
    ("units-invalid", _append("units.toml", "\nvalue = = 1\n"), [U, "TOML"]),
]  # fmt: skip


@pytest.mark.parametrize(("corrupt", "expected"), [pytest.param(c, e, id=i) for i, c, e in BAD_DATA])
def test_malformed_data_raises_a_data_error(tmp_path, corrupt, expected):
    root = copy_data(tmp_path)
    corrupt(root)
    with pytest.raises(DataError) as info:
        load_network(root)
    message = str(info.value)
    for pattern in expected:
        assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    assert str(root) in message  # the full path of the file, not just its name
    assert info.value.reason and info.value.file


@pytest.mark.parametrize("name", DATA_FILES)
def test_missing_file_raises_a_data_error(tmp_path, name):
    root = copy_data(tmp_path)
    (root / name).unlink()
    with pytest.raises(DataError) as info:
        load_network(root)
    assert str(root / name) in str(info.value)
    assert re.search("not found|missing|does not exist", info.value.reason)


def test_missing_data_directory_raises_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_network(tmp_path / "nowhere")


def test_file_not_in_utf8_raises_a_data_error(tmp_path):
    """A CSV saved in Latin-1 (e.g. by a spreadsheet) must give a DataError, not a traceback."""
    root = copy_data(tmp_path)
    path = root / "nodes.csv"
    path.write_bytes(path.read_bytes().replace(b"almaty", "almaty_\u00e4".encode("latin-1")))
    with pytest.raises(DataError) as info:
        load_network(root)
    assert "nodes.csv" in str(info.value)
    assert re.search("utf-?8|encoding", str(info.value), re.I)


def test_the_copy_itself_loads(tmp_path):
    """The corruptions above start from a copy that is valid."""
    net = load_network(copy_data(tmp_path))
    assert net.n_edges == len(EDGE_ROWS)


# ------------------------------------------------------------------ fact ranges


@pytest.fixture(scope="module")
def skims(net) -> pd.DataFrame:
    df = net.skim(
        ["khorgos", "xian", "shanghai"],
        ["market_eu"],
        corridors=["russian", "middle", "sea"],
        commodity="containers",
        year=2019,
    )
    return df.set_index(["origin", "corridor"])


def within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


@pytest.mark.parametrize("origin", ["khorgos", "xian"])
def test_russian_route_to_the_eu_takes_12_to_18_days(skims, origin):
    days = skims.loc[(origin, "russian"), "time_days"]
    assert within(days, RUSSIAN_DAYS), days


@pytest.mark.parametrize("origin", ["khorgos", "xian"])
def test_middle_corridor_to_the_eu_takes_20_to_40_days(skims, origin):
    days = skims.loc[(origin, "middle"), "time_days"]
    assert within(days, MIDDLE_DAYS), days
    assert days > skims.loc[(origin, "russian"), "time_days"]


@pytest.mark.parametrize("origin", ["shanghai", "xian"])
def test_sea_to_the_eu_takes_30_to_45_days(skims, origin):
    days = skims.loc[(origin, "sea"), "time_days"]
    assert within(days, SEA_DAYS), days


@pytest.mark.parametrize("origin", ["khorgos", "xian"])
def test_middle_corridor_is_about_a_third_dearer_than_the_russian_route(skims, origin):
    ratio = (
        skims.loc[(origin, "middle"), "price_usd_per_t"] / skims.loc[(origin, "russian"), "price_usd_per_t"]
    )
    assert within(ratio, MIDDLE_OVER_RUSSIAN_PRICE), ratio


def test_skim_columns_are_consistent(net, skims):
    assert np.isfinite(skims[["time_days", "price_usd_per_t", "distance_km"]].to_numpy()).all()
    np.testing.assert_allclose(
        skims["price_usd_per_teu"], skims["price_usd_per_t"] * net.unit("t_per_teu_loaded")
    )
    # the sea corridor from Shanghai is the direct Suez sailing
    r = EDGE_ROWS[SEA_SUEZ]
    assert skims.loc[("shanghai", "sea"), "distance_km"] == float(r["length_km"])
    suez_h = float(r["time_h"]) + float(r["dwell_h"])
    assert skims.loc[("shanghai", "sea"), "time_days"] == pytest.approx(suez_h / 24)


TANKER_CARGO = {"crude", "grain_cotton", "oil_products"}


def test_caspian_crossing_capacity(net):
    e = net.edges
    # the crossings open from the start: Aktau's rail ferry is closed (no fleet, A-ferry-split)
    crossing = e[
        (e["corridor"] == "middle")
        & e["tail"].isin(CASPIAN_EAST_PORTS)
        & (e["head"] == "baku_alat")
        & (e["commodities"].map(lambda c: not set(c) <= TANKER_CARGO))
        & e["opens_year"].isna()
    ]
    # tankers and bulk ships (the Aktau crude tanker, A-tanker-capacity; the oil-product and bulk
    # links from Turkmenbashi and Aktau, uncapacitated, A-caspian-bulk-links) are not the ferry fleet
    tankers = e[
        (e["corridor"] == "middle")
        & (e["head"] == "baku_alat")
        & e["commodities"].map(lambda c: set(c) <= TANKER_CARGO)
    ]
    assert sorted(zip(tankers["tail"], tankers["mode"], strict=True)) == [
        ("aktau", "sea"),
        ("aktau", "sea"),
        ("turkmenbashi", "sea"),
    ]
    assert set(crossing["tail"]) == set(CASPIAN_EAST_PORTS)  # ferries from all three ports
    assert set(crossing["mode"]) == {"ferry", "sea"}  # rail ferries and container feeders
    assert crossing["capacity_t_per_quarter"].notna().all()
    assert crossing["capacity_hard"].all()
    annual = 4 * crossing["capacity_t_per_quarter"].sum()
    assert within(annual, CASPIAN_T_PER_YEAR), annual
    seasonal = (
        crossing["capacity_t_per_quarter"] * crossing[[f"season_q{q}" for q in range(1, 5)]].sum(axis=1)
    ).sum()
    assert within(seasonal, CASPIAN_T_PER_YEAR), seasonal
    ferries = 4 * crossing.loc[crossing["mode"] == "ferry", "capacity_t_per_quarter"].sum()
    assert ferries == pytest.approx(net.unit("caspian_ferry_fleet_t_per_year"))


# S-demand-baku-port: rail wagons on the ferries at Baku by port of origin, 2020 and 2023
WAGONS_TURKMENBASHI = 19_761 + 18_600
WAGONS_KAZAKH = 17_686 + 18_700


def test_ferry_fleet_is_allocated_by_the_wagons_sailed(net):
    """A-ferry-split: the fleet as Baku's wagon counts give it, the Kazakh half at Kuryk, none at Aktau."""
    fleet = net.unit("caspian_ferry_fleet_t_per_year") / 4
    e = net.edges.set_index(["tail", "head", "mode"])
    for port, wagons in (("turkmenbashi", WAGONS_TURKMENBASHI), ("kuryk", WAGONS_KAZAKH)):
        share = wagons / (WAGONS_TURKMENBASHI + WAGONS_KAZAKH)
        for key in ((port, "baku_alat", "ferry"), ("baku_alat", port, "ferry")):
            assert e.loc[key, "capacity_t_per_quarter"] == pytest.approx(fleet * share, rel=1e-3)
            assert pd.isna(e.loc[key, "opens_year"])
    for key in (("aktau", "baku_alat", "ferry"), ("baku_alat", "aktau", "ferry")):
        assert e.loc[key, "opens_year"] == BASE_YEAR  # closed until an event opens it


def test_baku_tbilisi_kars_capacity(net):
    for tail, head in (("akhalkalaki", "kars"), ("kars", "akhalkalaki")):
        i = edge_row(tail, head)
        assert net.capacity_t_per_quarter[i] == BTK_T_PER_QUARTER
        assert net.edges.loc[i, "capacity_hard"]
        assert net.edges.loc[i, "corridor"] == ""  # a feeder beyond the middle gateway
        assert all(net.edges.loc[i, f"season_q{q}"] == 1 for q in range(1, 5))
