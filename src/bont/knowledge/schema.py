"""The shape of the knowledge files, validated by pydantic before anything becomes a domain object.

A figure may be written bare (``total_units: 155``), inheriting the citation of the block around it
(``cite:`` on the protocol, row, product or file), or with its own citation
(``total_units: {value: 155, cite: {source: botox-pi, at: "§2.2", grade: label}}``). A maximum, interval or
per-site figure is never bare: its citation names its kind (``limit`` or ``recommendation``) and quotes the
source's words (``quote:``), because the wording, not the number, decides whether it blocks.
Unknown keys are errors, so a misspelt field never passes silently.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bont.domain.adverse_events import ReactionKind
from bont.domain.anatomy import BodyRegion, DiagramView, TargetKind
from bont.domain.evidence import FigureKind, Grade, SourceKind
from bont.domain.indications import Specialty
from bont.domain.outcomes import ContinuationKind, Direction, InstrumentKind, LicenceStatus, ResponderRule
from bont.domain.populations import Population
from bont.domain.products import Formulation, LimitScope, Serotype
from bont.domain.protocols import Guidance, LabelStatus, Laterality, Route
from bont.domain.studies import Design, TrialStatus
from bont.domain.vocabulary import Concern, Interaction

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CiteModel(Strict):
    source: str
    grade: Grade | None = None
    at: str | None = None
    note: str | None = None
    kind: FigureKind | None = None
    quote: str | None = None  # the source's own few words the figure rests on


class CitedValue(Strict, Generic[T]):
    value: T
    cite: CiteModel


class LimitCiteModel(CiteModel):
    """The citation of a maximum, interval or per-site figure: it must say its kind, and the loader refuses a
    blocking one (a label-graded limit) without the label's wording."""

    kind: FigureKind


class LimitValue(CitedValue[T], Generic[T]):
    """A maximum, interval or per-site figure: never bare, so it never inherits its protocol's citation."""

    cite: LimitCiteModel


class Range(Strict):
    min: Decimal = Field(ge=0)
    max: Decimal = Field(ge=0)


class CountRangeModel(Strict):
    min: int = Field(ge=0)
    max: int = Field(ge=0)


Amount = Decimal | Range
Count = int | CountRangeModel


class AgesModel(Strict):
    min: Decimal = Field(ge=0)
    below: Decimal | None = None


class SourceModel(Strict):
    id: str
    kind: SourceKind
    title: str
    short: str | None = Field(None, min_length=2, max_length=40)  # as a citation names it on a page
    url: str | None = None
    revision: str | None = None
    pmid: str | None = None
    doi: str | None = None


class SourcesFile(Strict):
    sources: list[SourceModel]


# -- products


class CodingModel(Strict):
    """A code of a code system (the system is the field's: SNOMED CT for a target, RxNorm for a product) with
    the system's display text and where the code was read."""

    code: str = Field(pattern=r"^[0-9A-Za-z\[\]'._-]{1,40}$")
    display: str = Field(min_length=1, max_length=200)
    cite: CiteModel


class VialModel(Strict):
    units: Decimal = Field(gt=0)
    ndc: str | CitedValue[str] | None = None
    solution_ml: Decimal | None = None
    cite: CiteModel | None = None


class ReconstitutionModel(Strict):
    vial_units: Decimal = Field(gt=0)
    diluent_ml: Decimal = Field(gt=0)
    intermediate: bool = False  # the in-vial step of a two-step preparation, not injected from as it is
    cite: CiteModel | None = None


class BillingModel(Strict):
    code: str
    units_per_billing_unit: Decimal = Field(gt=0)
    cite: CiteModel | None = None


class ApprovalModel(Strict):
    indication: str
    population: Population
    ages: AgesModel
    wording: str
    excludes: list[str] = []
    cite: CiteModel | None = None


class WindowModel(Strict):
    days: int | None = None
    months: int | None = None


class DoseLimitModel(Strict):
    population: Population
    scope: LimitScope
    indications: list[str] = []
    units: Decimal | None = None
    per_kg: Decimal | None = None
    cap: Decimal | None = None
    window: WindowModel | None = None
    cite: LimitCiteModel


class ExcipientModel(Strict):
    allergen: str
    cite: CiteModel | None = None


class ProductFile(Strict):
    id: str
    established_name: str
    brand: str
    manufacturer: str
    label: str
    cite: CiteModel
    serotype: Serotype | CitedValue[Serotype]
    formulation: Formulation
    vials: list[VialModel]
    diluent: str | CitedValue[str]
    reconstitution: list[ReconstitutionModel]
    storage_unopened: str | CitedValue[str]
    beyond_use_hours: LimitValue[int] | None = None
    beyond_use_storage: str | CitedValue[str] | None = None
    excipients: list[ExcipientModel]
    hcpcs: BillingModel
    approvals: list[ApprovalModel]
    limits: list[DoseLimitModel] = []
    boxed_warning: str | CitedValue[str]
    rxnorm: CodingModel | None = None  # the ingredient's RxCUI, for FHIR's Medication.code


# -- indications and protocols


class MuscleDoseModel(Strict):
    muscle: str
    side: Laterality
    units: Amount | CitedValue[Amount] | None = None
    units_per_kg: Amount | CitedValue[Amount] | None = None
    sites: Count | CitedValue[Count] | None = None
    max_units: LimitValue[Decimal] | None = None
    optional: bool = False
    pattern: str | None = None
    note: str | None = None
    cite: CiteModel | None = None


class SessionMaximumModel(Strict):
    per_kg: Decimal = Field(gt=0)
    cap: Decimal = Field(gt=0)


class WeightBandModel(Strict):
    min_kg: Decimal = Field(ge=0)
    below_kg: Decimal | None = None
    units: Decimal = Field(gt=0)
    muscles: dict[str, Decimal] = {}
    cite: CiteModel | None = None


class CumulativeModel(Strict):
    units: Decimal = Field(gt=0)
    window: WindowModel


class DilutionModel(Strict):
    vial_units: Decimal = Field(gt=0)
    diluent_ml: Decimal = Field(gt=0)
    cite: CiteModel | None = None


class PreparationModel(Strict):
    """A label's two-step preparation: ``vial_diluent_ml`` into each vial, then the dose drawn in equal parts into
    ``syringes`` syringes, each topped up with saline to ``syringe_ml``. ``draw_ml`` and ``add_ml`` are the
    label's own per-syringe figures for the protocol's dose, checked against that arithmetic when given."""

    vial_units: Decimal = Field(gt=0)
    vial_diluent_ml: Decimal = Field(gt=0)
    syringes: int = Field(ge=1)
    syringe_ml: Decimal = Field(gt=0)
    draw_ml: Decimal | None = Field(default=None, gt=0)
    add_ml: Decimal | None = Field(default=None, ge=0)
    cite: CiteModel | None = None


class NoteModel(Strict):
    text: str
    cite: CiteModel | None = None


class ProtocolModel(Strict):
    product: str
    population: Population
    status: LabelStatus
    title: str
    variant: str | None = None
    cite: CiteModel
    ages: AgesModel | CitedValue[AgesModel]
    route: Route
    guidance: list[Guidance]
    muscles: list[MuscleDoseModel]
    # Doses: what the label or study gives; exceeding one warns (a dose is a recommendation, never a limit).
    initial_units: Amount | CitedValue[Amount] | None = None
    total_units: Amount | CitedValue[Amount] | None = None
    total_units_per_kg: Amount | CitedValue[Amount] | None = None
    weight_bands: list[WeightBandModel] = []
    sites: Count | CitedValue[Count] | None = None
    volume_per_site_ml: Decimal | CitedValue[Decimal] | None = None
    # Maximums, intervals and per-site figures: each with its own citation, kind and wording.
    session_maximum: LimitValue[Decimal | SessionMaximumModel] | None = None
    per_side_maximum: LimitValue[Decimal | SessionMaximumModel] | None = None
    max_units_per_site: LimitValue[Decimal] | None = None
    max_volume_per_site_ml: LimitValue[Decimal] | None = None
    cumulative_limit: LimitValue[CumulativeModel] | None = None
    min_interval_days: LimitValue[int] | None = None
    dilutions: list[DilutionModel] = []
    preparations: list[PreparationModel] = []
    notes: list[str | NoteModel] = []


class CodeModel(Strict):
    code: str
    description: str
    cite: CiteModel | None = None


class EvidenceModel(Strict):
    source: str
    products: list[str] = []
    summary: str
    level: str | None = None


class IndicationFile(Strict):
    id: str
    name: str
    aliases: list[str] = []
    specialties: list[Specialty]
    populations: list[Population]
    summary: str
    cite: CiteModel
    icd10: list[CodeModel]
    cpt: list[CodeModel] = []
    evidence: list[EvidenceModel] = []
    protocols: list[ProtocolModel] = []


# -- anatomy and vocabulary


class DiagramPointModel(Strict):
    view: DiagramView
    x: Decimal
    y: Decimal


class TargetModel(Strict):
    id: str
    name: str
    region: BodyRegion
    kind: TargetKind = TargetKind.MUSCLE
    paired: bool = True
    aliases: list[str] = []
    diagram: list[DiagramPointModel]
    snomed: CodingModel | None = None  # the body structure, for FHIR's bodySite


class RouteModel(Strict):
    id: str
    target_kinds: list[TargetKind] = Field(min_length=1)
    snomed: CodingModel


class LateralityModel(Strict):
    left: CodingModel
    right: CodingModel
    bilateral: CodingModel


class TerminologyFile(Strict):
    """terminology.yaml: the codes a record is exchanged in beside those of targets, products and instruments."""

    routes: list[RouteModel]
    laterality: LateralityModel
    dose_unit: CodingModel  # UCUM
    procedure: CodingModel  # SNOMED CT
    substances: dict[Serotype, CodingModel]  # SNOMED CT, by serotype
    body_weight: CodingModel  # LOINC


class TargetsFile(Strict):
    targets: list[TargetModel]


class RegionalViewModel(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    drawing: DiagramView
    box: list[Decimal] = Field(min_length=4, max_length=4)  # x, y, width, height in the drawing's percent


class PatternPointModel(Strict):
    name: str
    x: Decimal
    y: Decimal


class SitePatternModel(Strict):
    indication: str
    target: str
    drawing: DiagramView
    cite: CiteModel
    points: list[PatternPointModel] = Field(min_length=1)


class CanvasFile(Strict):
    views: list[RegionalViewModel]
    spacing: dict[DiagramView, Decimal] = {}  # how far apart a muscle's spread sites are drawn, per drawing
    patterns: list[SitePatternModel] = []


class ConditionModel(Strict):
    id: str
    name: str
    concern: Concern
    icd10: list[str]
    aliases: list[str] = []
    cite: CiteModel


class DrugClassModel(Strict):
    id: str
    name: str
    interaction: Interaction
    members: list[str]
    cite: CiteModel


class AllergenModel(Strict):
    id: str
    name: str
    aliases: list[str] = []
    cite: CiteModel


class CautionModel(Strict):
    id: str
    name: str
    days: int = Field(gt=0)
    cite: CiteModel


class VocabularyFile(Strict):
    cautions: list[CautionModel]
    conditions: list[ConditionModel]
    drug_classes: list[DrugClassModel]
    allergens: list[AllergenModel]


class MedicinesFile(Strict):
    """medicines.yaml: the table of everyday medicine names (a CSV file beside it) and its citation."""

    names: str = Field(pattern=r"^[\w-]+\.csv$")
    cite: CiteModel


# -- outcome instruments, responder definitions and continuation rules (instruments.yaml)


class LicenceModel(Strict):
    status: LicenceStatus
    why: str
    cite: CiteModel


class ItemModel(Strict):
    key: str
    min: int
    max: int


class BandModel(Strict):
    label: str
    min: Decimal
    max: Decimal | None = None


class InstrumentRangeModel(Strict):
    min: Decimal | None = None
    max: Decimal | None = None


class InstrumentModel(Strict):
    id: str
    name: str
    indications: list[str] = Field(min_length=1)
    kind: InstrumentKind
    direction: Direction
    licence: LicenceModel
    cite: CiteModel
    unit: str | None = None
    range: InstrumentRangeModel | None = None
    whole: bool = False
    grades: list[str] = []
    items: list[ItemModel] = []
    bands: list[BandModel] = []
    rho: Decimal | None = None
    loinc: str | None = None
    note: str | None = None


class HeadacheDayRulesModel(Strict):
    cite: CiteModel
    min_headache_minutes: int | CitedValue[int]
    min_pain_features: int | CitedValue[int]
    min_aura_minutes: int | CitedValue[int]
    max_aura_minutes: int | CitedValue[int]
    migraine_specific_medication_makes_migraine_day: bool | CitedValue[bool]


class ResponderModel(Strict):
    id: str
    indication: str
    instrument: str
    rule: ResponderRule
    threshold: Decimal | None = None
    target_grade: str | None = None
    description: str
    cite: CiteModel


class ContinuationModel(Strict):
    id: str
    indication: str
    instrument: str
    kind: ContinuationKind
    threshold: Decimal
    cycles: int | None = Field(default=None, ge=1)
    months: int | None = Field(default=None, ge=1)
    description: str
    cite: CiteModel


class InstrumentsFile(Strict):
    instruments: list[InstrumentModel]
    headache_day_rules: HeadacheDayRulesModel
    responders: list[ResponderModel]
    continuation: list[ContinuationModel]


# -- adverse-event terms and the criteria of a serious event (adverse-events.yaml)


class TreatmentsModel(Strict):
    indications: list[str] = []
    routes: list[Route] = []
    targets: list[str] = []
    cite: CiteModel | None = None


class AdverseEventTermModel(Strict):
    id: str
    name: str
    kind: ReactionKind
    aliases: list[str] = []
    cite: CiteModel
    concerns: list[TreatmentsModel] = []
    spread: CiteModel | None = None


class SeriousnessModel(Strict):
    criteria: list[str] = Field(min_length=1)
    cite: CiteModel


class AdverseEventsFile(Strict):
    seriousness: SeriousnessModel
    terms: list[AdverseEventTermModel]


# -- billing rules (billing.yaml): each rule stated in words, with its citation


class BillingRuleModel(Strict):
    statement: str = Field(min_length=1)
    cite: CiteModel


class RoundingRuleModel(BillingRuleModel):
    rounding: Literal["up"]  # the only rule read in a source: the administered amount is rounded up


class PlaceOfServiceRuleModel(BillingRuleModel):
    default: str = Field(pattern=r"^[0-9]{2}$")


class BillingFile(Strict):
    administered_units: RoundingRuleModel
    discarded_units: BillingRuleModel
    jw_jz: BillingRuleModel
    procedure_once: BillingRuleModel
    guidance: BillingRuleModel
    ndc_format: BillingRuleModel
    ndc_units: BillingRuleModel
    place_of_service: PlaceOfServiceRuleModel
    npi: BillingRuleModel


# -- the study catalogue (data/studies/*.yaml; see bont.knowledge.catalogue)

SHORT_TEXT = 300  # characters: a field longer than this reads like copied abstract text


class LevelModel(Strict):
    scheme: str
    grade: str
    indication: str | None = None
    product: str | None = None
    source: str | None = None


class ResultModel(Strict):
    outcome: str = Field(max_length=SHORT_TEXT)
    effect: str | None = Field(default=None, max_length=SHORT_TEXT)
    interval: str | None = None
    p: str | None = None


class StudyModel(Strict):
    id: str
    title: str
    year: int = Field(ge=1970, le=2100)
    design: Design
    indications: list[str] = Field(min_length=1)
    products: list[str] = []
    other_products: list[str] = []
    authors: list[str] = []
    journal: str | None = None
    citation: str | None = None
    pmid: str | None = None
    doi: str | None = None
    nct: str | None = None
    population: str | None = Field(default=None, max_length=SHORT_TEXT)
    participants: int | None = Field(default=None, ge=1)
    doses: str | None = Field(default=None, max_length=SHORT_TEXT)
    comparator: str | None = Field(default=None, max_length=SHORT_TEXT)
    result: ResultModel | None = None
    follow_up: str | None = Field(default=None, max_length=SHORT_TEXT)
    levels: list[LevelModel] = []
    source: str | None = None
    read_at: list[str] = Field(min_length=1)
    unverified: list[str] = []


class TrialModel(Strict):
    nct: str
    title: str
    status: TrialStatus
    indications: list[str] = Field(min_length=1)
    products: list[str] = []
    other_products: list[str] = []
    phase: str | None = None
    enrolment: int | None = Field(default=None, ge=0)
    sponsor: str | None = None
    start: date | None = None
    primary_completion: date | None = None
    results_posted: bool = False
    conditions: list[str] = []
    interventions: list[str] = []
    primary_outcome: str | None = Field(default=None, max_length=SHORT_TEXT)
    read_at: list[str] = Field(min_length=1)
    read_on: date
    unverified: list[str] = []


class StudiesFile(Strict):
    studies: list[StudyModel] = []
    trials: list[TrialModel] = []


class CatalogueIndex(Strict):
    """``data/studies/catalogue.yaml``: what the catalogue as a whole says."""

    research_areas: list[str]  # indications studied rather than established: their trials are listed first
