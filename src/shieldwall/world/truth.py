"""The state of the world: threats on their planned flights, who has been killed, interceptors in the
air and the resolution of each intercept. Only the simulation shell and sensors read it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.world.ballistic import Ephemeris
from shieldwall.world.flyout import position_ecef


@dataclass(frozen=True, slots=True)
class Interceptor:
    """One interceptor in flight (a salvo is several of these)."""

    id: str
    battery: str
    nation: str
    launch_s: float
    launch_ecef: np.ndarray
    aim_ecef: np.ndarray
    intercept_s: float
    pk: float
    divert_m: float
    burnout_speed_ms: float
    burn_time_s: float
    target: int  # truth threat nearest the aim point at intercept time (-1: none) — for metrics only

    def position_ecef(self, t_s: float) -> np.ndarray:
        return position_ecef(t_s - self.launch_s, self.launch_ecef, self.aim_ecef, self.burnout_speed_ms,
                             self.burn_time_s)


@dataclass(frozen=True, slots=True)
class InterceptOutcome:
    interceptor: Interceptor
    threat: int  # -1 when nothing was within the divert basket
    killed: bool
    miss_m: float
    position_ecef: np.ndarray
    note: str = ""


class Truth:
    """Threat truth (from an :class:`Ephemeris`) plus kills; draws intercept outcomes from ``rng``."""

    def __init__(self, ephemeris: Ephemeris, rcs_m2: np.ndarray, rng: np.random.Generator):
        self.ephemeris = ephemeris
        self.rcs_m2 = np.asarray(rcs_m2, float)
        self.alive = np.ones(len(rcs_m2), bool)
        self.killed_s = np.full(len(rcs_m2), np.nan)
        self._rng = rng

    def threats(self, t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """ECEF positions, velocities, in-flight mask and boosting mask of all threats at ``t_s``."""
        r, v, in_flight, boosting = self.ephemeris.state(t_s)
        in_flight = in_flight & self.alive
        return r, v, in_flight, boosting & in_flight

    def nearest_threat(self, t_s: float, point_ecef: np.ndarray, within_m: float) -> tuple[int, float]:
        """Index of the in-flight threat nearest ``point_ecef`` at ``t_s`` and its distance (-1 if none within)."""
        r, _, in_flight, _ = self.threats(t_s)
        d = np.where(in_flight, np.linalg.norm(r - point_ecef, axis=-1), np.inf)
        i = int(np.argmin(d)) if len(d) else -1
        if i < 0 or d[i] > within_m:
            return -1, float(d[i]) if i >= 0 else np.inf
        return i, float(d[i])

    def resolve(self, salvo: list[Interceptor], t_s: float) -> list[InterceptOutcome]:
        """Resolve interceptors arriving together at ``t_s``.

        Each homes on the threat nearest its aim point among those alive when the salvo arrives, if
        within its divert basket, and kills it with probability ``pk`` (independent draws). An
        interceptor whose threat an earlier one of the salvo already killed has nothing left to hit
        (outcome note "target already destroyed").
        """
        targets = [self.nearest_threat(t_s, icpt.aim_ecef, icpt.divert_m) for icpt in salvo]
        r = self.ephemeris.state(t_s)[0]
        out = []
        for icpt, (i, miss) in zip(salvo, targets):
            killed, note = False, ""
            if i < 0:
                note = "no threat within the divert basket"
            elif not self.alive[i]:
                note = "target already destroyed"
            elif self._rng.random() < icpt.pk:
                killed = True
                self.alive[i] = False
                self.killed_s[i] = t_s
            out.append(InterceptOutcome(icpt, i, killed, miss, r[i] if i >= 0 else icpt.aim_ecef, note))
        return out
