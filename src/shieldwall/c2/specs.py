"""Plain, immutable descriptions of the friendly forces a node is told about at start-up (SI units).

Built once from the scenario by the shell; nodes read them, never the scenario itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class BatterySpec:
    id: str
    nation: str
    reports_to: str
    authority: str  # "delegated" | "national_approval" | "national_only"
    tier: str
    ecef: np.ndarray  # (3,) launcher position [m]
    burnout_speed_ms: float
    burn_time_s: float
    min_alt_m: float
    max_alt_m: float
    max_range_m: float
    reaction_time_s: float
    pk: float
    divert_m: float
    fire_channels: int
    inventory: int
    defends: frozenset[str] | None  # nations whose assets it may defend; None = all


@dataclass(frozen=True, slots=True)
class AssetTable:
    """Defended assets as arrays (known to every node)."""

    ids: tuple[str, ...]
    nations: tuple[str, ...]
    ecef: np.ndarray  # (A, 3)
    radius_m: np.ndarray  # (A,)
    value: np.ndarray  # (A,)

    def of_nations(self, nations: set[str] | None) -> AssetTable:
        """The assets of ``nations`` only (None: all)."""
        if nations is None:
            return self
        keep = [k for k, n in enumerate(self.nations) if n in nations]
        return AssetTable(tuple(self.ids[k] for k in keep), tuple(self.nations[k] for k in keep),
                          self.ecef[keep].reshape(-1, 3), self.radius_m[keep], self.value[keep])


@dataclass(frozen=True, slots=True)
class DoctrineSpec:
    """Engagement doctrine and assignment settings of the planning nodes (scenario ``doctrine`` and
    ``assignment``); ``expected_threats`` are later waves as (asset id, count, probability)."""

    salvo_size: int
    high_value_salvo_size: int
    high_value_threshold: float
    shoot_look_shoot: bool
    kill_assessment_delay_s: float
    allow_duplicate_engagements: bool
    decision_period_s: float
    min_raid_negation: float = 0.0
    interceptor_cost: tuple[tuple[str, float], ...] = ()  # (tier, cost in units of asset value)
    solver: str = "auto"
    planning: str = "one-shot"
    expected_threats: tuple[tuple[str, int, float], ...] = ()

    def cost_of(self, tier: str) -> float:
        """Cost of one interceptor of ``tier`` (0 when the doctrine gives none)."""
        return dict(self.interceptor_cost).get(tier, 0.0)
