"""The model's agents and their decisions (Mesa 3).

Agents decide from a :class:`~corridors.view.QuarterView`, a typed, read-only view of the
quarter (quotes, policy terms, loads), and each writes only its own state:

- :class:`ShipperAgent`: one per (origin, market, commodity, direction) flow; chooses
  corridor shares by discrete choice from its memory of experienced costs, renews a part
  of its contracts each quarter, breaks contracts at once under a ban. The shippers'
  state is held as rows of one :class:`ShipperArrays`, so that their rules run as one
  batch (a Numba kernel); an agent's own method runs the same rule on its row.
- :class:`CountryAgent`: one per C5 state; routes the state-controlled part of its flows
  by strategic preference (cost, diversification away from any one power, alignment) into
  :class:`StateCargo`; sets port fees and border efficiency; funds projects that cut its
  shippers' costs most; diverts pipeline crude to Caspian tankers.
- :class:`PowerAgent`: Russia (1520 tariff response), China (rail subsidies), the US and
  the EU (sanctions, pledges, offtake deals).
- :class:`CaspianOperator`: adds feeder vessels after a lag when utilisation stays high.
- :class:`TransitStateAgent`: Azerbaijan, Georgia, Turkey set handling fees for revenue.
- :class:`BlocAgent`: the five acting as one bloc pool their project budgets and fund the
  best project for all of them.

Modules: :mod:`~corridors.agents.rules` (the batched rules and the arrays they act on),
:mod:`~corridors.agents.shippers`, :mod:`~corridors.agents.states`,
:mod:`~corridors.agents.powers`, :mod:`~corridors.agents.base`.

Projects an agent funds are listed in its ``funded``; the model turns them into
investments after every agent has decided.
"""

from corridors.agents.base import CorridorAgent
from corridors.agents.powers import CaspianOperator, PowerAgent
from corridors.agents.rules import (
    ChoiceTerms,
    ShipperArrays,
    StateCargo,
    apply_caps,
    ban_split,
    choose_shares,
    observe_quotes,
    relative_cost_logit,
    remember_costs,
    route_state_cargo,
    target_shares,
)
from corridors.agents.shippers import ShipperAgent
from corridors.agents.states import (
    BlocAgent,
    CountryAgent,
    TransitStateAgent,
    appraise,
    appropriate,
    best_project,
)
from corridors.vocabulary import C5, TRANSIT_STATES

__all__ = [
    "BlocAgent",
    "CaspianOperator",
    "ChoiceTerms",
    "CorridorAgent",
    "CountryAgent",
    "PowerAgent",
    "ShipperAgent",
    "ShipperArrays",
    "StateCargo",
    "TransitStateAgent",
    "apply_caps",
    "appraise",
    "appropriate",
    "ban_split",
    "best_project",
    "choose_shares",
    "observe_quotes",
    "policy_levers",
    "relative_cost_logit",
    "remember_costs",
    "route_state_cargo",
    "target_shares",
]


def policy_levers(
    powers: dict, operator: CaspianOperator, transit_states: dict, countries: dict
) -> list[float]:
    """Return the agents' levers this quarter, in the order of ``corridors.model.POLICY_COLUMNS``.

    Parameters
    ----------
    powers : dict
        ``RU``, ``CN``, ``US`` and ``EU``'s :class:`PowerAgent`.
    operator : CaspianOperator
        The Caspian feeder operator.
    transit_states, countries : dict
        :class:`TransitStateAgent` by transit state and :class:`CountryAgent` by C5 state.

    Returns
    -------
    list of float
        Russia's tariff factor, China's subsidy, the US premium, the EU-linked transit's
        avoidance of Russia, the feeder vessels, each
        transit state's fee factor, each C5 state's port fee factor and border factor.
    """
    return [
        powers["RU"].tariff_factor,
        powers["CN"].subsidy_usd_per_t,
        powers["US"].secondary_premium_usd_per_t,
        powers["EU"].avoidance,
        operator.vessels,
        *(transit_states[c].fee_factor for c in TRANSIT_STATES),
        *(countries[c].port_fee_factor for c in C5),
        *(countries[c].border_factor for c in C5),
    ]
