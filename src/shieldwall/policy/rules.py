"""National policies compiled for the nodes: plain, immutable data built once by the shell from the
scenario (``policies``), which nodes consult and never change.

Every answer names the rule that gave it, as the audit log records it:

- ``sharing:NATION:INFO`` (``...:default`` where the nation wrote no rule for that kind: the whole
  alliance receives it);
- ``overflight:NATION`` (consent to intercepts over NATION's territory), ``third-country:NATION``
  (NATION's refusal to intercept over third countries), ``roe:NATION`` (the threat classes NATION's
  batteries may engage), ``defends:BATTERY`` (the nations a battery may defend);
- ``delegation:NATION:K`` (NATION's K-th authority change), ``approval:NODE:decision|denial|deadline``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shieldwall.scenario.schema import Policy, Scenario

#: Recipient token of the alliance C2 node in sharing rules.
ALLIANCE_C2 = "alliance_c2"
#: Kinds of information a sharing rule governs.
INFO_KINDS = ("plots", "tracks", "threat_assessments", "launch_estimates", "sensor_identity", "battery_status")


@dataclass(frozen=True, slots=True)
class Agreement:
    """Who may receive one kind of a nation's information (``recipients`` None: the whole alliance;
    otherwise nation ids and :data:`ALLIANCE_C2`), the coarsening grid [m] and the rule's id."""

    recipients: frozenset[str] | None
    coarsen_m: float
    rule: str


@dataclass(frozen=True, slots=True)
class Delegation:
    """An authority change: ``batteries`` go to ``authority`` at ``at_s`` [s] or on event ``when``."""

    rule: str
    nation: str
    batteries: tuple[str, ...]
    authority: str
    at_s: float | None
    when: str | None


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every nation's rules, compiled. ``node_nation`` maps each node id to its nation (the alliance C2
    node to :data:`ALLIANCE_C2`)."""

    nations: tuple[str, ...]
    node_nation: dict[str, str]
    agreements: dict[tuple[str, str], Agreement] = field(default_factory=dict)
    overflight: dict[str, frozenset[str] | None] = field(default_factory=dict)  # territory -> who may
    third_countries: dict[str, bool] = field(default_factory=dict)  # may NATION intercept over others
    engage_classes: dict[str, frozenset[str] | None] = field(default_factory=dict)
    delegations: tuple[Delegation, ...] = ()

    def agreement(self, owner: str, info: str) -> Agreement:
        """``owner``'s agreement for ``info`` (the default where it wrote none: the whole alliance)."""
        found = self.agreements.get((owner, info))
        return found if found is not None else Agreement(None, 0.0, f"sharing:{owner}:{info}:default")

    def entitled(self, owner: str, info: str, dest_node: str) -> bool:
        """May node ``dest_node`` receive ``owner``'s ``info``? (A nation's own nodes always may.)"""
        recipient = self.node_nation.get(dest_node, "")
        if recipient == owner:
            return True
        recipients = self.agreement(owner, info).recipients
        return recipients is None or recipient in recipients

    def may_intercept_over(self, battery_nation: str, territory: str) -> bool:
        """Does ``territory`` consent to intercepts over it by ``battery_nation``'s batteries?"""
        allowed = self.overflight.get(territory)
        return territory == battery_nation or allowed is None or battery_nation in allowed

    def restricts_overflight(self) -> bool:
        """Whether any consent or third-country rule can forbid an intercept."""
        return (any(v is not None for v in self.overflight.values())
                or not all(self.third_countries.get(n, True) for n in self.nations))

    def may_engage(self, nation: str, threat_class: str) -> bool:
        allowed = self.engage_classes.get(nation)
        return allowed is None or threat_class in allowed


def _recipients(to: str | list[str], nations: tuple[str, ...]) -> frozenset[str] | None:
    if to == "alliance":
        return None
    if to == "nobody":
        return frozenset()
    return frozenset(to)


def policy_book(s: Scenario, alliance_id: str) -> PolicyBook:
    """Compile the scenario's policies (policy files already merged by the loader)."""
    nations = tuple(n.id for n in s.nations)
    node_nation = {c.id: (c.nation or "") for c in s.c2_nodes if c.kind == "national"}
    node_nation[alliance_id] = ALLIANCE_C2
    node_nation.update({x.id: x.nation for x in s.sensors})
    node_nation.update({b.id: b.nation for b in s.batteries})
    agreements, overflight, third, engage, delegations = {}, {}, {}, {}, []
    for p in s.policies:
        _compile(p, s, nations, agreements, overflight, third, engage, delegations)
    return PolicyBook(nations, node_nation, agreements, overflight, third, engage, tuple(delegations))


def _compile(p: Policy, s: Scenario, nations, agreements, overflight, third, engage, delegations) -> None:
    n = p.nation
    for rule in p.sharing:
        agreements[(n, rule.info)] = Agreement(_recipients(rule.to, nations), rule.coarsen_m, f"sharing:{n}:{rule.info}")
    overflight[n] = _recipients(p.overflight.intercepts_by, nations)
    third[n] = p.overflight.over_third_countries
    engage[n] = None if p.engage_classes is None else frozenset(p.engage_classes)
    own = tuple(b.id for b in s.batteries if b.nation == n)
    for k, change in enumerate(p.authority_changes):
        batteries = own if change.batteries == "all" else tuple(change.batteries)
        delegations.append(Delegation(f"delegation:{n}:{k}", n, batteries, change.to, change.at_s, change.when))
