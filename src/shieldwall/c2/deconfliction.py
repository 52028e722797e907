"""The engagement book a planning node keeps: its own orders, other nodes' engagements (from status
broadcasts), kill assessment after each intercept, and which tracks are therefore off limits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shieldwall.c2.node import Record
from shieldwall.comms.messages import EngagementOrder, EngagementStatus

#: Same-threat gate (:meth:`EngagementBook.engaged_mask`): a track whose predicted position at an open
#: engagement's intercept time lies within GATE_SIGMAS standard deviations of its aim point is taken
#: for the engaged threat; the gate is kept within [MIN_GATE_M, SAME_THREAT_GATE_M] [m].
SAME_THREAT_GATE_M = 25_000.0
MIN_GATE_M = 5_000.0
GATE_SIGMAS = 3.0
#: A track updated this long [s] after the planned intercept time has survived it.
SURVIVAL_MARGIN_S = 0.5


@dataclass(slots=True)
class Engagement:
    order_id: str
    battery: str
    track: int  # in the owner's numbering; -1 for other nodes' engagements
    aim_ecef: np.ndarray
    intercept_s: float
    shots: int
    state: str  # "ordered" | "launched"
    known: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # the owner's tracks when it
    # ordered (other objects, then)


class EngagementBook:
    """Open engagements and assessed kills of one planning node."""

    def __init__(self, ka_delay_s: float):
        self.ka_delay_s = ka_delay_s
        self._own: dict[str, Engagement] = {}
        self._others: dict[str, Engagement] = {}
        self.killed: set[int] = set()
        self.version = 0  # counts changes, so a planner can tell whether the book moved since it looked

    def next_change_s(self, t_s: float) -> float:
        """The next time [s] after ``t_s`` at which an own engagement's intercept time passes and its
        fire channel frees (inf if none); every other change of the book bumps :attr:`version`."""
        return min((e.intercept_s for e in self._own.values() if e.intercept_s > t_s), default=np.inf)

    def add_order(self, order: EngagementOrder, known_tracks: np.ndarray | None = None) -> None:
        """Book an own order; ``known_tracks``: the node's track numbers when it ordered (tracks it then
        judged to be other objects)."""
        self.version += 1
        known = np.asarray(known_tracks if known_tracks is not None else (), np.int64)
        self._own[order.order_id] = Engagement(order.order_id, order.battery, order.track, order.aim_ecef,
                                               order.intercept_s, order.shots, "ordered", known)

    def observe(self, status: EngagementStatus) -> Engagement | None:
        """Fold a status message into the book (own orders by id; others' by position). Another node's
        ``reserved`` order or ``launched`` engagement puts its threat off limits until kill assessment;
        its failure (any other status) lifts the reservation.

        Returns the own engagement an order failure (anything but ``launched``) cancels, so the planner
        can take its shots back into its inventory; None otherwise.
        """
        self.version += 1
        own = status.order_id in self._own
        book = self._own if own else self._others
        if status.status in ("launched", "reserved"):  # a reservation: another node's order, not yet fired
            state = "launched" if status.status == "launched" else "ordered"
            entry = book.get(status.order_id)
            if entry is None:
                book[status.order_id] = Engagement(status.order_id, status.battery, -1, status.target_ecef,
                                                   status.intercept_s, status.shots, state)
            elif state == "launched":
                entry.state, entry.shots = "launched", status.shots
            return None
        cancelled = book.pop(status.order_id, None)
        return cancelled if own else None

    def busy_channels(self, battery_ids: list[str], t_s: float) -> np.ndarray:
        """Fire channels (B,) each battery has committed to own engagements not yet intercepted at ``t_s``."""
        index = {b: i for i, b in enumerate(battery_ids)}
        busy = np.zeros(len(battery_ids), int)
        for e in self._own.values():
            if e.intercept_s > t_s and e.battery in index:
                busy[index[e.battery]] += 1
        return busy

    def own_engagements(self) -> list[Engagement]:
        return list(self._own.values())

    def assess(self, t_s: float, track_ids: np.ndarray, t_update_s: np.ndarray) -> list[Record]:
        """Kill assessment of own launched engagements whose look time has come.

        A track still updated after the intercept time survived (its track becomes eligible again:
        shoot-look-shoot); a track that stopped updating, or vanished, is assessed killed.
        """
        records: list[Record] = []
        last = dict(zip(track_ids.tolist(), t_update_s.tolist()))
        for key, e in list(self._own.items()):
            if e.state != "launched" or t_s < e.intercept_s + self.ka_delay_s:
                if e.state == "ordered" and t_s > e.intercept_s:
                    del self._own[key]  # never launched (lost, refused or expired)
                    self.version += 1
                continue
            del self._own[key]
            self.version += 1
            survived = last.get(e.track, -np.inf) > e.intercept_s + SURVIVAL_MARGIN_S
            if not survived:
                self.killed.add(e.track)
            records.append(Record("kill_assessment", {"track": e.track, "battery": e.battery, "order": e.order_id,
                                                      "detail": "survived" if survived else "killed"}))
        for key, e in list(self._others.items()):
            if t_s > e.intercept_s + self.ka_delay_s:
                del self._others[key]
                self.version += 1
        return records

    def intercept_grid_s(self, t0_s: float, step_s: float) -> np.ndarray:
        """The open engagements' intercept times [s] rounded up to the grid ``t0_s + k * step_s`` (k >= 0),
        sorted and unique: the times :meth:`engaged_mask` looks at on trajectories sampled on that grid."""
        when = np.array([e.intercept_s for e in (*self._own.values(), *self._others.values())])
        return np.unique(t0_s + step_s * np.maximum(np.ceil((when - t0_s) / step_s - 1e-9), 0.0))

    def engaged_mask(self, track_ids: np.ndarray, times_s: np.ndarray, r_ecef: np.ndarray,
                     P: np.ndarray | None = None, t_s: float | None = None) -> np.ndarray:
        """Tracks (T,) that are engaged, killed, or aimed at by an open engagement.

        ``times_s`` (K,) and ``r_ecef`` (T, K, 3) are the tracks' predicted trajectories; ``P`` (T, 6, 6)
        their covariances at ``t_s``. An own engagement covers its own track and, by position, any track
        born since it was ordered (the same object tracked anew) whose predicted position at the
        intercept time lies within the same-threat gate of its aim point; tracks it knew then were
        other objects. Another node's engagement (its track numbers are not ours) covers every track
        within the gate.
        The gate is :data:`GATE_SIGMAS` times the RSS of the track's position sigma flown linearly to
        the intercept time and an aim point as uncertain, at least :data:`MIN_GATE_M`, at most
        :data:`SAME_THREAT_GATE_M` (without ``P``: that fixed gate): wide enough for the same object
        seen by two trackers, narrow enough not to mistake a neighbouring missile of the same salvo.
        """
        ids = track_ids.tolist()
        own = {e.track for e in self._own.values()} | self.killed
        mask = np.fromiter((t in own for t in ids), bool, len(track_ids))
        open_ = [*self._own.values(), *self._others.values()]
        if open_ and len(times_s):
            # (T, E): may engagement e cover track t by position (not its own, not known to it as other)
            eligible = np.stack([(track_ids != e.track) & ~np.isin(track_ids, e.known) for e in open_], axis=1)
            aims = np.array([e.aim_ecef for e in open_])
            when = np.array([e.intercept_s for e in open_])
            k = np.clip(np.searchsorted(times_s, when), 0, len(times_s) - 1)
            d = np.linalg.norm(r_ecef[:, k, :] - aims[None, :, :], axis=-1)  # (T, E)
            gate = np.full(d.shape, SAME_THREAT_GATE_M)
            if P is not None and t_s is not None:
                dt = (when - t_s)[None, :]
                pp = np.trace(P[:, :3, :3], axis1=1, axis2=2)[:, None]
                pv = np.trace(P[:, :3, 3:], axis1=1, axis2=2)[:, None]
                vv = np.trace(P[:, 3:, 3:], axis1=1, axis2=2)[:, None]
                sigma = np.sqrt(np.maximum(pp + 2.0 * dt * pv + dt * dt * vv, 0.0))
                gate = np.clip(GATE_SIGMAS * np.sqrt(2.0) * sigma, MIN_GATE_M, SAME_THREAT_GATE_M)
            mask |= (eligible & (d < gate)).any(axis=1)
        return mask
