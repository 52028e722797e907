"""The static weapon-target assignment problem one decision cycle solves, and the literature's instances.

B batteries (weapons) face T threats (targets). Threat t carries value v_t (its expected value at risk);
each interceptor battery b fires at t kills it independently with probability pk[b, t] (0: the
battery cannot engage it). A plan is an integer shot matrix n (B, T); its objective, the expected
surviving value plus the cost of the interceptors spent, is

    F(n) = sum_t v_t * prod_b (1 - pk[b, t]) ** n[b, t]  +  sum_{b, t} cost_b * n[b, t]

(lower is better). A plan is feasible when every battery fires at most its inventory, engages at most
``channels`` distinct threats, no threat receives more than its ``salvo`` cap, engaged threats receive
nothing, every shot has pk > 0, and (``one_battery_per_threat``) all shots at a threat come from one
battery. The weapon-based problem of the literature (Manne, 1958; Ahuja et al., 2007) is the special
case of one interceptor per weapon, one channel, no caps and no costs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

#: Kill probabilities are clipped to at most this, so survival ratios stay finite.
PK_MAX = 1.0 - 1e-12


@dataclass(frozen=True, slots=True)
class WtaProblem:
    """One static WTA instance; see the module docstring. Scalars broadcast; ``None`` means unlimited
    (``channels``, ``salvo``), none (``engaged``) or free (``cost``)."""

    value: np.ndarray  # (T,) value of each threat, >= 0
    pk: np.ndarray  # (B, T) single-shot kill probability in [0, 1]
    inventory: np.ndarray  # (B,) interceptors ready
    channels: np.ndarray | None = None  # (B,) distinct threats a battery may engage
    salvo: np.ndarray | None = None  # (T,) most interceptors at one threat
    engaged: np.ndarray | None = None  # (T,) bool: threats to leave alone
    cost: np.ndarray | None = None  # (B,) cost of one interceptor, in units of value
    one_battery_per_threat: bool = False
    log_q: np.ndarray = field(init=False, repr=False)  # (B, T) log survival of one shot

    def __post_init__(self) -> None:
        value = _array("value", self.value, float, ndim=1)
        pk = _array("pk", self.pk, float, ndim=2)
        if pk.shape[1] != value.size:
            raise ValueError(f"WtaProblem: pk has {pk.shape[1]} columns, value {value.size} threats (expected one column per threat)")
        n_b, n_t = pk.shape
        if np.any(~np.isfinite(value)) or np.any(value < 0):
            raise ValueError("WtaProblem: value must be finite and >= 0")
        if np.any(~np.isfinite(pk)) or np.any((pk < 0) | (pk > 1)):
            raise ValueError("WtaProblem: pk must lie in [0, 1]")
        inventory = _counts("inventory", self.inventory, n_b, 0)
        total = int(inventory.sum())
        cost = _broadcast("cost", _array("cost", 0.0 if self.cost is None else self.cost, float), n_b)
        if np.any(~np.isfinite(cost)) or np.any(cost < 0):
            raise ValueError("WtaProblem: cost must be finite and >= 0")
        engaged = _broadcast("engaged", _array("engaged", False if self.engaged is None else self.engaged, bool), n_t)
        if not isinstance(self.one_battery_per_threat, (bool, np.bool_)):
            raise ValueError("WtaProblem: one_battery_per_threat must be true or false")
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "pk", np.minimum(pk, PK_MAX))
        object.__setattr__(self, "inventory", inventory)
        object.__setattr__(self, "channels", np.minimum(_counts("channels", self.channels, n_b, n_t), n_t))
        object.__setattr__(self, "salvo", np.minimum(_counts("salvo", self.salvo, n_t, total), total))
        object.__setattr__(self, "engaged", engaged)
        object.__setattr__(self, "cost", cost)
        object.__setattr__(self, "log_q", np.log1p(-self.pk))

    @property
    def shape(self) -> tuple[int, int]:
        """(B, T)."""
        return self.pk.shape

    def objective(self, counts: np.ndarray) -> float:
        """F(n) of a shot matrix ``counts`` (B, T): expected surviving value plus interceptor cost."""
        counts = np.asarray(counts)
        surviving = self.value * np.exp(np.einsum("bt,bt->t", counts, self.log_q))
        return float(surviving.sum() + self.cost @ counts.sum(axis=1))

    def violations(self, counts: np.ndarray) -> list[str]:
        """Every constraint ``counts`` (B, T) breaks, in words (empty when feasible)."""
        n = np.asarray(counts)
        bad = []
        if n.shape != self.shape or n.dtype.kind not in "iu" or np.any(n < 0):
            return [f"counts must be non-negative integers of shape {self.shape}"]
        for name, broken in (("inventory", n.sum(axis=1) > self.inventory),
                             ("channels", (n > 0).sum(axis=1) > self.channels)):
            bad += [f"battery {b}: {name}" for b in np.flatnonzero(broken)]
        for name, broken in (("salvo", n.sum(axis=0) > self.salvo),
                             ("engaged", self.engaged & (n.sum(axis=0) > 0)),
                             ("one battery per threat", self.one_battery_per_threat & ((n > 0).sum(axis=0) > 1))):
            bad += [f"threat {t}: {name}" for t in np.flatnonzero(broken)]
        bad += [f"battery {b} threat {t}: no kill probability" for b, t in np.argwhere((n > 0) & (self.pk <= 0))]
        return bad

    def to_json(self) -> dict:
        """The instance as plain JSON types (``log_q`` left out; unlimited fields as their values)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in out.items()}


#: Largest inventory, channel count or salvo cap accepted (beyond any real battery by far).
MAX_COUNT = 1_000_000


def _array(name: str, data, dtype, ndim: int | None = None) -> np.ndarray:
    """``data`` as an array of ``dtype`` (bool: only true/false values), with ``ndim`` dimensions."""
    try:
        a = np.asarray(data)
    except ValueError:
        raise ValueError(f"WtaProblem: {name} is ragged (expected a rectangular array)") from None
    ok = a.dtype == bool if dtype is bool else a.dtype.kind in "iuf" or (a.dtype.kind == "b" and dtype is not float)
    if not ok and a.size:
        kind = "true/false values" if dtype is bool else "numbers"
        raise ValueError(f"WtaProblem: {name} must hold {kind}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"WtaProblem: {name} must have {ndim} dimension{'s' * (ndim > 1)}, not {a.ndim}")
    return a.astype(dtype)


def _broadcast(name: str, a: np.ndarray, n: int) -> np.ndarray:
    if a.ndim > 1 or a.size not in (1, n):
        raise ValueError(f"WtaProblem: {name} has {a.size} entries (expected 1 or {n})")
    return np.array(np.broadcast_to(a, (n,)))


def _counts(name: str, data, n: int, default: int) -> np.ndarray:
    """Non-negative integer counts (n,) from ``data`` (None: ``default``)."""
    a = _broadcast(name, _array(name, default if data is None else data, float), n)
    if np.any(~np.isfinite(a)) or np.any(a != np.round(a)) or np.any(a < 0) or np.any(a > MAX_COUNT):
        raise ValueError(f"WtaProblem: {name} must be integers in [0, {MAX_COUNT:,}]")
    return a.astype(np.int64)


def load_problem(path: Path) -> WtaProblem:
    """Read an instance file (JSON with the :class:`WtaProblem` field names; ``value``, ``pk`` and
    ``inventory`` required). Raises ValueError with a one-line message naming what is wrong."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: line {exc.lineno}: not JSON ({exc.msg})") from None
    allowed = {f.name for f in fields(WtaProblem) if f.init}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with keys value, pk, inventory")
    if unknown := sorted(set(data) - allowed):
        raise ValueError(f"{path}: unknown key {unknown[0]!r} (expected some of: {', '.join(sorted(allowed))})")
    if missing := [k for k in ("value", "pk", "inventory") if k not in data]:
        raise ValueError(f"{path}: missing key {missing[0]!r}")
    try:
        return WtaProblem(**data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def literature_instance(n_weapons: int, n_targets: int, seed: int) -> WtaProblem:
    """The standard random weapon-based instance (Ahuja et al., 2007, and the papers after it): target
    values uniform in [25, 100], kill probabilities uniform in [0.6, 0.9], one interceptor per weapon."""
    rng = np.random.default_rng(seed)
    value = rng.uniform(25.0, 100.0, n_targets)
    pk = rng.uniform(0.6, 0.9, (n_weapons, n_targets))
    return WtaProblem(value, pk, np.ones(n_weapons, np.int64))
