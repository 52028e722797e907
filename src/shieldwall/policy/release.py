"""The release gate: a node sends another nation's node a piece of its nation's information only as
that nation's agreements allow, reduced as they require, and audits the decision.

:func:`share` returns the node outputs for one message to one destination: the (maybe reduced)
:class:`~shieldwall.c2.node.Send` and an :class:`~shieldwall.c2.node.Audit` entry (``release``,
``reduced`` or ``withheld``, naming the deciding rule). Within a nation nothing is checked or audited.

Reductions (deterministic, so runs stay reproducible):

- *sensor identity* (the ``sensor_identity`` kind withheld from the recipient): a track report loses
  its sensor ids and sites; a plot report of range/azimuth/elevation plots becomes ECEF position plots
  with no sensor name or site, their noise the converted covariance's largest eigenvalue on every axis
  (an isotropic bound, so it stays one (3, 3) matrix per report);
- *coarsening* (``coarsen_m`` > 0 on ``plots`` or ``tracks``): positions rounded to a grid of that
  size and the position covariance widened by the rounding's variance, grid² / 12 per axis;
- *launch estimates* withheld from a threat warning: its launch fields are cleared.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shieldwall.c2.node import Audit, Output, Send
from shieldwall.comms.messages import EngagementStatus, PlotReport, ThreatWarning, TrackReport
from shieldwall.policy.rules import PolicyBook
from shieldwall.sensors.measurement import rae_covariance_to_ecef, rae_to_ecef

#: The information kind each message type carries.
INFO_OF = {TrackReport: "tracks", PlotReport: "plots", EngagementStatus: "battery_status",
           ThreatWarning: "threat_assessments"}


def share(policy: PolicyBook, owner: str, dest: str, msg: object,
          contributors: tuple[str, ...] | None = None) -> list[Output]:
    """Outputs that send ``msg`` (information of nation ``owner``) to node ``dest`` under ``policy``.

    ``contributors``: for a product derived from several nations' data (a threat warning from a fused
    track), the nations whose agreements must all allow it (default: ``owner``).
    """
    recipient = policy.node_nation.get(dest, "")
    nations = contributors or (owner,)
    if all(n == recipient for n in nations):
        return [Send(dest, msg)]
    info = INFO_OF[type(msg)]
    fields = _describe(msg, dest, recipient, info)
    for n in nations:
        if not policy.entitled(n, info, dest):
            return [Audit("withheld", policy.agreement(n, info).rule, fields)]
    msg, reductions, rule = _reduce(policy, nations, dest, msg)
    if not reductions:
        return [Send(dest, msg), Audit("release", policy.agreement(nations[0], info).rule, fields)]
    return [Send(dest, msg), Audit("reduced", rule, {**fields, "reductions": reductions})]


def _describe(msg: object, dest: str, recipient: str, info: str) -> dict:
    fields = {"message": type(msg).__name__, "info": info, "to": dest, "to_nation": recipient}
    if isinstance(msg, TrackReport):
        fields["tracks"] = [int(i) for i in msg.ids]
        fields["sensors"] = list(msg.sensor_ids)
    elif isinstance(msg, PlotReport):
        fields["sensors"] = [msg.sensor]
    elif isinstance(msg, ThreatWarning | EngagementStatus):
        fields["tracks"] = [int(msg.track)]
    return fields


def _reduce(policy: PolicyBook, nations: tuple[str, ...], dest: str, msg: object):
    """(reduced message, reductions in words, the rule behind the first one)."""
    reductions: list[str] = []
    rule = ""
    if isinstance(msg, ThreatWarning):
        for n in nations:
            if msg.launch_lat_deg is not None and not policy.entitled(n, "launch_estimates", dest):
                msg = dataclasses.replace(msg, launch_lat_deg=None, launch_lon_deg=None, launch_sigma_m=None)
                reductions.append("launch estimate removed")
                rule = rule or policy.agreement(n, "launch_estimates").rule
        return msg, reductions, rule
    if not isinstance(msg, TrackReport | PlotReport):
        return msg, reductions, rule
    owner = nations[0]
    if not policy.entitled(owner, "sensor_identity", dest):
        msg = _anonymous(msg)
        reductions.append("sensor identity and position removed")
        rule = rule or policy.agreement(owner, "sensor_identity").rule
    grid_m = policy.agreement(owner, INFO_OF[type(msg)]).coarsen_m
    if grid_m > 0:
        msg = _coarsened(msg, grid_m)
        reductions.append(f"positions coarsened to {grid_m:g} m")
        rule = rule or policy.agreement(owner, INFO_OF[type(msg)]).rule
    return msg, reductions, rule


def _anonymous(msg: TrackReport | PlotReport) -> TrackReport | PlotReport:
    if isinstance(msg, TrackReport):
        return dataclasses.replace(msg, sensor_ids=(), sensor_ecef=np.zeros((0, 3)),
                                   track_sensors=np.zeros((len(msg.ids), 0), bool))
    return dataclasses.replace(_as_positions(msg), sensor="", origin_ecef=np.zeros(3), basis=np.eye(3))


def _as_positions(msg: PlotReport) -> PlotReport:
    """Range/azimuth/elevation plots as ECEF position plots (noise: the isotropic bound)."""
    if msg.kind != "rae":
        return msg
    cov = rae_covariance_to_ecef(msg.z, msg.R, msg.basis)
    bound = float(np.linalg.eigvalsh(cov).max(initial=0.0))
    return dataclasses.replace(msg, kind="pos", z=rae_to_ecef(msg.z, msg.origin_ecef, msg.basis), R=bound * np.eye(3))


def _coarsened(msg: TrackReport | PlotReport, grid_m: float) -> TrackReport | PlotReport:
    widen = grid_m * grid_m / 12.0
    if isinstance(msg, TrackReport):
        x = msg.x.copy()
        x[:, :3] = np.round(x[:, :3] / grid_m) * grid_m
        P = msg.P.copy()
        P[:, [0, 1, 2], [0, 1, 2]] += widen
        return dataclasses.replace(msg, x=x, P=P)
    msg = _as_positions(msg)
    return dataclasses.replace(msg, z=np.round(msg.z / grid_m) * grid_m, R=msg.R + widen * np.eye(3))
