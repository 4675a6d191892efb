"""CorridorModel: the quarterly step, the physics of loading, and the recorded tables.

A step (one quarter): events -> shippers choose shares from perceived costs -> each
corridor's flow takes its cheapest path (``routing.assign``, one class per corridor) ->
loads give this quarter's experienced costs (BPR below capacity, hard capacities per
quarter and direction with seasonal factors, backlog and its wait) -> memories update ->
governments, powers and operators decide -> tables recorded. Corridors do not reach an
equilibrium within a step.

Per-step tables go into preallocated arrays; :mod:`corridors.results` turns them into
DataFrames.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import mesa
import numpy as np

from corridors import loading, routing
from corridors.agents import (
    CaspianOperator,
    CountryAgent,
    PowerAgent,
    ShipperAgent,
    TransitStateAgent,
    choose_shares,
    observe_quotes,
    remember_costs,
    route_state_cargo,
    target_shares,
)
from corridors.events import (
    BASE_YEAR,
    BorderAgreement,
    EdgeState,
    Event,
    Investment,
    OfftakeDeal,
    Sanction,
    Subsidy,
    active_of,
    apply_edge_events,
    baseline_events,
    quarter_index,
    quarter_label,
)
from corridors.inputs import Inputs, load_inputs
from corridors.network import COMMODITIES, CORRIDORS, Network, load_network
from corridors.parameters import C5, CONTROLLER_BLOC, POWERS, Parameters

__all__ = ["CorridorModel"]

TRANSIT_STATES = ("AZ", "GE", "TR")
BULK_COMMODITIES = ("metals_ores", "grain_cotton")  # wagonload freight: Parameters.bulk_corridor_constants
# Yearly infrastructure budget each state can put into corridor projects, USD m (A-budgets).
COUNTRY_BUDGETS_USD_M = {"KZ": 400.0, "UZ": 250.0, "TM": 120.0, "KG": 40.0, "TJ": 30.0}
POLICY_COLUMNS = (
    "russia_tariff_factor", "china_subsidy_usd_per_t", "us_secondary_premium_usd_per_t", "caspian_vessels",
    *(f"fee_factor_{c}" for c in TRANSIT_STATES),
    *(f"port_fee_factor_{c}" for c in C5), *(f"border_factor_{c}" for c in C5),
    "sea_rate_usd_per_feu", "cape_detour_days",
)  # fmt: skip


@dataclass(eq=False)
class ShipperArrays:
    """The shippers' state, one row per :class:`ShipperAgent` (its ``index``)."""

    shares: np.ndarray
    state_alloc: np.ndarray
    memory_money: np.ndarray
    memory_time: np.ndarray
    memory_time_var: np.ndarray
    vot: np.ndarray
    renewal_rate: np.ndarray
    state_share: np.ndarray
    tonnes_2019: np.ndarray
    growth_per_year: np.ndarray


@cache
def packaged_network() -> Network:
    """The packaged network, loaded and checked once per process (it is never modified)."""
    return load_network()


@cache
def packaged_inputs() -> Inputs:
    """The packaged demand, projects, pipelines and sea rates, loaded once per process."""
    return load_inputs(packaged_network())


class CorridorModel(mesa.Model):
    """The agent-based model of Central Asia's trade corridors.

    Parameters
    ----------
    params : Parameters, optional
        Behavioural and policy parameters (defaults: :class:`Parameters`).
    events : sequence of Event, optional
        The timeline; default :func:`corridors.events.baseline_events`.
    end_year : int
        Last year simulated (quarterly steps from 2019Q1 to its Q4).
    stochastic : bool
        False: no random draws at all (weather, disruptions, pledges), whatever the seed.
    rng : int or numpy Generator, optional
        Seed of ``model.rng`` (Mesa 3); the only source of randomness.
    network, inputs : optional
        Preloaded data (default: the packaged data).
    router : optional
        An object with :func:`corridors.routing.assign`'s signature and result (default:
        :mod:`corridors.routing`); benchmarks pass a scipy-based one for comparison.
    agents : dict, optional
        Initial settings of the five governments: ``{"KZ": {"border_efficiency": 0.9,
        "budget_usd_m_per_year": 400, "port_fee_factor": 1.0}}``.
    """

    def __init__(
        self,
        *,
        params: Parameters | None = None,
        events: Sequence[Event] | None = None,
        end_year: int = 2035,
        stochastic: bool = True,
        rng: int | np.random.Generator | None = None,
        network: Network | None = None,
        inputs: Inputs | None = None,
        router: Any = None,
        agents: dict[str, dict[str, float]] | None = None,
    ) -> None:
        super().__init__(rng=rng)
        if not BASE_YEAR <= end_year <= 2100:
            raise ValueError(f"end_year: must be between {BASE_YEAR} and 2100, got {end_year}")
        self.params = params or Parameters()
        self.router = routing if router is None else router
        if network is None:
            network = packaged_network()
            inputs = inputs or packaged_inputs()
        self.net = network
        self.inputs = inputs or load_inputs(self.net)
        self.stochastic = stochastic
        self.end_year = end_year
        self.n_steps = (end_year - BASE_YEAR + 1) * 4
        self.n_corridors = len(CORRIDORS)
        self.t = 0
        self._static_arrays()
        self.projects = [
            _Project(**r, funders=tuple(r["funder_hint"].split(";")), edge_ids=np.array(r["edges"]))
            for r in self.inputs.projects.to_dict(orient="records")
        ]
        base = list(baseline_events(self.params)) if events is None else list(events)
        self.decisions: list[dict] = []
        self.events: list[Event] = self._resolve_pledges(base + self._known_projects())
        self.bloc_savings_usd_m = 0.0
        if self.params.bloc_from_year is not None:  # the bloc harmonises its borders
            self.events.append(BorderAgreement(start=str(self.params.bloc_from_year), countries=C5,
                                               dwell_factor=self.params.bloc_border_factor, note="the C5 bloc"))  # fmt: skip
        self._create_agents()
        for country, settings in (agents or {}).items():
            agent = self.country_agents[country]
            agent.border_factor = float(settings.get("border_efficiency", agent.border_factor))
            agent.budget_usd_m_per_year = float(
                settings.get("budget_usd_m_per_year", agent.budget_usd_m_per_year)
            )
            agent.port_fee_factor = float(settings.get("port_fee_factor", agent.port_fee_factor))
        self._allocate_tables()
        with routing.single_thread():
            self._prepare_quarter(0)
            observe_quotes(self, self.all_rows, initial=True)
            self.target[:] = self.sh.shares[:] = target_shares(self, self.all_rows)
            self.countries_agents_route()
            self._spin_up()

    # ------------------------------------------------------------------ set-up

    def _static_arrays(self) -> None:
        net, e = self.net, self.net.edges
        self.slot = net.perm  # slot k holds edge perm[k]
        self.base_tariff = e["tariff_usd_per_t"].to_numpy(float)
        self.base_handling = e["handling_usd_per_t"].to_numpy(float)
        self.travel_h = (e["free_flow_time_h"] - e["dwell_h"]).to_numpy(float)
        self.dwell_h = e["dwell_h"].to_numpy(float)
        self.length_km = net.length_km
        self.base_capacity = net.capacity_t_per_quarter
        self.hard = e["capacity_hard"].to_numpy(bool) & np.isfinite(self.base_capacity)
        self.season = e[["season_q1", "season_q2", "season_q3", "season_q4"]].to_numpy(float)
        self.controller = e["controller"].to_numpy()
        self.mode = e["mode"].to_numpy()
        self.gateway = e["gateway"].to_numpy()
        self.border = e["border"].to_numpy(bool)
        self.opens_year = e["opens_year"].fillna(0).to_numpy(int)
        self.via = e["via"].fillna("").to_numpy()
        node_country = net.nodes.set_index("name")["country"]
        node_kind = net.nodes.set_index("name")["kind"]
        self.tail_country = e["tail"].map(node_country).to_numpy()
        self.head_country = e["head"].map(node_country).to_numpy()
        self.tail_kind = e["tail"].map(node_kind).to_numpy()
        middle = CORRIDORS.index("middle")
        self.caspian = (self.gateway == middle) & np.isin(self.mode, ("ferry", "sea"))
        carries_containers = e["commodities"].map(lambda c: "containers" in c).to_numpy(bool)
        self.feeder = self.caspian & (self.mode == "sea") & carries_containers
        self.ru_rail = (self.controller == "RU") & (self.mode == "rail")
        bloc_of = np.array([CONTROLLER_BLOC.get(c, "neutral") for c in self.controller])
        km = np.maximum(self.length_km, 1.0)
        self.bloc_km = np.array([np.where(bloc_of == b, km, 0.0) for b in POWERS])
        self.bloc_km_s = np.ascontiguousarray(self.bloc_km[:, net.perm])
        self.t_per_feu = self.net.unit("t_per_feu_loaded")
        self.sea_gateway = self.gateway == CORRIDORS.index("sea")
        pipes = self.inputs.pipelines
        self.pipe_edges = pipes["edge"].to_numpy(int)
        self.pipe_volume = pipes["volume_t_per_year"].to_numpy(float)
        self.pipe_growth = pipes["growth_per_year"].to_numpy(float)
        self.suez = self.via == "suez"
        is_crude_only = e["commodities"].map(lambda c: tuple(c) == ("crude",)).to_numpy(bool)
        self.tanker_exit = (self.mode == "sea") & is_crude_only
        # each state's pipeline and the crude tanker links leaving the pipeline's port
        self._pipeline_routes = {}
        for edge in self.pipe_edges:
            country = self.tail_country[edge]
            if country not in self._pipeline_routes:
                exits = (e["tail"] == e["head"].iat[edge]).to_numpy() & self.tanker_exit
                self._pipeline_routes[country] = (int(edge), exits)
        self.tanker = self.caspian & is_crude_only
        # per-country link sets the agents' levers act on (constant over a run)
        touches = {c: (self.tail_country == c) | (self.head_country == c) for c in (*C5, *TRANSIT_STATES)}
        ports = np.isin(self.tail_kind, ("seaport", "dry_port"))
        self.fee_links = {c: touches[c] for c in TRANSIT_STATES}
        self.port_links = {c: (self.tail_country == c) & ports for c in C5}
        self.border_links = {c: self.border & touches[c] for c in C5}

    def _known_projects(self) -> list[Event]:
        """Projects already completed (``known_completion``) as investments of the history."""
        out: list[Event] = []
        for row in self.projects:
            if isinstance(row.known_completion, str) and row.known_completion:
                out.append(
                    self._project_event(row, start=row.known_completion, funder=row.funder_hint, lag=0)
                )
        return out

    def _project_event(self, row, *, start: str, funder: str, lag: int) -> Investment:
        return Investment(
            start=start, funder=funder, project=row.project, edges=tuple(row.edges),
            amount_usd_m=float(row.cost_usd_m), capacity_factor=float(row.capacity_factor),
            time_factor=float(row.time_factor), opens=row.effect == "open", lag_quarters=lag,
            note=row.name,
        )  # fmt: skip

    def _resolve_pledges(self, events: list[Event]) -> list[Event]:
        """Draw once whether each pledge is delivered and how late (geometric extra delay).

        Each pledge draws from its own generator, keyed by the run's seed and the pledge
        itself, so adding a pledge to a scenario changes neither the other pledges' draws nor
        the weather and disruptions of the years before it.
        """
        out: list[Event] = []
        root = int(self.rng.integers(2**63))  # one draw, in every run alike
        for ev in events:
            if isinstance(ev, Investment) and ev.delivery_probability < 1:
                if self.stochastic:
                    key = zlib.crc32(repr(ev.to_dict()).encode())
                    draw = np.random.default_rng([root, key])
                    delivered = draw.random() < ev.delivery_probability
                    extra = int(draw.geometric(0.25)) - 1 if delivered else 0
                else:
                    delivered, extra = ev.delivery_probability >= 0.5, 0
                if delivered:
                    out.append(replace(ev, delivery_probability=1.0, lag_quarters=ev.lag_quarters + extra))
                self.decisions.append({"step": quarter_index(ev.start), "agent": ev.funder, "decision": "pledge",
                                       "detail": f"{ev.project or 'links'} {'delivered' if delivered else 'not delivered'}"
                                       f" (+{extra} quarters)"})  # fmt: skip
            else:
                out.append(ev)
        return out

    def _create_agents(self) -> None:
        trade = self.inputs.trade
        node_country = self.net.nodes.set_index("name")["country"]
        self.shippers: list[ShipperAgent] = []
        for i, row in enumerate(trade.itertuples()):
            ends = [node_country[row.origin], node_country[row.market]]
            country = next((c for c in ends if c in C5), "CN")
            self.shippers.append(
                ShipperAgent(
                    self, index=i, origin=row.origin, market=row.market, commodity=row.commodity,
                    direction=row.direction, country=country, tonnes_2019=float(row.tonnes_2019),
                    growth_per_year=float(row.growth_per_year), value_usd_per_t=float(row.value_usd_per_t),
                    state_share=float(row.state_controlled_share),
                )
            )  # fmt: skip
        self.n_shippers = S = len(self.shippers)
        self.all_rows = np.arange(S)
        p, K = self.params, self.n_corridors
        value = trade["value_usd_per_t"].to_numpy(float)
        base_vot = value * p.carrying_cost_per_year / 365.0
        bulk = ~trade["commodity"].isin(("containers", "critical_minerals")).to_numpy()
        self.sh = ShipperArrays(
            shares=np.zeros((S, K)),
            state_alloc=np.zeros((S, K)),
            memory_money=np.full((S, K), np.nan),
            memory_time=np.full((S, K), np.nan),
            memory_time_var=np.zeros((S, K)),
            # three segments at the 1/6, 1/2 and 5/6 quantiles of a log-normal value of time
            vot=base_vot[:, None] * np.exp(p.vot_spread * np.array([-0.967, 0.0, 0.967]))[None, :],
            # annual contracts for containers; bulk sells on two-year contracts (A-contracts)
            renewal_rate=p.renewal_rate * np.where(bulk, 0.5, 1.0),
            state_share=trade["state_controlled_share"].to_numpy(float),
            tonnes_2019=trade["tonnes_2019"].to_numpy(float),
            growth_per_year=trade["growth_per_year"].to_numpy(float),
        )
        attrs = {a: np.array([getattr(s, a) for s in self.shippers]) for a in
                 ("origin", "market", "commodity", "direction", "country")}  # fmt: skip
        self.shipper_attrs = attrs
        self.state_rows = {c: np.flatnonzero((attrs["country"] == c) & (self.sh.state_share > 0)) for c in C5}
        self.state_cargo_rows = np.concatenate([self.state_rows[c] for c in C5])
        self.state_cargo_country = np.concatenate(
            [np.full(self.state_rows[c].size, j) for j, c in enumerate(C5)]
        )
        self.volumes = np.zeros(S)
        # each state's pipeline crude that its government may send by Caspian tanker instead
        crude = (
            (attrs["commodity"] == "crude") & (attrs["direction"] == "export") & (self.sh.state_share >= 1.0)
        )
        self.crude_rows = {c: int(np.flatnonzero(crude & (attrs["country"] == c))[0])
                           for c in C5 if (crude & (attrs["country"] == c)).any()}  # fmt: skip
        self.target = np.zeros((S, K))
        align = np.array([[p.alignment.get(c, {}).get(b, 0.5) for b in POWERS] for c in attrs["country"]])
        self.misalignment = 1.0 - align  # (S, P): the political cost's weights
        self.through = self.net.through_mask
        self.graph = routing.Graph(self.net.indptr, self.net.indices, self.through)
        self._selection_cache: dict = {}
        self._hit_cache: dict = {}
        self.country_agents = {c: CountryAgent(self, country=c, budget_usd_m_per_year=COUNTRY_BUDGETS_USD_M[c])
                               for c in C5}  # fmt: skip
        self.powers = {p: PowerAgent(self, power=p) for p in ("RU", "CN", "US", "EU")}
        base_cap = float(np.nansum(np.where(self.feeder, self.base_capacity, 0.0)))
        n_feeder_edges = max(int(self.feeder.sum()) // 2, 1)
        vessels = max(round(base_cap / n_feeder_edges / 2 / self.params.vessel_t_per_quarter), 1)
        self.operator = CaspianOperator(self, vessels=vessels)
        self.transit_states = {c: TransitStateAgent(self, country=c) for c in TRANSIT_STATES}
        # commodity groups for routing: each commodity's shippers and their origin-market pairs
        self.groups = []
        commodity = np.array([s.commodity for s in self.shippers])
        for m in COMMODITIES:
            idx = np.flatnonzero(commodity == m)
            if idx.size == 0:
                continue
            pairs = sorted({(self.shippers[i].origin, self.shippers[i].market) for i in idx})
            od = {p: j for j, p in enumerate(pairs)}
            vot = float(np.median(self.sh.vot[idx, 1]))
            self.groups.append({
                "commodity": m, "shippers": idx,
                "od_of": np.array([od[(self.shippers[i].origin, self.shippers[i].market)] for i in idx]),
                "od_matrix": np.eye(len(pairs))[[od[(self.shippers[i].origin, self.shippers[i].market)] for i in idx]],
                "origins": self.net.node_ids(p[0] for p in pairs),
                "markets": self.net.node_ids(p[1] for p in pairs),
                "masks": self.net.edge_masks(CORRIDORS, commodity=m),
                "vot": vot,
                "od": self.graph.od_pairs(self.net.node_ids(p[0] for p in pairs), self.net.node_ids(p[1] for p in pairs)),
            })  # fmt: skip
        self.routes = loading.Routes.build(self.groups, self.n_shippers, self.n_corridors)
        self.tails = self.graph.tails
        self._quote_trees = loading.TreeCache(self.routes, self.graph, self.router)
        self._round_trees = [loading.TreeCache(self.routes, self.graph, self.router)
                             for _ in range(max(self.params.route_iterations - 1, 0))]  # fmt: skip
        self.shipper_vol = np.zeros(self.n_shippers)
        self.is_transit = np.array([s.direction == "transit" for s in self.shippers])
        self.is_bulk = np.isin(commodity, BULK_COMMODITIES)

    def _allocate_tables(self) -> None:
        T, S, K, E = self.n_steps, self.n_shippers, self.n_corridors, self.net.n_edges
        self.rec = {
            "served": np.zeros((T, S, K)),
            "offered": np.zeros((T, S, K)),
            "backlog": np.zeros((T, S, K)),
            "diverted": np.zeros((T, S)),
            "demand": np.zeros((T, S)),
            "money": np.full((T, S, K), np.nan),
            "time": np.full((T, S, K), np.nan),
            "edge_flow": np.zeros((T, E)),
            "edge_container_flow": np.zeros((T, E)),
            "edge_load": np.zeros((T, E)),
            "edge_capacity": np.zeros((T, E)),
            "edge_time_h": np.zeros((T, E)),
            "edge_wait_days": np.zeros((T, E)),
            "policy": np.zeros((T, len(POLICY_COLUMNS))),
            "pipeline": np.zeros((T, len(self.inputs.pipelines))),
        }
        self.backlog = np.zeros((S, K))
        self.wait_days = np.zeros(E)
        self.expected_wait = np.zeros(E)
        self._edge_load = np.zeros(E)
        self._edge_flow = np.zeros(E)

    def _spin_up(self) -> None:
        """Repeat 2019Q1's choices and loading ``spin_up_quarters`` times, recording nothing.

        The model starts from shares chosen on free-flow quotes; without a spin-up its first
        quarters fill every queue that the freight of 2019 had long learnt to avoid. Only the
        shippers, the governments' state cargo and the queues they expect settle; no agent
        decides, no event fires and nothing is recorded (step 0 rewrites its rows).
        """
        for _ in range(self.params.spin_up_quarters):
            self._prepare_quarter(0)
            choose_shares(self, self.all_rows)
            self.countries_agents_route()
            self._load(0)
            remember_costs(self, self.all_rows)
        self.backlog[:] = 0.0

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        """Advance one quarter."""
        if self.t >= self.n_steps:
            self.running = False
            return
        t = self.t
        with routing.single_thread():
            self._prepare_quarter(t)
            # every shipper's contract decision (ShipperAgent.choose), as one batch
            choose_shares(self, self.all_rows)
            self.countries_agents_route()
            self._load(t)
            remember_costs(self, self.all_rows)
            for agent in (*self.powers.values(), self.operator, *self.transit_states.values(),
                          *self.country_agents.values()):  # fmt: skip
                agent.decide()
            if self.in_bloc and self.t % 4 == 3:
                self.fund_bloc()
        self._record_policy(t)
        self.t += 1
        if self.t >= self.n_steps:
            self.running = False

    def run(self, *, on_step: Callable[[int, int], None] | None = None) -> None:
        """Step to the end of the horizon; ``on_step(done, total)`` after each quarter."""
        with routing.single_thread():
            while self.running and self.t < self.n_steps:
                self.step()
                if on_step is not None:
                    on_step(self.t, self.n_steps)

    def countries_agents_route(self) -> None:
        """Every government's routing of its state cargo (CountryAgent.route_state_flows), as one batch."""
        route_state_cargo(self, self.state_cargo_rows, self.state_cargo_country)

    # ------------------------------------------------------------------ quarter set-up

    @property
    def year(self) -> int:
        return BASE_YEAR + self.t // 4

    def _prepare_quarter(self, t: int) -> None:
        """Edge state, this quarter's quotes per shipper and corridor, sanctions and subsidies."""
        p = self.params
        q = t % 4
        st = EdgeState.base(self.net)
        apply_edge_events(self.net, st, self.events, t, cache=self._selection_cache)
        self.volumes = self._volumes(t)
        # prices: events, Russia's tariff, transit states' fees, C5 port fees, the sea rate
        tariff = self.base_tariff * st.tariff_factor
        tariff = np.where(self.ru_rail, tariff * self.powers["RU"].tariff_factor, tariff)
        usd_per_feu, detour_days = self.inputs.sea_rate(t)
        tariff = np.where(self.sea_gateway, usd_per_feu / self.t_per_feu, tariff)
        handling = self.base_handling * st.handling_factor
        for c, agent in self.transit_states.items():  # handling at its ports, yards and borders
            handling[self.fee_links[c]] *= agent.fee_factor
        border_factor = np.ones(self.net.n_edges)
        for c, agent in self.country_agents.items():
            handling[self.port_links[c]] *= agent.port_fee_factor
            own = self.border_links[c]
            border_factor[own] = np.minimum(border_factor[own], agent.border_factor)
        self.money_e = tariff + handling
        # times: events, borders, the Red Sea detour on Suez links
        self.time_e = self.travel_h * st.time_factor + self.dwell_h * st.dwell_factor * border_factor
        self.time_e = np.where(self.suez, self.time_e + 24.0 * detour_days, self.time_e)
        # capacity this quarter: season, events, the Caspian fleet, weather and disruptions
        cap = self.base_capacity * self.season[:, q] * st.capacity_factor
        cap = np.where(self.feeder, cap * self.operator.capacity_factor, cap)
        if self.stochastic:
            weather = float(np.clip(1.0 + p.weather_sd * self.rng.standard_normal(), 0.3, 1.2))
            cap = np.where(self.caspian, cap * weather, cap)
            hit = (
                self.border
                & self.hard
                & (self.rng.random(self.net.n_edges) < p.border_disruption_probability)
            )
            cap = np.where(hit, cap * 0.5, cap)
        self.capacity_e = cap
        if self.pipe_edges.size:  # exogenous: their volume less diverted crude, capped by capacity
            want = self.pipe_volume * (1.0 + self.pipe_growth) ** (t / 4.0) / 4.0
            for c, agent in self.country_agents.items():
                own = self.tail_country[self.pipe_edges] == c
                if own.any():
                    want[np.flatnonzero(own)[0]] -= agent.crude_diversion_t_per_quarter
            want = np.maximum(want, 0.0)
            carried = np.minimum(want, np.nan_to_num(cap[self.pipe_edges], nan=np.inf))
            self.rec["pipeline"][t] = np.where(st.closed[self.pipe_edges], 0.0, carried)
        # links that do not exist yet (opens_year: CKU, Trans-Afghan rail) open only when an
        # investment that opens them is delivered, whatever the year
        self.open_e = ~st.closed & ((self.opens_year == 0) | st.opened)
        self.corridor_open = np.array([st.corridor_open[c] for c in CORRIDORS])
        self.sea_rate_usd_per_feu, self.cape_detour_days = usd_per_feu, detour_days
        self._quote(t)

    def _quote(self, t: int) -> None:
        """Least-cost path of every corridor for every shipper, and its quoted cost and time."""
        slot = self.slot
        money_s = self.money_e[slot]
        time_s = self.time_e[slot]
        wait_s = self.expected_wait[slot]
        open_s = self.open_e[slot]
        self._money_s, self._time_s = money_s, time_s
        self._route_masks = (
            self.routes.row_masks & open_s[None, :] & np.tile(self.corridor_open, len(self.groups))[:, None]
        )
        self.paths, self.quote_money, self.quote_time, self.bloc_share = loading.quote(
            self.routes, self._quote_trees, self.tails, money_s, time_s, wait_s, self.bloc_km_s,
            self._route_masks, self.n_shippers,
        )  # fmt: skip
        self.available = np.isfinite(self.quote_money) & self.corridor_open[None, :]
        self._policy_terms(t)

    def _policy_terms(self, t: int) -> None:
        """Sanction premiums and bans, subsidies and political costs per shipper and corridor."""
        S, K = self.n_shippers, self.n_corridors
        p, a = self.params, self.shipper_attrs
        self.premium = np.zeros((S, K))
        self.ban_cap = np.ones((S, K))
        self.subsidy = np.zeros((S, K))
        for sn in active_of(self.events, Sanction, t):
            hit = self._shippers_hit(sn)
            through = self.bloc_share[:, :, POWERS.index(CONTROLLER_BLOC.get(sn.transit, "neutral"))] > 0
            affected = hit[:, None] & through
            if sn.ban:
                self.ban_cap = np.where(affected, self.ban_cap * (1.0 - sn.share), self.ban_cap)
            else:
                self.premium += np.where(affected, sn.premium_usd_per_t * sn.share, 0.0)
        quote = np.where(np.isfinite(self.quote_money), self.quote_money, 0.0)
        for sb in active_of(self.events, Subsidy, t):
            hit = self._shippers_hit(sb)
            k = CORRIDORS.index(sb.corridor)
            self.subsidy[:, k] += np.where(
                hit, np.minimum(sb.usd_per_t, sb.share_of_price * quote[:, k]), 0.0
            )
        china = self.powers["CN"].subsidy_usd_per_t
        if china > 0:  # China's own response: support for China-Europe transit by rail
            for k in (CORRIDORS.index("russian"), CORRIDORS.index("middle")):
                self.subsidy[:, k] += np.where(self.is_transit, np.minimum(china, 0.3 * quote[:, k]), 0.0)
        secondary = self.powers["US"].secondary_premium_usd_per_t
        if secondary > 0:  # US secondary sanctions on the five's trade through Russia
            through = self.bloc_share[:, :, POWERS.index("russia")] > 0
            self.premium += np.where(np.isin(a["country"], C5)[:, None] & through, secondary, 0.0)
        self.political = p.political_weight_usd_per_t * (self.bloc_share * self.misalignment[:, None, :]).sum(
            axis=2
        )
        constant = np.array([p.corridor_constants.get(c, 0.0) for c in CORRIDORS])
        bulk = np.array([p.bulk_corridor_constants.get(c, 0.0) for c in CORRIDORS])
        self.corridor_constant = constant[None, :] + self.is_bulk[:, None] * bulk[None, :]  # (S, K)
        self.penalty_days = np.array([p.reliability_penalty_days.get(c, 0.0) for c in CORRIDORS])

    def _shippers_hit(self, ev: Sanction | Subsidy) -> np.ndarray:
        """Shippers an event's filters select (cached per event: the filters never change)."""
        hit = self._hit_cache.get(ev)
        if hit is None:
            a = self.shipper_attrs
            hit = np.ones(self.n_shippers, dtype=bool)
            if ev.commodities:
                hit &= np.isin(a["commodity"], ev.commodities)
            if ev.directions:
                hit &= np.isin(a["direction"], ev.directions)
            if isinstance(ev, Sanction):
                if ev.markets:
                    hit &= np.isin(a["market"], ev.markets) | np.isin(a["origin"], ev.markets)
                if ev.shipper_countries:
                    hit &= np.isin(a["country"], ev.shipper_countries)
            self._hit_cache[ev] = hit
        return hit

    # ------------------------------------------------------------------ loading

    def _load(self, t: int) -> None:
        """Offered freight on its paths; hard capacities, backlog, BPR; experienced costs."""
        p = self.params
        slot = self.slot
        cap_s = self.capacity_e[slot]
        hard_s = self.hard[slot]
        vol = self.volumes
        new, offered, diverted, loads = loading.offer(
            self.routes, self.tails, self.paths, volumes=vol, state_share=self.sh.state_share,
            shares=self.sh.shares, state_alloc=self.sh.state_alloc, target=self.target,
            available=self.available, ban_cap=self.ban_cap, backlog=self.backlog, cap_s=cap_s, hard_s=hard_s,
            prev_load_s=self._edge_load[slot], first=self.t == 0, queue_days=p.rebook_queue_days,
            give_up=min(1.0, 1.0 / p.queue_patience_quarters),
        )  # fmt: skip
        mix, loads = loading.spread(
            self.routes, self._round_trees, self.tails, self.paths, offered, loads, money_s=self._money_s,
            time_s=self._time_s, cap_s=cap_s, hard_s=hard_s, masks=self._route_masks,
            iterations=p.route_iterations,
        )  # fmt: skip
        out = loading.settle(
            self.routes, self.tails, mix, offered, loads, cap_s=cap_s, hard_s=hard_s, money_s=self._money_s,
            time_s=self._time_s, available=self.available, bpr_alpha=p.bpr_alpha, bpr_beta=p.bpr_beta,
        )  # fmt: skip
        served = out.served
        self.backlog = out.backlog
        self.exp_money = out.exp_money
        self.exp_time = out.exp_time
        self.served = served
        wait_e = np.empty_like(out.wait_s)
        wait_e[slot] = out.wait_s
        self.wait_days = wait_e
        # forwarders route by the queues they expect, smoothed like the shippers' memories:
        # routing by last quarter's queue alone sends a whole flow back and forth between
        # parallel crossings every other quarter
        w = self.params.memory_weight
        self.expected_wait = (1.0 - w) * self.expected_wait + w * wait_e
        self._edge_flow = np.empty_like(out.flows)
        self._edge_flow[slot] = out.flows
        self._edge_load = np.empty_like(loads)
        self._edge_load[slot] = loads
        time_e = np.empty_like(out.time_s)
        time_e[slot] = out.time_s
        r = self.rec
        r["served"][t] = served
        r["offered"][t] = new
        r["backlog"][t] = self.backlog
        r["diverted"][t] = diverted
        r["demand"][t] = vol
        r["money"][t] = self.exp_money - self.subsidy + self.premium
        r["time"][t] = self.exp_time
        r["edge_flow"][t] = self._edge_flow
        r["edge_container_flow"][t, slot] = out.box_flows
        r["edge_load"][t] = self._edge_load
        r["edge_capacity"][t] = self.capacity_e
        r["edge_time_h"][t] = time_e
        r["edge_wait_days"][t] = wait_e

    def _record_policy(self, t: int) -> None:
        values = [
            self.powers["RU"].tariff_factor, self.powers["CN"].subsidy_usd_per_t,
            self.powers["US"].secondary_premium_usd_per_t, self.operator.vessels,
            *(self.transit_states[c].fee_factor for c in TRANSIT_STATES),
            *(self.country_agents[c].port_fee_factor for c in C5),
            *(self.country_agents[c].border_factor for c in C5),
            self.sea_rate_usd_per_feu, self.cape_detour_days,
        ]  # fmt: skip
        self.rec["policy"][t] = values

    # ------------------------------------------------------------------ what agents read

    def transit_share(self, corridor: str) -> float:
        """Share of ``corridor`` in China-Europe transit served this quarter."""
        served = self.served[self.is_transit]
        total = served.sum()
        return float(served[:, CORRIDORS.index(corridor)].sum() / total) if total > 0 else 0.0

    def rail_share_of_transit(self) -> float:
        return self.transit_share("russian") + self.transit_share("middle")

    def caspian_utilisation(self) -> float:
        """Highest load over capacity on the Caspian container-feeder links this quarter."""
        cap = self.capacity_e[self.feeder]
        load = self._edge_load[self.feeder]
        ok = cap > 0
        return float((load[ok] / cap[ok]).max()) if ok.any() else 0.0

    def country_port_utilisation(self, country: str) -> float:
        sel = self.hard & (self.tail_country == country) & (self.capacity_e > 0)
        if not sel.any():
            return 0.0
        return float((self._edge_load[sel] / self.capacity_e[sel]).max())

    def transit_revenue(self, country: str) -> float:
        sel = self.controller == country
        return float((self._edge_flow[sel] * self.money_e[sel]).sum())

    def best_project(self, funders: tuple[str, ...], savings_usd_m: float) -> tuple[str, float] | None:
        """The affordable project naming one of ``funders`` with the best benefit per dollar.

        Benefit: the value of time saved on the project's links at today's loads (queue wait
        removed by capacity, travel time cut), four quarters a year over ten years; funded
        only if it exceeds the cost. Projects that open new links (CKU, Trans-Afghan) have no
        load to measure yet: they enter through scenario events (pledges), not this rule.
        """
        done = {
            ev.project
            for ev in self.events
            if isinstance(ev, Investment) and ev.project and ev.first_step <= self.t
        }
        vot = float(np.median([g["vot"] for g in self.groups]))
        best: tuple[float, str, float] | None = None
        for row in self.projects:
            if row.project in done or row.earliest_year > self.year or row.effect == "open":
                continue
            if self.feeder[row.edge_ids].all():  # the feeder fleet is the Caspian operator's decision
                continue
            if not set(funders) & set(row.funders):
                continue
            cost = float(row.cost_usd_m)
            if cost > savings_usd_m:
                continue
            e = row.edge_ids
            wait_saved = self._edge_load[e] * self.wait_days[e] * (1.0 - 1.0 / row.capacity_factor)
            time_saved = self._edge_flow[e] * self.time_e[e] / 24.0 * (1.0 - row.time_factor)
            benefit = 4 * 10 * vot * (wait_saved.sum() + time_saved.sum()) / 1e6
            if benefit > cost and (best is None or benefit / cost > best[0]):
                best = (benefit / cost, row.project, cost)
        return None if best is None else (best[1], best[2])

    @property
    def in_bloc(self) -> bool:
        """Whether the five act as one bloc this year."""
        start = self.params.bloc_from_year
        return start is not None and self.year >= start

    def fund_bloc(self) -> None:
        """The bloc's pooled budget funds the best project naming any of the five."""
        best = self.best_project(C5, self.bloc_savings_usd_m)
        if best is not None:
            project, cost = best
            self.bloc_savings_usd_m -= cost
            self.fund_project(project, funder="C5")

    def pipeline_route_cost(self, country: str) -> float:
        """USD/t of the country's crude by its pipeline and on by tanker to the EU, plus the
        premium sanctions put on EU-bound freight through Russia this quarter."""
        route = self._pipeline_routes.get(country)
        if route is None:
            return np.inf
        edge, exits = route
        cost = self.money_e[edge] + (self.money_e[exits].min() if exits.any() else 0.0)
        premium = 0.0
        for sn in active_of(self.events, Sanction, self.t):
            if CONTROLLER_BLOC.get(sn.transit) == "russia" and sn.applies(
                country=country, commodity="crude", direction="export", market="market_eu"
            ):
                premium += sn.premium_usd_per_t * sn.share
        return float(cost + premium)

    def tanker_headroom(self, country: str) -> float:
        """Tonnes a quarter the Caspian crude tankers from ``country`` could still carry."""
        sel = self.tanker & (self.tail_country == country)
        if not sel.any():
            return 0.0
        row = self.crude_rows[country]
        base = self.trend_volumes(self.t)[row]
        return float(max(np.nansum(self.capacity_e[sel]) - base, 0.0))

    def c5_russian_share(self) -> float:
        """Share of the five's own trade served through Russia this quarter."""
        own = np.isin(self.shipper_attrs["country"], C5)
        served = self.served[own]
        total = served.sum()
        return float(served[:, CORRIDORS.index("russian")].sum() / total) if total > 0 else 0.0

    def trend_volumes(self, t: int) -> np.ndarray:
        """Tonnes per shipper in quarter ``t`` from the 2019 flow and its trend growth alone."""
        sh = self.sh
        return sh.tonnes_2019 * (1.0 + sh.growth_per_year) ** (t / 4.0) / 4.0

    def _volumes(self, t: int) -> np.ndarray:
        """Tonnes offered per shipper in quarter ``t``: trend growth, then offtake deals.

        An offtake deal moves ``share`` of a country's exports of a commodity to the buyer's
        market, taken proportionally from its other markets.
        """
        a = self.shipper_attrs
        vol = self.trend_volumes(t)
        for c, row in self.crude_rows.items():  # crude the government took off the pipeline
            vol[row] += self.country_agents[c].crude_diversion_t_per_quarter
        for deal in active_of(self.events, OfftakeDeal, t):
            rows = (
                (a["country"] == deal.country)
                & (a["commodity"] == deal.commodity)
                & (a["direction"] == "export")
            )
            buyer = rows & (a["market"] == deal.buyer)
            others = rows & ~buyer
            total = vol[rows].sum()
            if total <= 0 or not buyer.any():
                continue
            moved = deal.share * total
            current = vol[buyer].sum()
            extra = max(moved - current, 0.0)
            if extra <= 0 or vol[others].sum() <= 0:
                continue
            take = min(extra, vol[others].sum())
            vol[others] *= 1.0 - take / vol[others].sum()
            vol[buyer] += take * vol[buyer] / current if current > 0 else take / buyer.sum()
        return vol

    def fund_project(self, project: str, *, funder: str) -> None:
        row = next(r for r in self.projects if r.project == project)
        start = quarter_label(self.t + 1)
        self.events.append(self._project_event(row, start=start, funder=funder, lag=int(row.lag_quarters)))
        self.decisions.append({"step": self.t, "agent": funder, "decision": "fund", "detail": project})


@dataclass(frozen=True, eq=False)
class _Project:
    """A row of projects.csv, as plain Python for the yearly funding decisions."""

    project: str
    name: str
    edges: tuple[int, ...]
    effect: str
    capacity_factor: float
    time_factor: float
    cost_usd_m: float
    lag_quarters: int
    earliest_year: int
    funder_hint: str
    source: str
    known_completion: str | None
    funders: tuple[str, ...]
    edge_ids: np.ndarray
