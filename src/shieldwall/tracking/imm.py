"""Interacting Multiple Model (IMM) filter for ballistic missiles in ECEF, batched over tracks.

Standard IMM of Blom & Bar-Shalom (1988), "The interacting multiple model algorithm for systems with
Markovian switching coefficients", IEEE Trans. Automatic Control 33(8), 780-783; see also Bar-Shalom,
Li & Kirubarajan (2001), *Estimation with Applications to Tracking and Navigation*, 11.6.6. Each cycle
mixes the model-conditioned estimates with a Markov mode-transition matrix, predicts and updates each
model with an EKF (:mod:`shieldwall.tracking.ekf`, Joseph form), weighs the modes by their innovation
likelihoods and forms the combined (moment-matched) estimate.

All K tracks share M = 3 motion models (:data:`MODES`) on the 6-D ECEF state [m, m/s]:

* ``boost``: gravity with J2, frame terms, plus a nominal thrust acceleration along the ECEF velocity
  (:attr:`IMMParams.boost_thrust_ms2`) and a large white-noise acceleration for the unknown remainder
  (thrust magnitude, pitch program, staging);
* ``ballistic`` (midcourse): the tracker's drag-free model (:func:`shieldwall.tracking.ekf.predict`),
  small process noise;
* ``reentry``: gravity plus drag of a nominal ballistic coefficient in the exponential atmosphere
  (:func:`shieldwall.world.dynamics.drag_accel_ecef`), moderate process noise.

The mode transitions are a continuous-time Markov chain with generator ``L`` (mean sojourn time
``tau_i`` per mode, exit split ``exit_split``): over a scan interval dt the transition matrix is
``expm(L dt)``, so irregular intervals are handled per track.

Arrays: ``x`` (K, M, 6), ``P`` (K, M, 6, 6), ``mu`` (K, M); ``dt_s`` (K,) or scalar [s].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import expm

from shieldwall.tracking import ekf
from shieldwall.world.dynamics import drag_accel_ecef, drag_free_rate, gravity_gradient, LINEAR_RATE

#: Names of the motion models, in the order of the mode axis.
MODES = ("boost", "ballistic", "reentry")
BOOST, BALLISTIC, REENTRY = range(3)

_EYE6 = np.eye(6)
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class IMMParams:
    """Parameters of the three motion models and of the mode switching.

    Defaults are generic, public order-of-magnitude figures:

    * ``boost_thrust_ms2`` = 30 m/s^2: nominal thrust acceleration along the ECEF velocity in the boost
      model, the middle of the ~10-60 m/s^2 of public ballistic-missile boosters (e.g. ~3 km/s burnout
      speed after 60-90 s of burn, NAS/NRC 2012 range classes); 0 gives gravity plus white noise only.
    * ``q_boost`` = 20 m/s^2/sqrt(s): white-noise acceleration for the unknown rest of the thrust
      (magnitude off by ~10-30 m/s^2, pitch program, staging): over a 1-2 s scan ``q^2 dt`` covers
      a 20-30 m/s velocity change.
    * ``q_ballistic`` = 0: midcourse flight is unpowered and drag-free above ~150 km, which the model
      flies exactly (J2 included; higher harmonics and radiation pressure move a warhead by metres over a
      flight). White noise there would only make the filter conservative: with 0.005 m/s^2/sqrt(s) the
      midcourse NEES sinks to ~4 (its 95 % band for 30 runs is 4.8-7.3), with 0 it is ~5.2.
    * ``beta_reentry_kgm2`` = 10,000 kg/m^2: ballistic coefficient of the re-entry model's drag, a
      generic re-entry vehicle (public figures 5,000-60,000 kg/m^2 from short-range bodies to ICBM RVs,
      Regan & Anandakrishnan 1993). Its white-noise acceleration has spectral density
      ``q_reentry^2 + drag_corr_s (drag_sigma |a_drag|)^2``: a floor ``q_reentry`` = 0 (as midcourse)
      plus the unknown coefficient (``drag_sigma`` = 0.5: a factor ~1.5-2 either way) as white noise of
      the same variance over a correlation time ``drag_corr_s`` = 10 s. Above the air it is the ballistic
      model, so it neither inflates the midcourse covariance nor needs to be told apart there.
    * ``sojourn_s`` = (60, 300, 60) s: mean time spent in boost, midcourse and re-entry per visit
      (burns last 60-180 s; midcourse is most of a 10-30 min flight); ``exit_split[i][j]``: the share
      of departures from mode i that go to mode j (rows sum to 1, zero diagonal). Boost only ends
      (mostly into midcourse); ballistic and re-entry exchange both ways (a wrong switch can be undone,
      and the two coincide above the air). Boost is never re-entered, so it sinks to ``mu_floor``
      after burnout instead of mixing its large covariance into the midcourse estimate.
    * ``mu_floor`` = 1e-9: least mode probability kept (no mode is lost for good); small, because a
      mode that is never re-entered (boost after burnout) drifts and its spread enters the combined P.
    * ``max_step_s`` = 2 s: longest RK4 sub-step of the boost and re-entry models (drag and thrust vary
      on time scales of ~10 s); the ballistic model uses :data:`shieldwall.tracking.ekf.MAX_STEP_S`.
    """

    q_boost: float = 20.0
    boost_thrust_ms2: float = 30.0
    q_ballistic: float = 0.0
    q_reentry: float = 0.0
    beta_reentry_kgm2: float = 10_000.0
    drag_sigma: float = 0.5
    drag_corr_s: float = 10.0
    sojourn_s: tuple[float, float, float] = (60.0, 300.0, 60.0)
    exit_split: tuple[tuple[float, float, float], ...] = field(
        default=((0.0, 0.9, 0.1), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)))
    mu_floor: float = 1e-9
    max_step_s: float = 2.0

    def generator(self) -> np.ndarray:
        """Generator (3, 3) [1/s] of the mode chain: ``L_ij = exit_split_ij / tau_i``, ``L_ii = -1/tau_i``."""
        rate = 1.0 / np.asarray(self.sojourn_s, float)
        L = np.asarray(self.exit_split, float) * rate[:, None]
        L[np.diag_indices(3)] = -rate
        return L

    def transition(self, dt_s: np.ndarray | float) -> np.ndarray:
        """Mode-transition matrices ``Pi_ij = P(mode j at t + dt | mode i at t)`` (..., 3, 3) over ``dt_s`` [s]."""
        dt = np.abs(np.asarray(dt_s, float))
        return expm(dt[..., None, None] * self.generator())


@dataclass(slots=True)
class IMMState:
    """Model-conditioned estimates of K tracks: ECEF states ``x`` (K, M, 6) [m, m/s], covariances
    ``P`` (K, M, 6, 6) and mode probabilities ``mu`` (K, M) (after :func:`imm_predict`: the predicted ones)."""

    x: np.ndarray
    P: np.ndarray
    mu: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


def imm_init(x: np.ndarray, P: np.ndarray, mu: np.ndarray | None = None) -> IMMState:
    """State with every model started at ``x`` (K, 6), ``P`` (K, 6, 6); ``mu`` (M,) or (K, M), uniform if None."""
    x = np.asarray(x, float)
    P = np.asarray(P, float)
    k, m = len(x), len(MODES)
    mu = np.full(m, 1.0 / m) if mu is None else np.asarray(mu, float)
    return IMMState(np.repeat(x[:, None], m, axis=1), np.repeat(P[:, None], m, axis=1),
                    np.broadcast_to(mu, (k, m)) / np.sum(mu, axis=-1, keepdims=True))


def combined(state: IMMState) -> tuple[np.ndarray, np.ndarray]:
    """Moment-matched combined estimate: ECEF states (K, 6) [m, m/s] and covariances (K, 6, 6)."""
    return _mix(state.x, state.P, state.mu[:, :, None])


def _mix(x: np.ndarray, P: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-mixture moments with weights ``w`` (K, M_in, M_out) of components x (K, M_in, 6):
    means (K, M_out, 6) and covariances (K, M_out, 6, 6); M_out dropped when ``w`` has one column."""
    xm = np.einsum("kio,kia->koa", w, x)
    d = x[:, None] - xm[:, :, None]                              # (K, M_out, M_in, 6)
    Pm = np.einsum("kio,kiab->koab", w, P) + np.einsum("kio,koia,koib->koab", w, d, d)
    Pm = 0.5 * (Pm + Pm.swapaxes(-1, -2))
    if w.shape[-1] == 1:
        return xm[:, 0], Pm[:, 0]
    return xm, Pm


def imm_predict(state: IMMState, dt_s: np.ndarray | float, params: IMMParams = IMMParams()) -> IMMState:
    """Mix (interaction step) and predict every model over ``dt_s`` (K,) or scalar [s]; new state whose
    ``mu`` holds the predicted mode probabilities ``c_j = sum_i Pi_ij(dt) mu_i``."""
    k, m = state.mu.shape
    dt = np.broadcast_to(np.asarray(dt_s, float), (k,))
    Pi = params.transition(dt)                                   # (K, M, M)
    joint = Pi * state.mu[:, :, None]                            # P(i then j)
    c = joint.sum(axis=1)                                        # (K, M)
    w = joint / np.maximum(c[:, None, :], 1e-300)                # mixing weights mu_{i|j}
    x0, P0 = _mix(state.x, state.P, w)
    x = np.empty_like(x0)
    P = np.empty_like(P0)
    x[:, BALLISTIC], P[:, BALLISTIC] = ekf.predict(x0[:, BALLISTIC], P0[:, BALLISTIC], dt, params.q_ballistic)
    x[:, BOOST], P[:, BOOST] = _predict_powered(x0[:, BOOST], P0[:, BOOST], dt, _constant(params.q_boost**2),
                                                _thrust(params.boost_thrust_ms2), params.max_step_s)
    x[:, REENTRY], P[:, REENTRY] = _predict_powered(
        x0[:, REENTRY], P0[:, REENTRY], dt,
        lambda a: params.q_reentry**2 + params.drag_corr_s * params.drag_sigma**2 * (a * a).sum(axis=0),
        _drag(params.beta_reentry_kgm2), params.max_step_s)
    return IMMState(x, P, _floor(c, params.mu_floor))


#: ``measure(x) -> (h, H)``: predicted measurements (N, m) and Jacobians (N, m, 6) at ECEF states x (N, 6).
Measure = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def imm_update(state: IMMState, z: np.ndarray, R: np.ndarray, measure: Measure,
               residual: ekf.Residual | None = None, params: IMMParams = IMMParams()
               ) -> tuple[IMMState, np.ndarray]:
    """Update every model of K tracks with one measurement each (Joseph-form EKF) and the mode
    probabilities with the Gaussian innovation likelihoods; returns the new state and the per-model
    log-likelihoods (K, M).

    ``z`` (K, m) measurements, ``R`` (m, m) or (K, m, m) their noise, ``measure`` the measurement model
    at the model-conditioned predictions, ``residual`` the innovation ``z - h`` with any angle wrapping.
    """
    k, m = state.mu.shape
    z = np.asarray(z, float)
    R = np.asarray(R, float)
    xf = state.x.reshape(k * m, 6)
    h, H = measure(xf)
    zf = np.repeat(z, m, axis=0)
    Rf = np.repeat(R, m, axis=0) if R.ndim == 3 else R
    x, P, nu, S = ekf.update(xf, state.P.reshape(k * m, 6, 6), zf, Rf, h, H, residual)
    logdet = np.linalg.slogdet(S)[1]
    loglik = (-0.5 * (ekf.mahalanobis2(nu, S) + logdet + nu.shape[-1] * _LOG_2PI)).reshape(k, m)
    logw = loglik + np.log(state.mu)
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    mu = _floor(w / w.sum(axis=1, keepdims=True), params.mu_floor)
    return IMMState(x.reshape(k, m, 6), P.reshape(k, m, 6, 6), mu), loglik


def _floor(mu: np.ndarray, floor: float) -> np.ndarray:
    mu = np.maximum(mu, floor)
    return mu / mu.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------------------------------
# Powered / dragged models: the drag-free rate plus an extra acceleration a(r, v) (rows (3, N)).

Extra = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _thrust(accel_ms2: float) -> Extra:
    """Thrust of ``accel_ms2`` [m/s^2] along the ECEF velocity: acceleration (3, N) and its velocity
    Jacobian (N, 3, 3) ``a (I - u u^T) / |v|`` at states y (6, N)."""
    def extra(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = y[3:]
        speed = np.maximum(np.sqrt((v * v).sum(axis=0)), 1.0)
        u = v / speed
        J = np.zeros((y.shape[1], 3, 6))
        J[:, :, 3:] = (accel_ms2 / speed)[:, None, None] * (np.eye(3) - np.einsum("in,jn->nij", u, u))
        return accel_ms2 * u, J
    return extra


#: Central-difference steps for the drag Jacobian: 1 m in position (scale height 7.2 km), 0.01 m/s in velocity.
_DRAG_FD_STEP = np.array([1.0, 1.0, 1.0, 0.01, 0.01, 0.01])


def _drag(beta_kgm2: float) -> Extra:
    """Drag of ballistic coefficient ``beta_kgm2`` [kg/m^2] (exponential atmosphere, geodetic height):
    acceleration (3, N) and its Jacobian (N, 3, 6) by batched central differences."""
    def accel(y: np.ndarray) -> np.ndarray:             # y (..., 6) -> (..., 3)
        return drag_accel_ecef(y[..., :3], y[..., 3:], beta_kgm2)

    def extra(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        yt = y.T                                        # (N, 6)
        d = np.diag(_DRAG_FD_STEP)                      # (6, 6)
        pm = np.concatenate([yt[:, None] + d, yt[:, None] - d], axis=1)  # (N, 12, 6)
        a = accel(np.concatenate([yt[:, None], pm], axis=1))             # (N, 13, 3)
        J = ((a[:, 1:7] - a[:, 7:13]) / (2.0 * _DRAG_FD_STEP[:, None])).swapaxes(-1, -2)
        return a[:, 0].T, J
    return extra


def _rate(y: np.ndarray, extra: Extra) -> tuple[np.ndarray, np.ndarray]:
    """State rate (6, N) and dynamics Jacobian (N, 6, 6) of drag-free flight plus ``extra``."""
    dy, parts = drag_free_rate(y, True)
    a, J = extra(y)
    dy[3:] += a
    A = np.empty((y.shape[1], 6, 6))
    A[:] = LINEAR_RATE
    A[:, 3:, :3] += gravity_gradient(parts)
    A[:, 3:] += J
    return dy, A, a


def _constant(q2: float) -> Callable[[np.ndarray], float]:
    return lambda a: q2


def _predict_powered(x: np.ndarray, P: np.ndarray, dt: np.ndarray, q2: Callable[[np.ndarray], np.ndarray],
                     extra: Extra, max_step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`shieldwall.tracking.ekf.predict` (RK4 state, ``F = I + Ah + (Ah)^2/2`` covariance per
    equal sub-step) for drag-free flight plus ``extra``, with white-noise acceleration of spectral
    density ``q2(a_extra)`` [m^2/s^3] ((N,) or scalar) at each sub-step's start."""
    longest = float(np.abs(dt).max()) if len(dt) else 0.0
    n_sub = math.ceil(longest / max_step_s) if longest else 0
    if n_sub == 0:
        return x.copy(), 0.5 * (P + P.swapaxes(-1, -2))
    h = dt / n_sub
    Q1 = ekf.process_noise(h, 1.0)
    hh = h[:, None, None]
    y = x.T.copy()
    for _ in range(n_sub):
        k1, A, a = _rate(y, extra)
        Q = Q1 * np.broadcast_to(q2(a), h.shape)[:, None, None]
        Ah = A * hh
        F = _EYE6 + Ah @ (_EYE6 + 0.5 * Ah)
        P = F @ P @ F.swapaxes(-1, -2) + Q
        k2 = _rate(y + 0.5 * h * k1, extra)[0]
        k3 = _rate(y + 0.5 * h * k2, extra)[0]
        k4 = _rate(y + h * k3, extra)[0]
        y = y + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)
    return y.T.copy(), 0.5 * (P + P.swapaxes(-1, -2))
