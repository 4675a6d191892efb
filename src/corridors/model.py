"""CorridorModel: the schedule of a quarter, the agents, and the recorded tables.

A step (one quarter), in this order:

1. the market of the quarter (:mod:`corridors.market`): the events' state of the links,
   the offered volumes, prices, times and capacities, every shipper's least-cost path and
   quote on every corridor (:func:`corridors.quotes.quote_quarter`), and the policy terms;
2. the shippers choose contract shares and the governments route their state cargo, from
   a read-only :class:`~corridors.view.QuarterView`;
3. the freight is loaded (:mod:`corridors.loading`: offer, spread over parallel routes,
   settle on hard capacities), giving served freight, backlog and experienced costs;
4. the shippers remember what they experienced; powers, the Caspian operator, transit
   states, the five governments and their bloc decide, each from the loaded view; the
   projects they funded join the timeline;
5. the tables are recorded.

Per-step tables go into preallocated arrays; :mod:`corridors.results` turns them into
DataFrames. Corridors do not reach an equilibrium within a step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import mesa
import numpy as np

from corridors import loading, routing
from corridors.agents import (
    BlocAgent,
    CaspianOperator,
    ChoiceTerms,
    CountryAgent,
    PowerAgent,
    ShipperAgent,
    ShipperArrays,
    StateCargo,
    TransitStateAgent,
    choose_shares,
    observe_quotes,
    policy_levers,
    remember_costs,
    route_state_cargo,
    target_shares,
)
from corridors.bans import rebook
from corridors.events import Event, OfftakeDeal, Sanction, Subsidy
from corridors.inputs import Inputs, load_inputs, packaged_inputs
from corridors.known_events import baseline_events
from corridors.layout import Layout, read_only
from corridors.market import offered_volumes, pipeline_flows, policy_terms, quarter_links
from corridors.network import Network, packaged_network
from corridors.parameters import Parameters
from corridors.quotes import quote_quarter
from corridors.run_record import (
    SHIPPER_KEYS,
    STEP_ARRAYS,
    YEAR_ARRAY,
    ChoiceLog,
    CostTerms,
    RunRecord,
    allocate_steps,
    write_choices,
    write_loading,
)
from corridors.settling import Settled
from corridors.timeline import Timeline
from corridors.trees import TreeBuffers, TreeCache
from corridors.view import QuarterView
from corridors.vocabulary import BASE_YEAR, C5, CORRIDORS, LAST_YEAR, POWERS, TRANSIT_STATES

__all__ = ["DECISION_ORDER", "POLICY_COLUMNS", "CorridorModel", "rebook_quarter"]

DECISION_ORDER = (PowerAgent, CaspianOperator, TransitStateAgent, CountryAgent, BlocAgent)
"""The kinds of agent that decide after the loading, in their order: the powers' levers and
budgets, the Caspian fleet, the transit states' fees, the five governments (which hand
their budgets to the bloc), then the bloc."""

# Yearly infrastructure budget each state can put into corridor projects, USD m (A-budgets).
COUNTRY_BUDGETS_USD_M = {"KZ": 400.0, "UZ": 250.0, "TM": 120.0, "KG": 40.0, "TJ": 30.0}
POLICY_COLUMNS = (
    "russia_tariff_factor",
    "china_subsidy_usd_per_t",
    "us_secondary_premium_usd_per_t",
    "russia_avoidance_share",
    "caspian_vessels",
    *(f"fee_factor_{c}" for c in TRANSIT_STATES),
    *(f"port_fee_factor_{c}" for c in C5),
    *(f"border_factor_{c}" for c in C5),
    "sea_rate_usd_per_feu",
    "cape_detour_days",
)


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
        A module or object with :func:`corridors.routing.shortest_path_trees` (default:
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
        if not BASE_YEAR <= end_year <= LAST_YEAR:
            raise ValueError(f"end_year: must be between {BASE_YEAR} and {LAST_YEAR}, got {end_year}")
        self.params = p = params or Parameters()
        if network is None:
            network = packaged_network()
            inputs = inputs or packaged_inputs()
        self.net = network
        self.inputs = inputs or load_inputs(self.net)
        self.layout = L = Layout.of(self.net, self.inputs)
        self.stochastic = stochastic
        self.end_year = end_year
        self.n_steps = (end_year - BASE_YEAR + 1) * 4
        self.n_corridors = K = len(CORRIDORS)
        self.t = 0
        self._one_thread = False
        base = list(baseline_events(p)) if events is None else list(events)
        self.timeline = Timeline(
            self.net, base, projects=L.projects, params=p, rng=self.rng, stochastic=stochastic
        )
        self.decisions = self.timeline.decisions
        S = L.n_shippers
        self.all_rows = np.arange(S)
        commodity = L.shipper["commodity"]
        self.sh = ShipperArrays.create(
            p,
            L.value_usd_per_t,
            ~np.isin(commodity, ("containers", "critical_minerals")),
            K,
            commodity == "containers",
        )
        self.cargo = StateCargo(np.zeros((S, K)))
        self._create_agents(agents or {})
        self._routes(router)
        align = np.array([[p.alignment.get(c, {}).get(b, 0.5) for b in POWERS] for c in L.shipper["country"]])
        self.misalignment = 1.0 - align  # (S, P): the political cost's weights
        constant = np.array([p.corridor_constants.get(c, 0.0) for c in CORRIDORS])
        bulk = np.array([p.bulk_corridor_constants.get(c, 0.0) for c in CORRIDORS])
        self.corridor_constant = constant[None, :] + L.is_bulk[:, None] * bulk[None, :]  # (S, K)
        self.penalty_days = np.array([p.reliability_penalty_days.get(c, 0.0) for c in CORRIDORS])
        self._allocate_tables()
        with routing.single_thread():
            self._prepare_quarter(0)
            observe_quotes(self.sh, self.view, self.all_rows)
            self.sh.target[:] = self.sh.shares[:] = target_shares(
                self.sh, self.view, self.terms, p, self.all_rows
            )
            self.countries_agents_route()
            self._spin_up()

    # ------------------------------------------------------------------ set-up

    def _create_agents(self, settings: dict[str, dict[str, float]]) -> None:
        L = self.layout
        self.shippers = ShipperAgent.for_layout(self, self.sh, L)
        self.country_agents = {
            c: CountryAgent(
                self,
                country=c,
                budget_usd_m_per_year=COUNTRY_BUDGETS_USD_M[c],
                state_rows=L.state_rows[c],
                cargo=self.cargo,
            )
            for c in C5
        }
        for country, values in settings.items():
            agent = self.country_agents[country]
            agent.border_factor = float(values.get("border_efficiency", agent.border_factor))
            agent.budget_usd_m_per_year = float(
                values.get("budget_usd_m_per_year", agent.budget_usd_m_per_year)
            )
            agent.port_fee_factor = float(values.get("port_fee_factor", agent.port_fee_factor))
        self.powers = {p: PowerAgent(self, power=p) for p in ("RU", "CN", "US", "EU")}
        base_cap = float(np.nansum(np.where(L.feeder, L.base_capacity, 0.0)))
        n_feeder_edges = max(int(L.feeder.sum()) // 2, 1)
        vessels = max(round(base_cap / n_feeder_edges / 2 / self.params.vessel_t_per_quarter), 1)
        self.operator = CaspianOperator(self, vessels=vessels)
        self.transit_states = {c: TransitStateAgent(self, country=c) for c in TRANSIT_STATES}
        self.bloc = BlocAgent(self, members=tuple(self.country_agents.values()))
        self.state_cargo_rows = np.concatenate([L.state_rows[c] for c in C5])
        self.state_cargo_owner = np.concatenate([np.full(L.state_rows[c].size, j) for j, c in enumerate(C5)])

    def _routes(self, router: Any) -> None:
        """Routing rows of the commodity groups, each at its shippers' median value of time."""
        L = self.layout
        vot = np.array([np.median(self.sh.vot[g["shippers"], 1]) for g in L.groups])
        # the funders appraise projects at each flow's own value of time: its segments' values
        # weighted by their shares of the flow (agents.states.appraise)
        self.project_vot = (self.sh.vot * self.sh.weight).sum(axis=1)
        read_only(self.project_vot)
        self.graph = L.graph
        self.routes = L.routes.with_vot(vot)
        self._quote_trees = TreeCache(self.routes, self.graph, router)
        n_rounds = max(self.params.route_iterations - 1, 0)
        # our Dijkstra's rounds refresh the quote's trees in place; another router's rounds each
        # keep their own trees
        n_buffers = 0 if router is None or router is routing else n_rounds
        self._rounds = TreeBuffers.allocate(n_buffers, self.routes, self.graph.n_nodes)
        self._round_trees = [
            TreeCache(self.routes, self.graph, router, buffers=self._rounds, index=i)
            for i in range(n_buffers)
        ]

    def _allocate_tables(self) -> None:
        T, S, K, E = self.n_steps, self.layout.n_shippers, self.n_corridors, self.net.n_edges
        self.rec = allocate_steps(T, S, K, E, len(POLICY_COLUMNS), len(self.inputs.pipelines))
        self.choices = ChoiceLog(T, S, K)
        self.backlog = np.zeros((S, K))
        self.outcome = Settled.empty(S, K, E, len(self.layout.groups))
        self.expected_wait = np.zeros(E)
        self.quote_wait = np.zeros((S, K))  # the queue wait in this quarter's quotes, days
        self.refusals: list[tuple] = []  # (step, agent, "refuse", reason) of the reviews that funded nothing
        self._masks_of = None

    def _spin_up(self) -> None:
        """Repeat 2019Q1's choices and loading ``spin_up_quarters`` times, recording nothing.

        The model starts from shares chosen on free-flow quotes; without a spin-up its first
        quarters fill every queue that the freight of 2019 had long learnt to avoid. Only the
        shippers, the governments' state cargo and the queues they expect settle; no agent
        decides, no event fires and nothing is recorded (step 0 rewrites its rows).
        """
        for _ in range(self.params.spin_up_quarters):
            self._prepare_quarter(0)
            choose_shares(self.sh, self.cargo, self.view, self.terms, self.params, self.all_rows)
            self.countries_agents_route()
            self._load(0)
            remember_costs(self.sh, self.view, self.params, self.all_rows)
        self.backlog = np.zeros_like(self.backlog)
        self.rec[YEAR_ARRAY][:] = 0.0  # summed over quarters: the spin-up's are not the run's

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        """Advance one quarter."""
        if self.t >= self.n_steps:
            self.running = False
            return
        t, p = self.t, self.params
        with nullcontext() if self._one_thread else routing.single_thread():
            self._prepare_quarter(t)
            # every shipper's contract decision (ShipperAgent.choose), as one batch
            choose_shares(self.sh, self.cargo, self.view, self.terms, p, self.all_rows)
            self.countries_agents_route()
            write_choices(
                self.choices, t, self.sh, self.cargo, self.layout.state_share, self.view, self.quote_wait
            )
            self._load(t)
            remember_costs(self.sh, self.view, p, self.all_rows)
            funders = [*self.powers.values(), *self.country_agents.values(), self.bloc]
            before = [(len(a.funded), len(a.refusals)) for a in funders]
            for kind in DECISION_ORDER:  # Mesa's agent sets, in the order a quarter needs
                self.agents_by_type[kind].do("decide", self.view, p, self.project_vot)
            for agent, (n, m) in zip(funders, before, strict=True):
                label = getattr(agent, "power", None) or getattr(agent, "country", None) or "C5"
                for project in agent.funded[n:]:
                    row = next(r for r in self.layout.projects if r.project == project)
                    self.timeline.fund(row, step=t, funder=label)
                self.refusals.extend((t, label, "refuse", reason) for reason in agent.refusals[m:])
        self._record_policy(t)
        self.t += 1
        if self.t >= self.n_steps:
            self.running = False

    def run(self, *, on_step: Callable[[int, int], None] | None = None) -> RunRecord:
        """Step to the end of the horizon and return the record of the run.

        Parameters
        ----------
        on_step : callable, optional
            Called as ``on_step(done, total)`` after each quarter.

        Returns
        -------
        RunRecord
            What the run recorded (:meth:`record`), for :meth:`corridors.Results.from_record`.
        """
        with routing.single_thread():
            self._one_thread = True  # the kernels already run on one thread: no switch a step
            try:
                while self.running and self.t < self.n_steps:
                    self.step()
                    if on_step is not None:
                        on_step(self.t, self.n_steps)
            finally:
                self._one_thread = False
        return self.record()

    def record(self) -> RunRecord:
        """Return the recorded arrays of the steps run so far, and what they are indexed by."""
        return record_of(self)

    def countries_agents_route(self) -> None:
        """Every government's routing of its state cargo (CountryAgent.route_state_flows), as one batch."""
        route_state_cargo(
            self.cargo,
            self.sh,
            self.view,
            self.terms,
            self.params,
            self.state_cargo_rows,
            self.state_cargo_owner,
        )

    # ------------------------------------------------------------------ the quarter's market

    def _prepare_quarter(self, t: int) -> None:
        """Links, volumes, quotes and policy terms of quarter ``t``; the agents' view of them."""
        p, L, tl = self.params, self.layout, self.timeline
        state = tl.edge_state(t)
        diverted = {c: a.crude_diversion_t_per_quarter for c, a in self.country_agents.items()}
        volumes = offered_volumes(L, t, tl.active(OfftakeDeal, t), diverted)
        weather = disrupted = None
        if self.stochastic:
            weather = min(max(1.0 + p.weather_sd * float(self.rng.standard_normal()), 0.3), 1.2)
            disrupted = L.border & L.hard & (self.rng.random(L.n_edges) < p.border_disruption_probability)
        ru, cn, us = self.powers["RU"], self.powers["CN"], self.powers["US"]
        links = quarter_links(
            L,
            state,
            t,
            sea_rate=self.inputs.sea_rate(t),
            russia_tariff_factor=ru.tariff_factor,
            transit_fee_factors={c: a.fee_factor for c, a in self.transit_states.items()},
            port_fee_factors={c: a.port_fee_factor for c, a in self.country_agents.items()},
            border_factors={c: a.border_factor for c, a in self.country_agents.items()},
            feeder_factor=self.operator.capacity_factor,
            weather=weather,
            disrupted=disrupted,
        )
        if L.pipe_edges.size:  # exogenous: their volume less diverted crude, capped by capacity
            self.rec["pipeline"][t] = pipeline_flows(L, state, links.capacity, t, diverted)
        self.links = links
        slot = L.slot
        if state is not self._masks_of:  # the links open to each routing row change only with events
            corridor_open = np.tile(links.corridor_open, len(self.routes.group_od) - 1)
            self._masks = self.routes.row_masks & links.open[slot][None, :] & corridor_open[:, None]
            self._masks_of = state
        self.paths, quote_money, quote_time, bloc_share = quote_quarter(
            self.routes,
            self._quote_trees,
            links.money[slot],
            links.time[slot],
            self.expected_wait[slot],
            L.bloc_km_s,
            self._masks,
            wait_out=self.quote_wait,
        )
        available = np.isfinite(quote_money) & links.corridor_open[None, :]
        sanctions = tl.active(Sanction, t)
        terms = policy_terms(
            L,
            sanctions,
            tl.active(Subsidy, t),
            quote_money=quote_money,
            bloc_share=bloc_share,
            china_subsidy_usd_per_t=cn.subsidy_usd_per_t,
            us_secondary_premium_usd_per_t=us.secondary_premium_usd_per_t,
            misalignment=self.misalignment,
            political_weight=p.political_weight_usd_per_t,
            cache=tl.cache,
            evolving_share=self.powers["EU"].avoidance,  # the avoidance ban's share: the EU's state
        )
        self.view = QuarterView.before_loading(
            links=links,
            terms=terms,
            outcome=self.outcome,
            t=t,
            layout=L,
            quote_money=quote_money,
            in_bloc=p.bloc_from_year is not None and BASE_YEAR + t // 4 >= p.bloc_from_year,
            quote_time=quote_time,
            available=available,
            bloc_share=bloc_share,
            volumes=volumes,
            sanctions=tuple(sanctions),
            done_projects=tl.done_projects(t),
            cache=tl.cache,
        )
        self.terms = ChoiceTerms.of(self.view, self.corridor_constant, self.penalty_days)

    def _load(self, t: int) -> None:
        """Offered freight on its paths; hard capacities, backlog, BPR; experienced costs."""
        p, v, L = self.params, self.view, self.layout
        slot = L.slot
        cap_s, hard_s = v.capacity[slot], L.hard[slot]
        money_s, time_s = v.money[slot], v.time[slot]
        new, diverted, o = loading.load_quarter(
            self.routes,
            self._quote_trees,
            self._round_trees,
            volumes=v.volumes,
            state_share=L.state_share,
            shares=self.sh.shares,
            state_alloc=self.cargo.alloc,
            target=self.sh.target,
            available=v.available,
            ban_cap=v.ban_cap,
            backlog=self.backlog,
            cap_s=cap_s,
            hard_s=hard_s,
            money_s=money_s,
            time_s=time_s,
            masks=self._masks,
            prev_load_s=self.outcome.load_e[slot],
            first=self.t == 0,
            queue_days=p.rebook_queue_days,
            give_up=min(1.0, 1.0 / p.queue_patience_quarters),
            iterations=p.route_iterations,
            bpr_alpha=p.bpr_alpha,
            bpr_beta=p.bpr_beta,
            slot=slot,
            round_buffers=self._rounds,
        )
        self.outcome = o
        self.backlog = o.backlog
        # forwarders route by the queues they expect, smoothed like the shippers' memories:
        # routing by last quarter's queue alone sends a whole flow back and forth between
        # parallel crossings every other quarter
        w = p.memory_weight
        self.expected_wait = (1.0 - w) * self.expected_wait + w * o.wait_e
        self.view = v.loaded_by(o)
        write_loading(self.rec, t, v, o, new, diverted, slot)

    def _record_policy(self, t: int) -> None:
        levers = policy_levers(self.powers, self.operator, self.transit_states, self.country_agents)
        self.rec["policy"][t] = [*levers, self.links.sea_rate_usd_per_feu, self.links.cape_detour_days]

    # ------------------------------------------------------------------ read-only views

    @property
    def year(self) -> int:
        """The year of step ``t`` (``BASE_YEAR + t // 4``)."""
        return BASE_YEAR + self.t // 4

    @property
    def events(self) -> list[Event]:
        """The run's timeline: the scenario's events, delivered pledges, projects funded."""
        return self.timeline.events

    n_shippers = property(lambda self: self.layout.n_shippers)
    shipper_attrs = property(lambda self: self.layout.shipper)
    is_transit = property(lambda self: self.layout.is_transit)
    gateway = property(lambda self: self.layout.gateway)
    hard = property(lambda self: self.layout.hard)
    caspian = property(lambda self: self.layout.caspian)
    feeder = property(lambda self: self.layout.feeder)
    available = property(lambda self: self.view.available)
    bloc_share = property(lambda self: self.view.bloc_share)
    served = property(lambda self: self.view.served)


def rebook_quarter(model: CorridorModel, moved: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Re-book ``moved`` freight on the paths the model's trees hold (:func:`corridors.bans.rebook`).

    Before a quarter's loading they are its quoted paths; after a step, those of its last
    loading round (the rounds refresh the quote's trees in place).

    Parameters
    ----------
    model : CorridorModel
        A model stepped into a quarter (its quotes and last loads are read).
    moved : numpy.ndarray
        Tonnes ``(S, K)`` a ban moved off each shipper's corridors.
    allowed : numpy.ndarray
        ``(S, K)``: where the moved freight may go.

    Returns
    -------
    numpy.ndarray
        The tonnes ``(S, K)`` booked on each corridor.
    """
    slot = model.layout.slot
    return rebook(
        model.routes,
        model.graph.tails,
        model.paths,
        moved,
        allowed,
        target=model.sh.target,
        cap_s=model.view.capacity[slot],
        hard_s=model.layout.hard[slot],
        prev_load_s=model.outcome.load_e[slot],
        first=model.t == 0,
        queue_days=model.params.rebook_queue_days,
    )


def record_of(model: CorridorModel) -> RunRecord:
    """Return the :class:`RunRecord` of ``model``'s steps so far (:meth:`CorridorModel.record`)."""
    m = model
    T, L, net = m.t, m.layout, m.net
    return RunRecord(
        arrays={name: m.rec[name][:T] for name in STEP_ARRAYS}
        | {YEAR_ARRAY: m.rec[YEAR_ARRAY][: (T + 3) // 4]},
        n_steps=T,
        end_year=m.end_year,
        stochastic=m.stochastic,
        shippers={c: L.shipper[c].tolist() for c in SHIPPER_KEYS},
        policy_columns=POLICY_COLUMNS,
        pipelines=tuple(str(p) for p in m.inputs.pipelines["pipeline"]),
        decisions=[tuple(d.values()) for d in m.decisions],
        gateway=L.gateway,
        hard=L.hard,
        middle_caspian_edges=tuple(L.kz_port_exits.tolist()),
        kz_caspian_edges=tuple(L.kz_port_ends.tolist()),
        observed_edges=L.observed_edges,
        t_per_teu=float(net.unit("t_per_teu_loaded")),
        cost_terms=CostTerms(
            vot_usd_per_t_day=(m.sh.vot * m.sh.weight).sum(axis=1),
            constant=m.corridor_constant,
            penalty_days=m.penalty_days,
            reliability_weight=float(m.params.reliability_weight),
        ),
        refusals=list(m.refusals),
        edge_names=L.edge_names,
        choices=m.choices.upto(T),
    )
