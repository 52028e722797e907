"""The run recorder: an append-only event log with a fixed set of columns and the system-track
history, both turned into pandas DataFrames at the end of a run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shieldwall import geo

#: Columns of the event log, with their fill value when an event does not set them.
EVENT_COLUMNS: dict[str, Any] = {
    "t_s": np.nan, "kind": "", "node": "", "nation": "", "threat": "", "track": "", "battery": "", "order": "",
    "interceptor": "", "lat_deg": np.nan, "lon_deg": np.nan, "alt_km": np.nan, "value": np.nan,
    "leaker": False, "detail": "",
}
#: Columns of the picture-quality table, one row per recorded alliance picture: the truths in flight and
#: the tracks, OSPA and GOSPA (with its localisation, missed and false parts, each a p-th power), and the
#: counts SIAP is built from (tracks within the cut-off of a truth are assigned to their nearest one).
#: Cut-off [m] of the picture scores (OSPA, GOSPA) and the track-to-truth gate of SIAP, purity, continuity.
PICTURE_CUTOFF_M = 10_000.0
PICTURE_COLUMNS = ("t_s", "truths", "tracks", "ospa_m", "gospa_m", "gospa_localisation", "gospa_missed",
                   "gospa_false", "tracked_truths", "assigned_tracks", "spurious_tracks", "sq_error_m2")
TRACK_COLUMNS = ("t_s", "track", "x_m", "y_m", "z_m", "vx_ms", "vy_ms", "vz_ms", "lat_deg", "lon_deg", "alt_km",
                 "pos_sigma_m", "truth", "error_m")


class Recorder:
    """Collects events (dicts) and track snapshots (arrays) in order of occurrence."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._track_blocks: list[dict[str, np.ndarray]] = []
        self._picture: list[tuple] = []

    def event(self, t_s: float, kind: str, **fields: Any) -> None:
        unknown = fields.keys() - EVENT_COLUMNS.keys()
        if unknown:
            raise KeyError(f"event {kind!r}: unknown columns {sorted(unknown)}")
        row = {"t_s": float(t_s), "kind": kind}
        for key, value in fields.items():
            row[key] = value if not isinstance(value, np.generic) else value.item()
        self._events.append(row)

    def event_at(self, t_s: float, kind: str, r_ecef: np.ndarray, **fields: Any) -> None:
        """An event located at ECEF ``r_ecef`` [m]."""
        lat, lon, alt = geo.ecef_to_geodetic(r_ecef)
        self.event(t_s, kind, lat_deg=float(np.degrees(lat)), lon_deg=float(np.degrees(lon)),
                   alt_km=float(alt) / 1e3, **fields)

    def tracks(self, t_s: float, ids: np.ndarray, x: np.ndarray, pos_sigma_m: np.ndarray,
               truth: np.ndarray, error_m: np.ndarray) -> None:
        lat, lon, alt = geo.ecef_to_geodetic(x[:, :3])
        self._track_blocks.append({
            "t_s": np.full(len(ids), float(t_s)), "track": np.asarray(ids).astype(str),
            "x_m": x[:, 0], "y_m": x[:, 1], "z_m": x[:, 2], "vx_ms": x[:, 3], "vy_ms": x[:, 4], "vz_ms": x[:, 5],
            "lat_deg": np.degrees(lat), "lon_deg": np.degrees(lon), "alt_km": alt / 1e3,
            "pos_sigma_m": pos_sigma_m, "truth": truth, "error_m": error_m})

    def picture(self, *row: float) -> None:
        """One row of :data:`PICTURE_COLUMNS` (in that order)."""
        self._picture.append(row)

    def picture_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._picture, columns=list(PICTURE_COLUMNS)).astype(
            {c: int for c in ("truths", "tracks", "tracked_truths", "assigned_tracks", "spurious_tracks")})

    def events_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self._events, columns=list(EVENT_COLUMNS))
        for col, fill in EVENT_COLUMNS.items():
            if isinstance(fill, bool):
                frame[col] = [bool(v) if isinstance(v, bool | np.bool_) else fill for v in frame[col]]
            elif isinstance(fill, float):
                frame[col] = frame[col].astype(float)
            else:
                frame[col] = [v if isinstance(v, str) else fill for v in frame[col]]
            frame[col] = frame[col].astype(bool if isinstance(fill, bool) else float if isinstance(fill, float) else str)
        return frame

    def tracks_frame(self) -> pd.DataFrame:
        if not self._track_blocks:
            return pd.DataFrame({c: pd.Series(dtype=str if c in ("track", "truth") else float) for c in TRACK_COLUMNS})
        cols = {c: np.concatenate([b[c] for b in self._track_blocks]) for c in TRACK_COLUMNS}
        frame = pd.DataFrame(cols)
        frame["truth"] = frame["truth"].astype(str)
        frame["track"] = frame["track"].astype(str)
        return frame
