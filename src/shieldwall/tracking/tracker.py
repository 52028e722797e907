"""Multi-target tracker: EKF tracks held as arrays, gated GNN or JPDA, one- or two-point initiation, M-of-N,
deletion.

A :class:`Tracker` consumes scans (all plots of one sensor at one time) and keeps every track's last
posterior state at its last update time. Each scan predicts all tracks to the scan time, associates
confirmed tracks first and tentative tracks with the plots left over (so a tentative track never takes
a plot from an established one), updates, keeps score, and starts tentative tracks on the plots that
remain.

Hits and misses, the rule: a track scores a *hit* for each plot that updates it and a *miss* for each
full ``miss_window_s`` that passes without any sensor updating it (counted whenever a scan of any
sensor is processed). A track is therefore never penalised for being outside one sensor's coverage
while another sensor keeps it; ``miss_window_s`` should be at least the longest revisit interval
among the sensors feeding the tracker. A tentative track is confirmed when ``M`` of its last ``N``
hits and misses are hits and deleted once that can no longer happen; a confirmed track is deleted
after ``delete_after_misses`` consecutive misses or when its predicted RSS position sigma exceeds
``max_position_sigma_m``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from shieldwall.sensors.measurement import measurement_function, measurement_jacobian, residual
from shieldwall.sensors.scan import Scan, plot_covariance_ecef, scan_to_ecef
from shieldwall.tracking import ekf
from shieldwall.tracking.association import Assignment, associate, gate_threshold, mahalanobis_cost
from shieldwall.tracking.imm import IMMParams, IMMState, combined, imm_init, imm_predict, imm_update
from shieldwall.tracking.jpda import association_probabilities, pda_update

#: Motion models a tracker can predict with: ``(x, P, dt_s, q_accel) -> (x, P)``.
MOTIONS = {"ballistic": ekf.predict, "cv": ekf.predict_cv}
# Tolerance [in windows] so that a scan arriving exactly one window after an update counts a miss
# despite floating-point time arithmetic.
_WINDOW_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class TrackerParams:
    """Tracker settings; ``q_accel`` in m/s^2/sqrt(s) is the white-noise acceleration density root."""

    q_accel: float = 1.0
    motion: str = "ballistic"   # "ballistic" (ECEF, gravity with J2), "cv" (nearly constant velocity) or
    #                             "imm" (boost / ballistic / re-entry models, :mod:`shieldwall.tracking.imm`)
    imm: IMMParams = IMMParams()
    association: str = "gnn"    # confirmed tracks: "gnn" (one plot each) or "jpda" (weighted over all gated)
    pd: float = 0.9             # detection probability assumed by JPDA
    clutter_density: float = 1e-9   # JPDA: false plots per unit of measurement space (e.g. per m rad^2)
    initiation: str = "one-point"   # "one-point" (plot, zero velocity, wide sigma) or "two-point"
    max_speed_ms: float = 8_000.0   # two-point initiation: fastest object two plots may belong to
    gate_prob: float = 0.9999
    m_of_n: tuple[int, int] = (3, 5)
    delete_after_misses: int = 5
    miss_window_s: float = 1.0
    max_position_sigma_m: float = 5_000.0
    init_velocity_sigma_ms: float = 4_000.0
    first_id: int = 1

    def __post_init__(self) -> None:
        m, n = self.m_of_n
        if not 1 <= m <= n <= 62:
            raise ValueError(f"m_of_n={self.m_of_n!r}: expected (M, N) with 1 <= M <= N <= 62")
        if not 0.0 < self.gate_prob < 1.0:
            raise ValueError(f"gate_prob={self.gate_prob!r}: expected a probability strictly between 0 and 1")
        for name in ("miss_window_s", "max_position_sigma_m", "init_velocity_sigma_ms"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a positive number")
        if self.initiation not in ("one-point", "two-point") or not self.max_speed_ms > 0.0:
            raise ValueError(f"initiation={self.initiation!r}: expected 'one-point' or 'two-point' "
                             "(and a positive max_speed_ms)")
        if self.association not in ("gnn", "jpda"):
            raise ValueError(f"association={self.association!r}: expected 'gnn' or 'jpda'")
        if not (0.0 < self.pd <= 1.0 and self.clutter_density > 0.0):
            raise ValueError("pd must be in (0, 1] and clutter_density > 0")
        if self.motion not in (*MOTIONS, "imm"):
            raise ValueError(f"motion={self.motion!r}: expected one of {(*MOTIONS, 'imm')}")
        if self.motion == "imm" and self.association != "gnn":
            raise ValueError("motion='imm' associates by GNN only (association='gnn')")
        if self.q_accel < 0.0 or self.delete_after_misses < 1:
            raise ValueError("q_accel must be >= 0 and delete_after_misses >= 1")


@dataclass(frozen=True, slots=True)
class TrackTable:
    """A snapshot of tracks: states ``x`` (K, 6) ECEF [m, m/s] and ``P`` (K, 6, 6) valid at ``t_s`` (K,).

    ``t_update_s`` is each track's last update time (equal to ``t_s`` unless the table was coasted)
    and ``n_updates`` how many plots it has taken. All arrays are copies owned by the table.
    """

    ids: np.ndarray
    x: np.ndarray
    P: np.ndarray
    t_s: np.ndarray
    t_update_s: np.ndarray
    n_updates: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


class Tracker:
    """Tracks of one node, updated scan by scan; see the module docstring for the scoring rule."""

    def __init__(self, params: TrackerParams = TrackerParams()) -> None:
        self.params = params
        self._next_id = int(params.first_id)
        self._ids = np.empty(0, np.int64)
        self._x = np.empty((0, 6))
        self._P = np.empty((0, 6, 6))
        self._t_s = np.empty(0)            # time of the stored posterior = last update time
        self._n_updates = np.empty(0, np.int64)
        self._hist = np.empty(0, np.int64)  # last N hit (1) / miss (0) outcomes, newest in bit 0
        self._n_hist = np.empty(0, np.int64)
        self._misses_noted = np.empty(0, np.int64)  # misses recorded since the last update
        self._confirmed = np.empty(0, bool)
        self._waiting: tuple[float, np.ndarray, np.ndarray] | None = None  # two-point: last unused plots (t, r, C)
        self._modes = imm_init(self._x, self._P)   # motion "imm": each model's posterior, as x and P

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def n_tentative(self) -> int:
        """Number of tentative (not yet confirmed) tracks."""
        return int(np.count_nonzero(~self._confirmed))

    def process(self, t_s: float, kind: str, z: np.ndarray, R: np.ndarray,
                origin_ecef: np.ndarray | None = None, basis: np.ndarray | None = None) -> None:
        """Process one scan: plots ``z`` (M, 3) of ``kind`` ('rae' or 'pos') with noise ``R`` (3, 3) at ``t_s``.

        ``origin_ecef`` (3,) and ``basis`` (3, 3) (rows east, north, up) locate a 'rae' sensor.
        """
        z = np.asarray(z, float).reshape(-1, 3)
        self.process_scan(Scan(sensor="", t_s=float(t_s), kind=kind, z=z, R=R,
                               origin_ecef=np.zeros(3) if origin_ecef is None else origin_ecef,
                               basis=np.eye(3) if basis is None else basis,
                               truth_index=np.full(len(z), -1)))

    def process_scan(self, scan: Scan) -> None:
        """Process one :class:`~shieldwall.sensors.Scan` (its ``truth_index`` is never read)."""
        p = self.params
        t_s, z, R = scan.t_s, scan.z, scan.R
        res = partial(residual, scan.kind)
        x_pred, P_pred, modes = self._predict(t_s)
        h = measurement_function(scan.kind, x_pred[:, :3], scan.origin_ecef, scan.basis)
        H = np.zeros((len(self), 3, 6))
        H[:, :, :3] = measurement_jacobian(scan.kind, x_pred[:, :3], scan.origin_ecef, scan.basis)
        S = ekf.innovation_covariance(P_pred, H, R)

        # Confirmed tracks get first pick of the plots; tentative tracks share what is left.
        conf = self._confirmed.nonzero()[0]
        tent = (~self._confirmed).nonzero()[0]
        if p.association == "jpda":
            soft, left = self._jpda(z, x_pred, P_pred, h, H, S, conf, res)
            first = Assignment(np.empty((0, 2), np.intp), conf, left)
        else:
            soft = np.empty(0, np.intp)
            first = associate(z, h[conf], S[conf], p.gate_prob, res)
            left = first.unassigned_plots
        second = associate(z[left], h[tent], S[tent], p.gate_prob, res)
        trk = np.concatenate([conf[first.pairs[:, 0]], tent[second.pairs[:, 0]]])
        plot = np.concatenate([first.pairs[:, 1], left[second.pairs[:, 1]]])
        unused = left[second.unassigned_plots]

        if len(trk) and modes is not None:
            def measure(states):
                jac = np.zeros((len(states), 3, 6))
                jac[:, :, :3] = measurement_jacobian(scan.kind, states[:, :3], scan.origin_ecef, scan.basis)
                return measurement_function(scan.kind, states[:, :3], scan.origin_ecef, scan.basis), jac
            upd, _ = imm_update(IMMState(modes.x[trk], modes.P[trk], modes.mu[trk]), z[plot], R, measure, res, p.imm)
            self._modes.x[trk], self._modes.P[trk], self._modes.mu[trk] = upd.x, upd.P, upd.mu
            self._x[trk], self._P[trk] = combined(upd)
            P_pred[trk] = self._P[trk]
        elif len(trk):
            x_upd, P_upd, _, _ = ekf.update(x_pred[trk], P_pred[trk], z[plot], R, h[trk], H[trk], res)
            self._x[trk], self._P[trk] = x_upd, P_upd
            P_pred[trk] = P_upd
        trk = np.concatenate([trk, soft])
        hit = np.zeros(len(self), bool)
        hit[trk] = True
        self._score(t_s, hit)
        self._t_s[trk] = t_s
        self._n_updates[trk] += 1
        self._prune(P_pred)
        if len(unused):
            self._initiate(replace(scan, z=z[unused], truth_index=scan.truth_index[unused]))

    def _jpda(self, z, x_pred, P_pred, h, H, S, conf, res) -> tuple[np.ndarray, np.ndarray]:
        """JPDA update of confirmed tracks ``conf`` over every plot in their gates (in place, ``P_pred``
        included); returns the tracks updated and the plots in no confirmed track's gate."""
        p = self.params
        gate = gate_threshold(p.gate_prob, z.shape[-1])
        d2 = mahalanobis_cost(z, h[conf], S[conf], res, gate)
        inside = d2 < gate
        if not inside.any():
            return np.empty(0, np.intp), np.arange(len(z))
        norm = np.sqrt((2.0 * np.pi) ** z.shape[-1] * np.linalg.det(S[conf]))
        ratio = np.where(inside, p.pd * np.exp(-0.5 * np.where(inside, d2, 0.0)) / norm[:, None], 0.0) / p.clutter_density
        beta = association_probabilities(ratio, np.full(len(conf), 1.0 - p.pd * p.gate_prob))
        rows = np.flatnonzero(inside.any(axis=1))
        k = conf[rows]
        nu = res(z[None, :, :], h[k][:, None, :])
        x_upd, P_upd = pda_update(x_pred[k], P_pred[k], nu, S[k], H[k], beta[rows])
        self._x[k], self._P[k] = x_upd, P_upd
        P_pred[k] = P_upd
        return k, np.flatnonzero(~inside.any(axis=0))

    def updated_ids(self, t_s: float) -> np.ndarray:
        """Ids of the tracks (tentative or confirmed) whose last update was the scan at ``t_s``."""
        return self._ids[self._t_s == t_s]

    def confirmed(self) -> TrackTable:
        """Confirmed tracks at their last update time."""
        c = self._confirmed                 # boolean indexing copies
        return TrackTable(ids=self._ids[c], x=self._x[c], P=self._P[c], t_s=self._t_s[c],
                          t_update_s=self._t_s[c], n_updates=self._n_updates[c])

    def coast_to(self, t_s: float) -> TrackTable:
        """Confirmed tracks predicted to ``t_s``; the tracker is not changed."""
        table = self.confirmed()
        x, P, _ = self._predict(t_s, self._confirmed)
        return TrackTable(ids=table.ids, x=x, P=P, t_s=np.full(len(table), float(t_s)),
                          t_update_s=table.t_update_s, n_updates=table.n_updates)

    def _predict(self, t_s: float, rows: np.ndarray | slice = slice(None)):
        """States and covariances of tracks ``rows`` predicted to ``t_s`` by the motion model, and with
        ``motion="imm"`` the predicted model-conditioned state (else None)."""
        p = self.params
        dt = t_s - self._t_s[rows]
        if p.motion != "imm":
            return (*MOTIONS[p.motion](self._x[rows], self._P[rows], dt, p.q_accel), None)
        m = self._modes
        modes = imm_predict(IMMState(m.x[rows], m.P[rows], m.mu[rows]), dt, p.imm)
        return (*combined(modes), modes)

    # -- bookkeeping -------------------------------------------------------------------------------

    def _score(self, t_s: float, hit: np.ndarray) -> None:
        """Record misses for elapsed windows and a hit for updated tracks; confirm by M-of-N."""
        m, n = self.params.m_of_n
        windows = np.floor((t_s - self._t_s) / self.params.miss_window_s + _WINDOW_EPS).astype(np.int64)
        # For a hit the current window is the hit itself, not a miss.
        new_misses = np.maximum(windows - hit - self._misses_noted, 0)
        shift = np.minimum(new_misses + hit, n)
        mask = (1 << n) - 1
        self._hist = ((self._hist << shift) | hit) & mask
        self._n_hist = np.minimum(self._n_hist + new_misses + hit, n)
        self._misses_noted = np.where(hit, 0, self._misses_noted + new_misses)
        self._confirmed |= _popcount(self._hist, n) >= m

    def _prune(self, P_now: np.ndarray) -> None:
        """Delete tentative tracks that can no longer reach M-of-N and confirmed tracks lost or too vague."""
        p = self.params
        m, n = p.m_of_n
        hopeless = (self._n_hist - _popcount(self._hist, n)) > n - m
        sigma_m = np.sqrt(P_now[:, 0, 0] + P_now[:, 1, 1] + P_now[:, 2, 2])
        lost = (self._misses_noted >= p.delete_after_misses) | (sigma_m > p.max_position_sigma_m)
        keep = np.where(self._confirmed, ~lost, ~hopeless)
        if not keep.all():
            for name in ("_ids", "_x", "_P", "_t_s", "_n_updates", "_hist", "_n_hist",
                         "_misses_noted", "_confirmed"):
                setattr(self, name, getattr(self, name)[keep])
            if self.params.motion == "imm":
                self._modes = IMMState(self._modes.x[keep], self._modes.P[keep], self._modes.mu[keep])

    def _initiate(self, scan: Scan) -> None:
        """Start tentative tracks on a scan's unused plots.

        One-point: position from the plot, zero velocity with a wide sigma. Two-point: each plot is paired
        (nearest first, one to one) with an unused plot of the previous scan no farther than
        ``max_speed_ms`` times the interval plus five RSS plot sigmas; a pair starts a track with the
        later position and the difference velocity, covariance from the two plots' (``v = (r2 - r1)/dt``);
        plots left unpaired wait for the next scan.
        """
        r, C = scan_to_ecef(scan), plot_covariance_ecef(scan)
        if self.params.initiation == "one-point":
            x = np.zeros((len(r), 6))
            x[:, :3] = r
            P = np.zeros((len(r), 6, 6))
            P[:, :3, :3] = C
            P[:, 3:, 3:] = self.params.init_velocity_sigma_ms**2 * np.eye(3)
            self._start(scan.t_s, x, P, hits=1)
            return
        waiting, self._waiting = self._waiting, (scan.t_s, r, C)
        if waiting is None or not scan.t_s > waiting[0]:
            return
        t1, r1, C1 = waiting
        dt = scan.t_s - t1
        dist = np.linalg.norm(r[:, None] - r1[None], axis=-1)
        sigma = np.sqrt(np.trace(C, axis1=1, axis2=2))[:, None] + np.sqrt(np.trace(C1, axis1=1, axis2=2))[None]
        i, j = np.nonzero(dist <= self.params.max_speed_ms * dt + 5.0 * sigma)
        order = np.argsort(dist[i, j], kind="stable")
        used_i, used_j, pairs = set(), set(), []
        for a, b in zip(i[order], j[order]):
            if a not in used_i and b not in used_j:
                used_i.add(a), used_j.add(b), pairs.append((a, b))
        if not pairs:
            return
        a, b = np.array(pairs).T
        x = np.concatenate([r[a], (r[a] - r1[b]) / dt], axis=1)
        P = np.zeros((len(a), 6, 6))
        P[:, :3, :3] = C[a]
        P[:, :3, 3:] = P[:, 3:, :3] = C[a] / dt
        P[:, 3:, 3:] = (C[a] + C1[b]) / dt**2
        self._start(scan.t_s, x, P, hits=2)
        rest = np.setdiff1d(np.arange(len(r)), a)
        self._waiting = (scan.t_s, r[rest], C[rest])

    def _start(self, t_s: float, x: np.ndarray, P: np.ndarray, hits: int) -> None:
        """Append tentative tracks with states ``x`` (k, 6), ``P`` (k, 6, 6) at ``t_s`` that have scored
        ``hits`` consecutive hits."""
        k = len(x)
        ids = self._next_id + np.arange(k, dtype=np.int64)
        self._next_id += k
        self._ids = np.concatenate([self._ids, ids])
        self._x = np.concatenate([self._x, x])
        self._P = np.concatenate([self._P, P])
        if self.params.motion == "imm":
            new = imm_init(x, P)
            self._modes = IMMState(*(np.concatenate([getattr(self._modes, f), getattr(new, f)])
                                     for f in ("x", "P", "mu")))
        m, n = self.params.m_of_n
        hits = min(hits, n)
        self._t_s = np.concatenate([self._t_s, np.full(k, t_s)])
        self._n_updates = np.concatenate([self._n_updates, np.full(k, hits, np.int64)])
        self._hist = np.concatenate([self._hist, np.full(k, (1 << hits) - 1, np.int64)])
        self._n_hist = np.concatenate([self._n_hist, np.full(k, hits, np.int64)])
        self._misses_noted = np.concatenate([self._misses_noted, np.zeros(k, np.int64)])
        self._confirmed = np.concatenate([self._confirmed, np.full(k, m <= hits)])


#: Number of set bits of every 16-bit integer.
_POPCOUNT16 = np.array([bin(i).count("1") for i in range(1 << 16)], np.uint8)


def _popcount(bits: np.ndarray, n_bits: int) -> np.ndarray:
    """Number of set bits among the lowest ``n_bits`` (at most 63) of each element, by 16-bit table look-ups."""
    bits = bits & ((1 << n_bits) - 1)
    count = _POPCOUNT16[bits & 0xFFFF]
    for shift in range(16, n_bits, 16):
        count = count + _POPCOUNT16[(bits >> shift) & 0xFFFF]
    return count
