"""The shippers: one agent per (origin, market, commodity, direction) flow."""

from __future__ import annotations

import mesa
import numpy as np

from corridors.agents.base import CorridorAgent
from corridors.agents.rules import ChoiceTerms, ShipperArrays, StateCargo, choose_shares, remember_costs
from corridors.layout import Layout
from corridors.parameters import Parameters
from corridors.view import QuarterView

__all__ = ["ShipperAgent"]


class ShipperAgent(CorridorAgent):
    """Freight of one origin, market, commodity and direction, standing for many firms.

    State: the agent's row ``index`` of the shippers' :class:`ShipperArrays` (contract
    shares, memory of money cost, transit time and its variability per corridor, three
    value-of-time segments, contract renewal rate), so that the decisions of all shippers
    can run as one batch. The state-controlled part of the flow (``state_share``) is routed
    by the shipper's :class:`CountryAgent`.
    """

    @classmethod
    def for_layout(cls, model: mesa.Model, arrays: ShipperArrays, layout: Layout) -> list[ShipperAgent]:
        """Create one shipper per trade flow of ``layout``, in its order.

        Parameters
        ----------
        model : mesa.Model
            The model the agents belong to.
        arrays : ShipperArrays
            The shippers' state; agent ``i`` owns its row ``i``.
        layout : Layout
            The trade flows (:attr:`~corridors.layout.Layout.shipper` and their tonnes,
            growth, value and state share).

        Returns
        -------
        list of ShipperAgent
        """
        a, L = layout.shipper, layout
        return [
            cls(
                model,
                index=i,
                arrays=arrays,
                origin=a["origin"][i],
                market=a["market"][i],
                commodity=a["commodity"][i],
                direction=a["direction"][i],
                country=a["country"][i],
                tonnes_2019=float(L.tonnes_2019[i]),
                growth_per_year=float(L.growth_per_year[i]),
                value_usd_per_t=float(L.value_usd_per_t[i]),
                state_share=float(L.state_share[i]),
            )
            for i in range(L.n_shippers)
        ]

    def __init__(
        self,
        model: mesa.Model,
        *,
        index: int,
        arrays: ShipperArrays,
        origin: str,
        market: str,
        commodity: str,
        direction: str,
        country: str,
        tonnes_2019: float,
        growth_per_year: float,
        value_usd_per_t: float,
        state_share: float,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.arrays = arrays
        self.origin = origin
        self.market = market
        self.commodity = commodity
        self.direction = direction
        self.country = country
        self.tonnes_2019 = tonnes_2019
        self.growth_per_year = growth_per_year
        self.value_usd_per_t = value_usd_per_t
        self.state_share = state_share

    @property
    def shares(self) -> np.ndarray:
        """Contracted share of the private freight per corridor (sums to 1 or 0)."""
        return self.arrays.shares[self.index]

    @property
    def memory_money(self) -> np.ndarray:
        """Remembered money per corridor, USD/t (NaN: never known)."""
        return self.arrays.memory_money[self.index]

    @property
    def memory_time(self) -> np.ndarray:
        """Remembered time per corridor, days (NaN: never known)."""
        return self.arrays.memory_time[self.index]

    @property
    def vot(self) -> np.ndarray:
        """Value of time of the three segments, USD per tonne-day."""
        return self.arrays.vot[self.index]

    def volume_t(self, view: QuarterView) -> float:
        """Trend tonnes of this flow in the view's quarter (before offtake deals and crude diversion)."""
        return view.layout.trend_volume(view.t, self.index)

    def choose(self, view: QuarterView, terms: ChoiceTerms, cargo: StateCargo, params: Parameters) -> None:
        """Renew a part of the contracts at the target shares (:func:`choose_shares` on this row)."""
        choose_shares(self.arrays, cargo, view, terms, params, np.array([self.index]))

    def remember(self, view: QuarterView, params: Parameters) -> None:
        """Update the memory of the corridors used this quarter (:func:`remember_costs` on this row)."""
        remember_costs(self.arrays, view, params, np.array([self.index]))
