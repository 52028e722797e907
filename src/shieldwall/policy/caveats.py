"""Sovereignty caveats and rules of engagement on (battery, threat) pairs, for a planning node.

An intercept is allowed when

- *overflight*: every nation under its footprint (the intercept point's nadir and the debris
  footprint, :func:`~shieldwall.policy.territory.footprint_masks`) consents to intercepts by the
  battery's nation (``overflight:NATION``), and, where the battery's nation refuses intercepts over
  third countries, that footprint crosses only its own territory, the territory of a nation whose
  assets the threat endangers, or the sea (``third-country:NATION``). The windows keep only allowed
  intercepts, so a battery may still engage later along the path, past a non-consenting nation;
- *rules of engagement*: the threat's class, judged from its estimated ground range (launch-point
  estimate to predicted impact, :func:`~shieldwall.policy.territory.classify_by_range`), is one the
  battery's nation may engage (``roe:NATION``).

``defends:BATTERY`` (the nations a battery may defend) is applied before the windows, by the planner.
A pair a rule removes is audited once per (battery, track, rule).
"""

from __future__ import annotations

import numpy as np

from shieldwall import geo
from shieldwall.assess.launch import estimate_launch_point
from shieldwall.c2.node import Audit
from shieldwall.c2.specs import AssetTable, BatterySpec
from shieldwall.policy.rules import PolicyBook
from shieldwall.policy.territory import TerritoryMap, classify_by_range, footprint_masks, nations_in_mask


class Caveats:
    """The overflight and rules-of-engagement checks of one planning node's batteries.

    ``classes`` are the catalog's missile class names and ``nominal_range_km`` (C, 2) their ranges.
    """

    def __init__(self, policy: PolicyBook, batteries: list[BatterySpec], assets: AssetTable,
                 territory: TerritoryMap, classes: tuple[str, ...], nominal_range_km: np.ndarray):
        self.policy = policy
        self.territory = territory
        self.classes = classes
        self.nominal_range_km = np.asarray(nominal_range_km, float).reshape(-1, 2)
        names = territory.names
        bit = {n: np.uint64(1) << np.uint64(k) for k, n in enumerate(names)}
        self._asset_bits = np.array([bit.get(n, np.uint64(0)) for n in assets.nations], np.uint64)
        self._nation = [b.nation for b in batteries]
        self._ids = [b.id for b in batteries]
        # Per battery: the nations consenting to its intercepts, whether it may cross third countries.
        self._consent = np.array([sum((bit[t] for t in names if policy.may_intercept_over(b.nation, t)), np.uint64(0))
                                  for b in batteries], np.uint64)
        self._third_ok = np.array([policy.third_countries.get(b.nation, True) for b in batteries], bool)
        self._own_bit = np.array([bit.get(b.nation, np.uint64(0)) for b in batteries], np.uint64)
        self.checks_overflight = policy.restricts_overflight()
        self.checks_roe = any(v is not None for v in policy.engage_classes.values())
        self._class_of: dict[int, str] = {}
        self._audited: set[tuple[int, int, str]] = set()
        self._last: dict[tuple[int, int], list[str]] = {}
        self._allowed = np.zeros((0, 0), np.uint64)

    def overflight(self, bat: np.ndarray, threatening: np.ndarray, r_ecef: np.ndarray,
                   alive: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Footprint masks (S, K) of tracks with predicted paths ``r_ecef``, ``alive`` (S, K) and the
        nations (B', S) each of batteries ``bat`` may intercept over, as bit masks for
        :func:`~shieldwall.engage.windows.engagement_windows`; (None, None) when no rule restricts.
        ``threatening`` (S, A): the assets each track endangers (whose nations count as defended)."""
        if not self.checks_overflight:
            return None, None
        masks = footprint_masks(self.territory, r_ecef, alive)
        threat_bits = np.bitwise_or.reduce(np.where(threatening, self._asset_bits[None, :], np.uint64(0)), axis=1)
        allowed = self._consent[bat][:, None] & np.where(self._third_ok[bat][:, None], ~np.uint64(0),
                                                         self._own_bit[bat][:, None] | threat_bits[None, :])
        self._allowed = allowed
        return masks, allowed

    def check(self, t_s: float, track_ids: np.ndarray, x: np.ndarray, P: np.ndarray, impact_ecef: np.ndarray,
              bat: np.ndarray, blocked: np.ndarray, earliest_s: np.ndarray, times_s: np.ndarray,
              footprint: np.ndarray | None, candidate: np.ndarray) -> tuple[np.ndarray, list[Audit]]:
        """(B', S) which ``candidate`` pairs of batteries ``bat`` and tracks survive the rules of
        engagement, and the audit entries of the pairs a rule removed: ``blocked`` (B', S) pairs the
        overflight rules left no intercept (from the windows), and the pairs ROE forbids."""
        ok = candidate.copy()
        audits: list[Audit] = []
        self._last = {}
        if footprint is not None:
            first = np.argmax(footprint != 0, axis=1)
            whole = footprint[np.arange(len(first)), first]  # every nation under the path from now on
            for i, j in zip(*np.nonzero(blocked)):
                audits += self._audit(t_s, int(bat[i]), int(track_ids[j]), int(whole[j] & ~self._allowed[i, j]), x[j])
            k0 = np.clip(np.searchsorted(times_s, np.nan_to_num(earliest_s, nan=times_s[-1])), 0, len(times_s) - 1)
            at = footprint[np.arange(footprint.shape[0])[None, :], k0]
            for i, j in zip(*np.nonzero(candidate)):
                self._last[(int(bat[i]), int(j))] = [f"overflight:{n}"
                                                     for n in nations_in_mask(int(at[i, j]), self.territory.names)]
        if self.checks_roe and ok.any():
            cls = self._classes(t_s, track_ids, x, P, impact_ecef)
            for i, j in zip(*np.nonzero(ok)):
                nation = self._nation[bat[i]]
                if not self.policy.may_engage(nation, cls[j]):
                    ok[i, j] = False
                    audits += self._once(t_s, int(bat[i]), int(track_ids[j]), f"roe:{nation}",
                                         f"class {cls[j]} is not one {nation} may engage", x[j])
                elif self.policy.engage_classes.get(nation) is not None:
                    self._last.setdefault((int(bat[i]), int(j)), []).append(f"roe:{nation}")
        return ok, audits

    def rules(self, battery: int, column: int) -> list[str]:
        """The overflight and ROE rules the last :meth:`check` found allowing a pair."""
        return self._last.get((battery, column), [])

    def _audit(self, t_s, b, track, over_bits, x) -> list[Audit]:
        out = []
        nation = self._nation[b]
        for t in nations_in_mask(over_bits, self.territory.names):
            if not self.policy.may_intercept_over(nation, t):
                out += self._once(t_s, b, track, f"overflight:{t}", f"{t} does not consent to intercepts by {nation} "
                                  "over its territory", x)
            else:
                out += self._once(t_s, b, track, f"third-country:{nation}", f"{nation} does not intercept over third "
                                  f"country {t}", x)
        return out

    def _once(self, t_s, b, track, rule, reason, x) -> list[Audit]:
        key = (b, track, rule)
        if key in self._audited:
            return []
        self._audited.add(key)
        return [Audit("caveat", rule, {"battery": self._ids[b], "track": track, "reason": reason, "pos_ecef": x[:3]})]

    def _classes(self, t_s, track_ids, x, P, impact_ecef) -> list[str]:
        """Each track's estimated class (estimated once per track)."""
        new = [j for j, i in enumerate(track_ids.tolist()) if i not in self._class_of]
        if new:
            est = estimate_launch_point(x[new], P[new], t_s)
            lat, lon, _ = geo.ecef_to_geodetic(impact_ecef[new])
            ground = geo.great_circle_m(est.launch_lat_rad, est.launch_lon_rad, lat, lon)
            k = classify_by_range(np.nan_to_num(ground, nan=0.0), self.classes, self.nominal_range_km)
            for j, c in zip(new, k.tolist()):
                self._class_of[int(track_ids[j])] = self.classes[c] if c >= 0 else "unknown"
        return [self._class_of[int(i)] for i in track_ids.tolist()]
