"""Scenario schema (pydantic): the YAML a user writes, with units in key names.

Every model forbids unknown keys so that a typo (``latency_s`` for ``latency_ms``) is reported rather
than silently ignored. Cross-references (a battery's nation, a threat's aim asset, a class name) are
checked in :mod:`shieldwall.scenario.references`, which sees the whole file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Authority = Literal["delegated", "national_approval", "national_only"]
TrajectoryType = Literal["minimum-energy", "lofted", "depressed"]
LinkKind = Literal["terrestrial", "satcom", "tactical-data-link"]
Tier = Literal["upper", "mid", "lower"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# Catalog classes (shipped in scenario/data/*.yaml; a scenario may add or override entries).


class MissileClass(Strict):
    """A generic ballistic-missile class; figures are public order-of-magnitude values."""

    description: str = ""
    source: str = ""
    burn_time_s: float = Field(gt=0)
    burnout_speed_max_kms: float = Field(gt=0, le=8.0)
    ballistic_coefficient_kgm2: float = Field(gt=0)
    rcs_m2: float = Field(gt=0)
    nominal_range_km: tuple[float, float]

    @model_validator(mode="after")
    def _range_ordered(self) -> MissileClass:
        lo, hi = self.nominal_range_km
        if not 0 < lo <= hi:
            raise ValueError(f"nominal_range_km is {[lo, hi]} (expected [min, max] with 0 < min <= max)")
        return self


class SensorClass(Strict):
    """A generic sensor class: a radar (range/azimuth/elevation plots) or a space-based IR sensor."""

    description: str = ""
    source: str = ""
    kind: Literal["radar", "ir"]
    max_range_km: float = Field(gt=0)
    half_fov_az_deg: float = Field(gt=0, le=180)
    min_el_deg: float = Field(ge=-10, le=90)
    max_el_deg: float = Field(ge=-10, le=90)
    revisit_s: float = Field(gt=0)
    range_sigma_m: float = Field(default=50.0, gt=0)
    angle_sigma_mrad: float = Field(default=1.0, gt=0)
    snr_ref_db: float = 20.0
    ref_range_km: float = Field(default=1000.0, gt=0)
    pfa: float = Field(default=1e-6, gt=0, lt=1)
    false_alarms_per_scan: float = Field(default=0.0, ge=0)
    pos_sigma_m: float = Field(default=2000.0, gt=0)
    pd: float = Field(default=0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _elevations_ordered(self) -> SensorClass:
        if self.min_el_deg > self.max_el_deg:
            raise ValueError(f"min_el_deg {self.min_el_deg} is above max_el_deg {self.max_el_deg} "
                             "(expected min_el_deg <= max_el_deg)")
        return self


class InterceptorClass(Strict):
    """A generic interceptor class of one defence tier."""

    description: str = ""
    source: str = ""
    tier: Tier
    burnout_speed_kms: float = Field(gt=0)
    burn_time_s: float = Field(gt=0)
    min_alt_km: float = Field(ge=0)
    max_alt_km: float = Field(gt=0)
    max_range_km: float = Field(gt=0)
    reaction_time_s: float = Field(ge=0)
    pk: float = Field(gt=0, le=1)
    divert_km: float = Field(gt=0)
    fire_channels: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _altitudes_ordered(self) -> InterceptorClass:
        if self.min_alt_km >= self.max_alt_km:
            raise ValueError(f"min_alt_km {self.min_alt_km} is not below max_alt_km {self.max_alt_km} "
                             "(expected min_alt_km < max_alt_km)")
        return self


class Catalog(Strict):
    missiles: dict[Identifier, MissileClass] = {}
    sensors: dict[Identifier, SensorClass] = {}
    interceptors: dict[Identifier, InterceptorClass] = {}


# --------------------------------------------------------------------------------------------------
# The scenario proper.


class Point(Strict):
    lat_deg: Latitude
    lon_deg: Longitude


class Nation(Strict):
    id: Identifier
    name: str
    territory: list[tuple[Latitude, Longitude]] = Field(
        min_length=3, description="Polygon vertices as [lat_deg, lon_deg] pairs.")


class C2Node(Strict):
    id: Identifier
    kind: Literal["alliance", "national"]
    nation: Identifier | None = None
    lat_deg: Latitude = 0.0
    lon_deg: Longitude = 0.0
    approval_time_mean_s: float = Field(default=20.0, ge=0)
    approval_time_sd_s: float = Field(default=5.0, ge=0)
    approval_deadline_s: float | None = Field(
        default=None, gt=0, description="Longest national decision [s]; a decision not made by then is a "
        "denial (timeout = deny). Default: no deadline but the engagement window's own.")
    approval_denial_rate: float = Field(default=0.0, ge=0, le=1, description="Fraction of orders denied.")

    @model_validator(mode="after")
    def _national_needs_nation(self) -> C2Node:
        if self.kind == "national" and self.nation is None:
            raise ValueError("a national C2 node needs 'nation' (expected a nation id)")
        return self


class Asset(Strict):
    id: Identifier
    nation: Identifier
    lat_deg: Latitude
    lon_deg: Longitude
    radius_km: float = Field(gt=0)
    value: float = Field(gt=0)


class Sensor(Strict):
    id: Identifier
    sensor_class: Identifier = Field(alias="class")
    nation: Identifier
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: float = 0.0
    boresight_az_deg: float = Field(default=0.0, ge=0, lt=360)
    reports_to: Identifier


class Battery(Strict):
    id: Identifier
    interceptor_class: Identifier = Field(alias="class")
    nation: Identifier
    lat_deg: Latitude
    lon_deg: Longitude
    inventory: int = Field(ge=0)
    authority: Authority = "delegated"
    reports_to: Identifier
    defends: list[Identifier] | None = Field(
        default=None, description="Nations whose assets this battery may defend (default: all).")


class Link(Strict):
    between: tuple[Identifier, Identifier]
    kind: LinkKind = "terrestrial"
    latency_ms: float = Field(ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)
    loss: float = Field(default=0.0, ge=0, lt=1)


class Aim(Strict):
    asset: Identifier | None = None
    lat_deg: Latitude | None = None
    lon_deg: Longitude | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Aim:
        has_point = self.lat_deg is not None and self.lon_deg is not None
        if (self.asset is None) == (not has_point):
            raise ValueError("give either 'asset' or both 'lat_deg' and 'lon_deg' (expected exactly one aim)")
        return self


class Threat(Strict):
    id: Identifier
    missile_class: Identifier = Field(alias="class")
    launch: Point
    aim: Aim
    launch_time_s: float = Field(ge=0)
    count: int = Field(default=1, ge=1, le=1000)
    spacing_s: float = Field(default=0.0, ge=0)
    trajectory: TrajectoryType = "minimum-energy"


class Doctrine(Strict):
    salvo_size: int = Field(default=1, ge=1, le=4)
    high_value_salvo_size: int = Field(default=2, ge=1, le=4)
    high_value_threshold: float = Field(default=50.0, ge=0)
    shoot_look_shoot: bool = True
    kill_assessment_delay_s: float = Field(default=8.0, ge=0)
    allow_duplicate_engagements: bool = False
    min_raid_negation: float = Field(default=0.0, ge=0, lt=1)
    interceptor_cost: dict[Tier, Annotated[float, Field(ge=0)]] = {}


class ExpectedThreats(Strict):
    asset: Identifier
    count: int = Field(ge=1, le=1000)
    probability: float = Field(default=1.0, gt=0, le=1)


class Assignment(Strict):
    solver: Literal["auto", "exact", "fast", "greedy"] = "auto"
    planning: Literal["one-shot", "multi-stage"] = "one-shot"
    expected_threats: list[ExpectedThreats] = []


# --------------------------------------------------------------------------------------------------
# National policies: data-sharing agreements, consent to intercepts over territory, rules of
# engagement, changes of command authority. In the scenario (``policies``) or in policy files a
# nation owns (``policy_files``); at most one policy per nation.

InfoKind = Literal["plots", "tracks", "threat_assessments", "launch_estimates", "sensor_identity",
                   "battery_status"]
#: ``alliance``: the alliance C2 node and every member nation; ``nobody``; or a list of nation ids and
#: ``alliance_c2`` (the alliance C2 node alone).
Recipients = Literal["alliance", "nobody"] | list[Identifier]


class SharingRule(Strict):
    """Who may receive one kind of a nation's information, and how it is reduced before release."""

    info: InfoKind
    to: Recipients = "alliance"
    coarsen_m: float = Field(default=0.0, ge=0, description=(
        "plots, tracks: positions rounded to a grid of this size [m] and the covariance widened by the "
        "rounding's variance (grid^2 / 12 per axis) before release."))


class Overflight(Strict):
    """Consent to intercepts over the nation's territory (intercept point or debris footprint)."""

    intercepts_by: Recipients = Field(default="alliance", description=(
        "Nations whose batteries may intercept over this territory (its own always may)."))
    over_third_countries: bool = Field(default=True, description=(
        "May this nation's batteries intercept over a country that is neither its own nor the "
        "defended asset's nation?"))


class AuthorityChange(Strict):
    """A change of command authority of some of the nation's batteries during the run."""

    batteries: list[Identifier] | Literal["all"] = "all"
    to: Authority
    at_s: float | None = Field(default=None, ge=0)
    when: Literal["first_launch_detected"] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> AuthorityChange:
        if (self.at_s is None) == (self.when is None):
            raise ValueError("give either 'at_s' or 'when' (expected exactly one trigger)")
        return self


class Policy(Strict):
    """One nation's rules. Information kinds without a sharing rule go to the whole alliance."""

    nation: Identifier
    sharing: list[SharingRule] = []
    overflight: Overflight = Overflight()
    engage_classes: list[Identifier] | None = Field(default=None, description=(
        "Rules of engagement: missile classes (catalog names) the nation's batteries may engage, judged "
        "from each track's estimated ground range; default: all."))
    authority_changes: list[AuthorityChange] = []


class Settings(Strict):
    duration_s: float = Field(gt=0, le=36_000)
    seed: int = Field(default=0, ge=0)
    decision_period_s: float = Field(default=2.0, gt=0)
    track_report_period_s: float = Field(default=2.0, gt=0)
    tracker_motion: Literal["ballistic", "imm"] = "ballistic"
    track_initiation: Literal["one-point", "two-point"] = "one-point"


class Scenario(Strict):
    name: str
    description: str = ""
    settings: Settings
    catalog: Catalog = Catalog()
    nations: list[Nation] = Field(min_length=1)
    c2_nodes: list[C2Node] = Field(min_length=1)
    assets: list[Asset] = Field(min_length=1)
    sensors: list[Sensor] = Field(min_length=1)
    batteries: list[Battery] = []
    links: list[Link] = []
    threats: list[Threat] = Field(min_length=1)
    doctrine: Doctrine = Doctrine()
    assignment: Assignment = Assignment()
    policies: list[Policy] = []
    policy_files: list[str] = Field(default=[], description=(
        "YAML files, relative to the scenario file, each holding one policy or a list of them."))
