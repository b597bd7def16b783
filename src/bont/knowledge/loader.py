"""Load the knowledge files, validate them and build the domain's ``KnowledgeBase``.

Everything is checked at start-up: the shape of every file (pydantic), every citation's source, every
cross-reference (products, indications, muscles, allergens) and every code's format. The first problem
raises ``KnowledgeError`` naming the file and the field.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bont.domain.adverse_events import AdverseEventTerm, ReactionKind, Seriousness, Treatments
from bont.domain.anatomy import DiagramPoint, Target
from bont.domain.billing import BillingRule, BillingRules
from bont.domain.canvas import Box, Canvas, PatternPoint, RegionalView, SitePattern, SitePosition
from bont.domain.codes import LOINC, NDC, RXNORM, SNOMED_CT, UCUM, Coding, CPTCode, HCPCSCode, ICD10CMCode
from bont.domain.doses import CountRange, UnitRange, Units, UnitsPerKg, WeightCappedDose
from bont.domain.errors import KnowledgeError
from bont.domain.evidence import Citation, Cited, FigureKind, Grade, Source
from bont.domain.indications import DiagnosisCode, EvidenceItem, Indication, ProcedureCode
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import (
    Band,
    ContinuationRule,
    HeadacheDayRules,
    Instrument,
    InstrumentKind,
    Item,
    Licence,
    ResponderDefinition,
    ResponderRule,
)
from bont.domain.populations import AgeRange
from bont.domain.products import Approval, BillingCode, DoseLimit, Product, Reconstitution, Vial
from bont.domain.protocols import CumulativeLimit, LabelStatus, MuscleDose, Protocol, WeightBand
from bont.domain.reconstitution import Preparation
from bont.domain.terminology import Route, Terminology
from bont.domain.vocabulary import Allergen, Caution, Condition, DrugClass, MedicineList
from bont.domain.windows import Window
from bont.knowledge import schema as s
from bont.knowledge.icd10cm import SimpleICD10CM

DEFAULT_DATA_DIR = Path(__file__).parent / "data"
# The label audit's rule (../shared/reference/label-audit.md §1): "in general" and "generally" make any figure
# advice; "recommended dose" and the like make it advice unless the same words state a limit ("maximum
# recommended dose", "should not be exceeded").
HEDGED_WORDING = ("in general", "generally")
RECOMMENDATION_WORDING = ("recommended dose", "recommended initial", "re-treatment schedule")
LIMIT_WORDING = (
    "not exceed",
    "not be exceeded",
    "not to exceed",
    "maximum",
    "no sooner than",
    "no more frequently",
    "contraindicated",
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
V = TypeVar("V")


# libyaml's C parser when PyYAML was built with it (about ten times faster than the pure-Python one).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DecimalLoader(_SafeLoader):  # type: ignore[valid-type, misc]
    """YAML loader that reads decimals as ``Decimal``, so 12.5 U is never a binary float."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(loader.construct_scalar(node).replace("_", ""))  # type: ignore[arg-type]


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def read_model(path: Path, model: type[M]) -> M:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_DecimalLoader)
    except (OSError, yaml.YAMLError) as error:
        raise KnowledgeError(path.name, "(file)", str(error).splitlines()[0]) from error
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise KnowledgeError(_relative(path), field, first["msg"]) from error


def _relative(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name != "data" else path.name


class _Builder:
    """Turns validated file models into domain objects, resolving citations and cross-references."""

    def __init__(self, sources: dict[str, Source]) -> None:
        self.sources = sources
        self.file = ""
        self.field = ""

    @contextmanager
    def at(self, field: str) -> Iterator[None]:
        previous = self.field
        self.field = f"{previous}.{field}" if previous else field
        try:
            yield
        except KnowledgeError:
            raise
        except (ValueError, KeyError, TypeError, ArithmeticError) as error:
            raise KnowledgeError(self.file, self.field, str(error)) from error
        finally:
            self.field = previous

    def fail(self, problem: str) -> KnowledgeError:
        return KnowledgeError(self.file, self.field, problem)

    def citation(self, model: s.CiteModel | None, inherited: Citation) -> Citation:
        if model is None:
            return inherited
        if model.source not in self.sources:
            raise self.fail(f"unknown source '{model.source}'")
        citation = Citation(
            source=self.sources[model.source],
            grade=model.grade or inherited.grade,
            locator=model.at if model.at is not None else None,
            note=model.note,
            kind=model.kind,
            wording=model.quote,
        )
        if citation.kind is FigureKind.LIMIT:
            self._check_limit_wording(citation)
        return citation

    def _check_limit_wording(self, citation: Citation) -> None:
        """A label-graded limit blocks, so it must quote the label's words, and those words must read as a
        limit: "recommended dose" or "in general" make a recommendation, whatever the number."""
        if not citation.grade.may_block:
            return
        if not citation.wording:
            raise self.fail("a blocking figure (kind: limit, graded from the label) needs the label's words: quote")
        text = citation.wording.casefold()
        hedged = any(phrase in text for phrase in HEDGED_WORDING)
        advice = any(phrase in text for phrase in RECOMMENDATION_WORDING)
        if hedged or (advice and not any(phrase in text for phrase in LIMIT_WORDING)):
            raise self.fail(f"the quoted words read as a recommendation, not a limit: '{citation.wording}'")

    def dose(self, name: str, raw: Any, inherited: Citation, convert: Callable[[Any], V]) -> Cited[V] | None:
        """A dose the label or study gives is a recommendation: a plan above it warns, never blocks; what may
        block is a maximum (``session_maximum``) stated with its own wording."""
        figure = self.optional(name, raw, inherited, convert)
        if figure is None:
            return None
        with self.at(name):
            return Cited(figure.value, self.recommendation(figure.citation))

    def recommendation(self, citation: Citation) -> Citation:
        if citation.kind is FigureKind.LIMIT:
            raise self.fail("a dose is a recommendation; give a limit as session_maximum with its wording")
        return dataclasses.replace(citation, kind=FigureKind.RECOMMENDATION)

    def root_citation(self, model: s.CiteModel) -> Citation:
        if model.grade is None:
            raise self.fail("the file's cite needs a grade")
        if model.source not in self.sources:
            raise self.fail(f"unknown source '{model.source}'")
        return Citation(self.sources[model.source], model.grade, model.at, model.note, model.kind, model.quote)

    # ``raw`` is a validated file value: either bare or wrapped with its own citation.
    def cited(self, raw: Any, inherited: Citation, convert: Callable[[Any], V]) -> Cited[V]:
        if isinstance(raw, s.CitedValue):
            return Cited(convert(raw.value), self.citation(raw.cite, inherited))
        return Cited(convert(raw), inherited)

    def coding(self, name: str, model: s.CodingModel, system: str) -> Cited[Coding]:
        """A code of ``system`` with its citation, which must grade it (a code inherits no file's grade)."""
        with self.at(f"{name}.cite"):
            return Cited(Coding(system, model.code, model.display), self.root_citation(model.cite))

    def optional(self, name: str, raw: Any, inherited: Citation, convert: Callable[[Any], V]) -> Cited[V] | None:
        if raw is None:
            return None
        with self.at(name):
            return self.cited(raw, inherited, convert)


def _identity(value: T) -> T:
    return value


R = TypeVar("R", UnitRange, UnitsPerKg)


def _product_range(kind: type[R], product: str) -> Callable[[s.Amount], R]:
    """A converter from a file's ``155`` or ``{min: 75, max: 400}`` to a range of the product's units."""

    def convert(amount: s.Amount) -> R:
        if isinstance(amount, s.Range):
            return kind(product, amount.min, amount.max)
        return kind(product, amount, amount)

    return convert


def _count(count: s.Count) -> CountRange:
    if isinstance(count, s.CountRangeModel):
        return CountRange(count.min, count.max)
    return CountRange(count, count)


def _ages(model: s.AgesModel) -> AgeRange:
    return AgeRange(model.min, model.below)


def _window(model: s.WindowModel) -> Window:
    return Window(days=model.days, months=model.months)


def load_knowledge(data_dir: Path | None = None) -> KnowledgeBase:
    """Load and validate the whole knowledge base; raises ``KnowledgeError`` naming file and field."""
    root = data_dir or DEFAULT_DATA_DIR
    sources_file = read_model(root / "sources.yaml", s.SourcesFile)
    sources: dict[str, Source] = {}
    for index, model in enumerate(sources_file.sources):
        if model.id in sources:
            raise KnowledgeError("sources.yaml", f"sources.{index}.id", f"duplicate source id '{model.id}'")
        sources[model.id] = Source(
            model.id, model.kind, model.title, model.url, model.revision, model.pmid, model.doi, model.short
        )
    builder = _Builder(sources)

    targets = _load_targets(root / "targets.yaml", builder)
    conditions, drug_classes, allergens, cautions = _load_vocabulary(root / "vocabulary.yaml", builder)
    products = _load_all(root / "products", s.ProductFile, builder, _build_product)
    indications = _load_all(root / "indications", s.IndicationFile, builder, _build_indication)
    outcomes = _load_instruments(root / "instruments.yaml", builder, set(indications))
    adverse_event_terms, seriousness = _load_adverse_events(root / "adverse-events.yaml", builder, indications, targets)
    medicines = _load_medicines(root / "medicines.yaml", builder)
    billing = _load_billing(root / "billing.yaml", builder)
    terminology = _load_terminology(root / "terminology.yaml", builder)
    canvas = _load_canvas(root / "canvas.yaml", builder, indications, targets)

    knowledge = KnowledgeBase(
        sources=sources,
        products=products,
        indications=indications,
        targets=targets,
        conditions=conditions,
        drug_classes=drug_classes,
        allergens=allergens,
        cautions=cautions,
        instruments=outcomes.instruments,
        headache_day_rules=outcomes.headache_day_rules,
        responder_definitions=outcomes.responder_definitions,
        continuation_rules=outcomes.continuation_rules,
        adverse_event_terms=adverse_event_terms,
        seriousness=seriousness,
        medicines=medicines,
        condition_codes=SimpleICD10CM(),  # loads ICD-10-CM on its first question, not here
        billing=billing,
        terminology=terminology,
        canvas=canvas,
    )
    _check_references(knowledge, root)
    return knowledge


def _load_all(
    folder: Path,
    model: type[M],
    builder: _Builder,
    build: Callable[[M, _Builder], Any],
) -> dict[str, Any]:
    items: dict[str, Any] = {}
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise KnowledgeError(folder.name, "(folder)", "no knowledge files found")
    for path in paths:
        parsed = read_model(path, model)
        builder.file, builder.field = _relative(path), ""
        item = build(parsed, builder)
        if item.id != path.stem:
            raise KnowledgeError(builder.file, "id", f"id '{item.id}' does not match the file name")
        items[item.id] = item
    return items


def _load_terminology(path: Path, builder: _Builder) -> Terminology | None:
    """The exchange codes of terminology.yaml; None for a knowledge base without the file (one built for a test)."""
    if not path.exists():
        return None
    parsed = read_model(path, s.TerminologyFile)
    builder.file, builder.field = path.name, ""
    routes = []
    for index, route in enumerate(parsed.routes):
        with builder.at(f"routes.{index}"):
            routes.append(Route(route.id, builder.coding("snomed", route.snomed, SNOMED_CT), tuple(route.target_kinds)))
    sides = parsed.laterality
    with builder.at("laterality"):
        laterality = {
            side: builder.coding(side, model, SNOMED_CT)
            for side, model in (("left", sides.left), ("right", sides.right), ("bilateral", sides.bilateral))
        }
    with builder.at("substances"):
        substances = {
            str(serotype): builder.coding(str(serotype), model, SNOMED_CT)
            for serotype, model in parsed.substances.items()
        }
    return Terminology(
        routes=tuple(routes),
        laterality=laterality,
        dose_unit=builder.coding("dose_unit", parsed.dose_unit, UCUM),
        procedure=builder.coding("procedure", parsed.procedure, SNOMED_CT),
        substances=substances,
        body_weight=builder.coding("body_weight", parsed.body_weight, LOINC),
    )


def _load_targets(path: Path, builder: _Builder) -> dict[str, Target]:
    parsed = read_model(path, s.TargetsFile)
    builder.file, builder.field = path.name, ""
    targets: dict[str, Target] = {}
    for index, model in enumerate(parsed.targets):
        with builder.at(f"targets.{index}"):
            if model.id in targets:
                raise builder.fail(f"duplicate target id '{model.id}'")
            targets[model.id] = Target(
                id=model.id,
                name=model.name,
                region=model.region,
                kind=model.kind,
                paired=model.paired,
                diagram=tuple(DiagramPoint(p.view, p.x, p.y) for p in model.diagram),
                aliases=tuple(model.aliases),
                snomed=builder.coding("snomed", model.snomed, SNOMED_CT) if model.snomed else None,
            )
    return targets


def _load_canvas(
    path: Path, builder: _Builder, indications: dict[str, Indication], targets: dict[str, Target]
) -> Canvas:
    """The regional views and label site patterns of canvas.yaml; an empty canvas for a knowledge base without
    the file (one built for a test)."""
    if not path.exists():
        return Canvas()
    parsed = read_model(path, s.CanvasFile)
    builder.file, builder.field = path.name, ""
    views: dict[str, RegionalView] = {}
    for index, view in enumerate(parsed.views):
        with builder.at(f"views.{index}"):
            x, y, width, height = view.box
            if width <= 0 or height <= 0 or x < 0 or y < 0 or x + width > 100 or y + height > 100:
                raise builder.fail(f"box [{', '.join(map(str, view.box))}] is not a window inside the drawing's 0–100")
            views[_unique(builder, views, view.id)] = RegionalView(view.id, view.title, view.drawing, Box(*view.box))
    patterns: dict[tuple[str, str], SitePattern] = {}
    for index, pattern in enumerate(parsed.patterns):
        with builder.at(f"patterns.{index}"):
            if pattern.indication not in indications:
                raise builder.fail(f"unknown indication '{pattern.indication}'")
            if pattern.target not in targets:
                raise builder.fail(f"unknown target '{pattern.target}'")
            if (pattern.indication, pattern.target) in patterns:
                raise builder.fail(f"a second pattern for {pattern.target} in {pattern.indication}")
            try:
                points = tuple(PatternPoint(p.name, SitePosition(pattern.drawing, p.x, p.y)) for p in pattern.points)
            except ValueError as error:
                raise builder.fail(str(error)) from None
            patterns[(pattern.indication, pattern.target)] = SitePattern(
                pattern.indication, pattern.target, Cited(points, builder.root_citation(pattern.cite))
            )
    for drawing, spacing in parsed.spacing.items():
        if not 0 < spacing <= 20:
            raise KnowledgeError(path.name, f"spacing.{drawing}", f"{spacing} is not more than 0 and up to 20")
    return Canvas(tuple(views.values()), patterns, dict(parsed.spacing))


def _load_vocabulary(
    path: Path, builder: _Builder
) -> tuple[dict[str, Condition], dict[str, DrugClass], dict[str, Allergen], dict[str, Caution]]:
    parsed = read_model(path, s.VocabularyFile)
    builder.file, builder.field = path.name, ""
    conditions: dict[str, Condition] = {}
    for index, condition in enumerate(parsed.conditions):
        with builder.at(f"conditions.{index}"):
            conditions[_unique(builder, conditions, condition.id)] = Condition(
                id=condition.id,
                name=condition.name,
                concern=condition.concern,
                icd10=tuple(ICD10CMCode(code) for code in condition.icd10),
                aliases=tuple(condition.aliases),
                citation=builder.root_citation(condition.cite),
            )
    drug_classes: dict[str, DrugClass] = {}
    for index, drug_class in enumerate(parsed.drug_classes):
        with builder.at(f"drug_classes.{index}"):
            drug_classes[_unique(builder, drug_classes, drug_class.id)] = DrugClass(
                id=drug_class.id,
                name=drug_class.name,
                interaction=drug_class.interaction,
                members=tuple(member.casefold() for member in drug_class.members),
                citation=builder.root_citation(drug_class.cite),
            )
    allergens: dict[str, Allergen] = {}
    for index, allergen in enumerate(parsed.allergens):
        with builder.at(f"allergens.{index}"):
            allergens[_unique(builder, allergens, allergen.id)] = Allergen(
                id=allergen.id,
                name=allergen.name,
                aliases=tuple(allergen.aliases),
                citation=builder.root_citation(allergen.cite),
            )
    cautions: dict[str, Caution] = {}
    for index, caution in enumerate(parsed.cautions):
        with builder.at(f"cautions.{index}"):
            cautions[_unique(builder, cautions, caution.id)] = Caution(
                id=caution.id, name=caution.name, days=caution.days, citation=builder.root_citation(caution.cite)
            )
    return conditions, drug_classes, allergens, cautions


MEDICINE_COLUMNS = ["name", "kind", "ingredients", "medlineplus"]


def _load_medicines(path: Path, builder: _Builder) -> MedicineList:
    """The everyday medicines: medicines.yaml cites the list, a CSV beside it holds the names. A copy of the
    knowledge files without medicines.yaml knows none (each medicine outside a drug class then warns)."""
    if not path.exists():
        return MedicineList()
    parsed = read_model(path, s.MedicinesFile)
    builder.file, builder.field = path.name, ""
    with builder.at("cite"):
        citation = builder.root_citation(parsed.cite)
    table = path.parent / parsed.names
    try:
        lines = table.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise KnowledgeError(path.name, "names", str(error)) from error
    comments = next((n for n, line in enumerate(lines) if not line.startswith("#")), len(lines))
    rows = list(csv.reader(lines[comments:]))  # comment lines open the file; the header follows them
    if not rows or rows[0] != MEDICINE_COLUMNS:
        raise KnowledgeError(table.name, f"line {comments + 1}", f"the columns are {','.join(MEDICINE_COLUMNS)}")
    rows = rows[1:]
    # Checked in bulk (the table has thousands of rows); only when that fails is the first bad row sought.
    names = {row[0]: tuple(row[2].split(";")) for row in rows if len(row) == len(MEDICINE_COLUMNS)}
    listed = "\n" + "\n".join(names) + "\n"
    ingredients = {name for name, found in names.items() if found == (name,)}
    valid = (
        len(names) == len(rows)
        and listed == listed.casefold()
        and not any(blank in listed for blank in ("\n\n", "\n ", " \n"))  # no name empty or padded
        and {row[1] for row in rows} <= {"ingredient", "alias"}
        and all(names[row[0]] == (row[0],) for row in rows if row[1] == "ingredient")
        and set(chain.from_iterable(names.values())) <= ingredients
    )
    if not valid:
        seen: set[str] = set()
        for number, row in enumerate(rows, comments + 2):
            problem = _medicine_row_problem(row, names) or (f"duplicate name '{row[0]}'" if row[0] in seen else None)
            if problem:
                raise KnowledgeError(table.name, f"line {number}", problem)
            seen.add(row[0])
    return MedicineList(names, citation)


def _medicine_row_problem(row: list[str], names: dict[str, tuple[str, ...]]) -> str | None:
    if len(row) != len(MEDICINE_COLUMNS):
        return f"expected {len(MEDICINE_COLUMNS)} columns, found {len(row)}"
    name, kind, _, _ = row
    if not name or name != name.strip().casefold() or "" in names[name]:
        return "a name and its ingredients are lower case and not empty"
    if kind not in ("ingredient", "alias"):
        return f"kind '{kind}' is neither ingredient nor alias"
    if kind == "ingredient" and names[name] != (name,):
        return f"the ingredient '{name}' must list itself"
    return next((f"'{i}' is not an ingredient of the list" for i in names[name] if names.get(i) != (i,)), None)


@dataclass(frozen=True)
class _Outcomes:
    instruments: dict[str, Instrument]
    headache_day_rules: HeadacheDayRules
    responder_definitions: tuple[ResponderDefinition, ...]
    continuation_rules: tuple[ContinuationRule, ...]


_NUMERIC_KINDS = (
    InstrumentKind.COUNT,
    InstrumentKind.TOTAL,
    InstrumentKind.MEASUREMENT,
    InstrumentKind.ITEMS,
    InstrumentKind.ANGLES,
    InstrumentKind.GOALS,
)
_GRADED_KINDS = (InstrumentKind.GRADE, InstrumentKind.BINARY)


def _load_instruments(path: Path, builder: _Builder, indications: set[str]) -> _Outcomes:
    """The outcome instruments, the headache-day rules, responder definitions and continuation rules."""
    parsed = read_model(path, s.InstrumentsFile)
    builder.file, builder.field = path.name, ""
    instruments: dict[str, Instrument] = {}
    for index, model in enumerate(parsed.instruments):
        with builder.at(f"instruments.{index}"):
            instruments[_unique(builder, instruments, model.id)] = _build_instrument(model, builder, indications)
    rules = parsed.headache_day_rules
    with builder.at("headache_day_rules"):
        root = builder.root_citation(rules.cite)
        headache_day_rules = HeadacheDayRules(
            min_headache_minutes=builder.cited(rules.min_headache_minutes, root, int),
            min_pain_features=builder.cited(rules.min_pain_features, root, int),
            min_aura_minutes=builder.cited(rules.min_aura_minutes, root, int),
            max_aura_minutes=builder.cited(rules.max_aura_minutes, root, int),
            migraine_specific_medication_makes_migraine_day=builder.cited(
                rules.migraine_specific_medication_makes_migraine_day, root, bool
            ),
        )
    responders: list[ResponderDefinition] = []
    for index, responder in enumerate(parsed.responders):
        with builder.at(f"responders.{index}"):
            _unique(builder, {r.id: r for r in responders}, responder.id)
            instrument = _outcome_target(builder, instruments, indications, responder.indication, responder.instrument)
            if responder.rule.uses_grades != (instrument.kind in _GRADED_KINDS):
                raise builder.fail(f"rule '{responder.rule}' does not fit a {instrument.kind} instrument")
            if responder.rule is ResponderRule.REACHES_GRADE:
                if responder.target_grade not in instrument.grades:
                    raise builder.fail(f"target_grade must be one of {instrument.range_text()}")
            elif responder.threshold is None:
                raise builder.fail(f"rule '{responder.rule}' needs a threshold")
            responders.append(
                ResponderDefinition(
                    id=responder.id,
                    indication=responder.indication,
                    instrument=responder.instrument,
                    rule=responder.rule,
                    description=responder.description,
                    citation=builder.root_citation(responder.cite),
                    threshold=responder.threshold,
                    target_grade=responder.target_grade,
                )
            )
    continuation: list[ContinuationRule] = []
    for index, rule in enumerate(parsed.continuation):
        with builder.at(f"continuation.{index}"):
            _unique(builder, {r.id: r for r in continuation}, rule.id)
            instrument = _outcome_target(builder, instruments, indications, rule.indication, rule.instrument)
            if instrument.kind not in _NUMERIC_KINDS:
                raise builder.fail(f"a continuation rule needs a numeric instrument, not a {instrument.kind}")
            continuation.append(
                ContinuationRule(
                    id=rule.id,
                    indication=rule.indication,
                    instrument=rule.instrument,
                    kind=rule.kind,
                    threshold=rule.threshold,
                    description=rule.description,
                    citation=builder.root_citation(rule.cite),
                    cycles=rule.cycles,
                    months=rule.months,
                )
            )
    return _Outcomes(instruments, headache_day_rules, tuple(responders), tuple(continuation))


def _outcome_target(
    builder: _Builder, instruments: dict[str, Instrument], indications: set[str], indication: str, instrument_id: str
) -> Instrument:
    if indication not in indications:
        raise builder.fail(f"unknown indication '{indication}'")
    if instrument_id not in instruments:
        raise builder.fail(f"unknown instrument '{instrument_id}'")
    instrument = instruments[instrument_id]
    if indication not in instrument.indications:
        raise builder.fail(f"instrument '{instrument_id}' is not listed for {indication}")
    return instrument


def _build_instrument(model: s.InstrumentModel, b: _Builder, indications: set[str]) -> Instrument:
    for index, indication in enumerate(model.indications):
        if indication not in indications:
            with b.at(f"indications.{index}"):
                raise b.fail(f"unknown indication '{indication}'")
    with b.at("cite"):
        citation = b.root_citation(model.cite)
    with b.at("licence.cite"):
        licence = Licence(model.licence.status, model.licence.why, b.root_citation(model.licence.cite))
    if model.items and not licence.items_bundled:
        with b.at("items"):
            raise b.fail(f"a {model.licence.status} instrument holds no items: record its total only")
    low = model.range.min if model.range else None
    high = model.range.max if model.range else None
    kind = model.kind
    with b.at("range"):
        if kind in _GRADED_KINDS and model.range is not None:
            raise b.fail("a graded instrument has grades, not a range")
        if kind in _NUMERIC_KINDS and kind is not InstrumentKind.GOALS and low is None:
            raise b.fail(f"a {kind} instrument needs a minimum")
        if low is not None and high is not None and low > high:
            raise b.fail("min is greater than max")
    with b.at("grades"):
        if (kind in _GRADED_KINDS) != bool(model.grades):
            raise b.fail(f"a {kind} instrument {'needs' if kind in _GRADED_KINDS else 'has no'} grades")
        if kind is InstrumentKind.BINARY and len(model.grades) != 2:
            raise b.fail("a binary instrument has exactly two grades: not reached, reached")
        if len(set(model.grades)) != len(model.grades):
            raise b.fail("a grade is listed twice")
    with b.at("items"):
        if (kind is InstrumentKind.ITEMS) != bool(model.items):
            raise b.fail(f"a {kind} instrument {'needs' if kind is InstrumentKind.ITEMS else 'has no'} items")
        if high is not None and sum(item.max for item in model.items) > high:
            raise b.fail("the items add up to more than the range's max")
    with b.at("rho"):
        if (kind is InstrumentKind.GOALS) != (model.rho is not None):
            raise b.fail("rho is given for Goal Attainment Scaling, and only for it")
        if model.rho is not None and not Decimal(0) <= model.rho < Decimal(1):
            raise b.fail("rho must be at least 0 and below 1")
    bands = []
    for index, band in enumerate(model.bands):
        with b.at(f"bands.{index}"):
            if band.max is not None and band.min > band.max:
                raise b.fail("min is greater than max")
            bands.append(Band(band.label, band.min, band.max))
    return Instrument(
        id=model.id,
        name=model.name,
        indications=tuple(model.indications),
        kind=kind,
        direction=model.direction,
        licence=licence,
        citation=citation,
        unit=model.unit,
        minimum=low,
        maximum=high,
        whole=model.whole,
        grades=tuple(model.grades),
        items=tuple(Item(item.key, item.min, item.max) for item in model.items),
        bands=tuple(bands),
        rho=model.rho,
        loinc=model.loinc,
        note=model.note,
    )


def _unique(builder: _Builder, existing: dict[str, Any], item_id: str) -> str:
    if item_id in existing:
        raise builder.fail(f"duplicate id '{item_id}'")
    return item_id


def _build_product(model: s.ProductFile, b: _Builder) -> Product:
    with b.at("cite"):
        root = b.root_citation(model.cite)
    if model.label not in b.sources:
        with b.at("label"):
            raise b.fail(f"unknown source '{model.label}'")
    product_id = model.id
    vials = []
    for index, vial in enumerate(model.vials):
        with b.at(f"vials.{index}"):
            vial_cite = b.citation(vial.cite, root)
            vials.append(
                Vial(
                    units=vial.units,
                    ndc=b.optional("ndc", vial.ndc, vial_cite, NDC),
                    solution_ml=vial.solution_ml,
                )
            )
    reconstitution = []
    for index, row in enumerate(model.reconstitution):
        with b.at(f"reconstitution.{index}"):
            if row.vial_units not in {vial.units for vial in vials}:
                raise b.fail(f"no {row.vial_units} U vial is listed for {product_id}")
            reconstitution.append(
                Cited(Reconstitution(row.vial_units, row.diluent_ml, row.intermediate), b.citation(row.cite, root))
            )
    approvals = []
    for index, approval in enumerate(model.approvals):
        with b.at(f"approvals.{index}"):
            approvals.append(
                Cited(
                    Approval(
                        approval.indication,
                        approval.population,
                        _ages(approval.ages),
                        approval.wording,
                        tuple(approval.excludes),
                    ),
                    b.citation(approval.cite, root),
                )
            )
    limits = []
    for index, limit in enumerate(model.limits):
        with b.at(f"limits.{index}"):
            maximum: Units | WeightCappedDose
            if limit.units is not None and limit.per_kg is None:
                maximum = Units(product_id, limit.units)
            elif limit.per_kg is not None and limit.cap is not None and limit.units is None:
                maximum = WeightCappedDose(product_id, limit.per_kg, limit.cap)
            else:
                raise b.fail("a limit has either units, or per_kg with cap")
            limits.append(
                Cited(
                    DoseLimit(
                        population=limit.population,
                        maximum=maximum,
                        scope=limit.scope,
                        indications=tuple(limit.indications),
                        window=_window(limit.window) if limit.window else None,
                    ),
                    b.citation(limit.cite, root),
                )
            )
    with b.at("hcpcs"):
        hcpcs = Cited(
            BillingCode(HCPCSCode(model.hcpcs.code), model.hcpcs.units_per_billing_unit),
            b.citation(model.hcpcs.cite, root),
        )
    with b.at("serotype"):
        serotype = b.cited(model.serotype, root, _identity)
    with b.at("diluent"):
        diluent = b.cited(model.diluent, root, _identity)
    with b.at("storage_unopened"):
        storage = b.cited(model.storage_unopened, root, _identity)
    with b.at("boxed_warning"):
        boxed = b.cited(model.boxed_warning, root, _identity)
    return Product(
        id=product_id,
        established_name=model.established_name,
        brand=model.brand,
        manufacturer=model.manufacturer,
        serotype=serotype,
        formulation=model.formulation,
        label=b.sources[model.label],
        vials=tuple(vials),
        diluent=diluent,
        reconstitution=tuple(reconstitution),
        storage_unopened=storage,
        beyond_use_hours=b.optional("beyond_use_hours", model.beyond_use_hours, root, int),
        beyond_use_storage=b.optional("beyond_use_storage", model.beyond_use_storage, root, _identity),
        excipients=tuple(Cited(excipient.allergen, b.citation(excipient.cite, root)) for excipient in model.excipients),
        hcpcs=hcpcs,
        approvals=tuple(approvals),
        limits=tuple(limits),
        boxed_warning=boxed,
        rxnorm=b.coding("rxnorm", model.rxnorm, RXNORM) if model.rxnorm else None,
    )


def _build_indication(model: s.IndicationFile, b: _Builder) -> Indication:
    with b.at("cite"):
        root = b.root_citation(model.cite)
    icd10 = []
    for index, code in enumerate(model.icd10):
        with b.at(f"icd10.{index}"):
            icd10.append(Cited(DiagnosisCode(ICD10CMCode(code.code), code.description), b.citation(code.cite, root)))
    cpt = []
    for index, code in enumerate(model.cpt):
        with b.at(f"cpt.{index}"):
            cpt.append(Cited(ProcedureCode(CPTCode(code.code), code.description), b.citation(code.cite, root)))
    evidence = []
    for index, item in enumerate(model.evidence):
        with b.at(f"evidence.{index}"):
            if item.source not in b.sources:
                raise b.fail(f"unknown source '{item.source}'")
            evidence.append(EvidenceItem(b.sources[item.source], tuple(item.products), item.summary, item.level))
    protocols = []
    for index, protocol in enumerate(model.protocols):
        with b.at(f"protocols.{index}"):
            protocols.append(_build_protocol(model.id, protocol, b))
    ids = [protocol.id for protocol in protocols]
    duplicates = {protocol_id for protocol_id in ids if ids.count(protocol_id) > 1}
    if duplicates:
        with b.at("protocols"):
            raise b.fail(f"duplicate protocol {sorted(duplicates)[0]} (give each a distinct variant)")
    return Indication(
        id=model.id,
        name=model.name,
        specialties=tuple(model.specialties),
        populations=tuple(model.populations),
        summary=model.summary,
        icd10=tuple(icd10),
        cpt=tuple(cpt),
        evidence=tuple(evidence),
        protocols=tuple(protocols),
        aliases=tuple(model.aliases),
    )


def _build_protocol(indication: str, model: s.ProtocolModel, b: _Builder) -> Protocol:
    with b.at("cite"):
        root = b.citation(model.cite, b.citation(None, _placeholder(b, model.cite)))
    product = model.product
    units = _product_range(UnitRange, product)
    muscles = []
    for index, row in enumerate(model.muscles):
        with b.at(f"muscles.{index}"):
            row_cite = b.citation(row.cite, root)
            muscles.append(
                MuscleDose(
                    muscle=row.muscle,
                    laterality=row.side,
                    units=b.optional("units", row.units, row_cite, units),
                    units_per_kg=b.optional(
                        "units_per_kg", row.units_per_kg, row_cite, _product_range(UnitsPerKg, product)
                    ),
                    sites=b.optional("sites", row.sites, row_cite, _count),
                    max_units=b.optional("max_units", row.max_units, row_cite, _identity),
                    optional=row.optional,
                    pattern=row.pattern,
                    note=row.note,
                )
            )

    def session_maximum(raw: Decimal | s.SessionMaximumModel) -> Units | WeightCappedDose:
        if isinstance(raw, s.SessionMaximumModel):
            return WeightCappedDose(product, raw.per_kg, raw.cap)
        return Units(product, raw)

    def cumulative(raw: s.CumulativeModel) -> CumulativeLimit:
        return CumulativeLimit(Units(product, raw.units), _window(raw.window))

    bands = []
    for index, band in enumerate(model.weight_bands):
        with b.at(f"weight_bands.{index}"):
            bands.append(
                Cited(
                    WeightBand(band.min_kg, band.below_kg, band.units, tuple(band.muscles.items())),
                    b.recommendation(b.citation(band.cite, root)),
                )
            )
    dilutions = []
    for index, dilution in enumerate(model.dilutions):
        with b.at(f"dilutions.{index}"):
            dilutions.append(
                Cited(Reconstitution(dilution.vial_units, dilution.diluent_ml), b.citation(dilution.cite, root))
            )
    preparations = []
    for index, preparation in enumerate(model.preparations):
        with b.at(f"preparations.{index}"):
            preparations.append(Cited(_preparation(product, preparation, model, b), b.citation(preparation.cite, root)))
    notes = []
    for index, note in enumerate(model.notes):
        with b.at(f"notes.{index}"):
            if isinstance(note, str):
                notes.append(Cited(note, root))
            else:
                notes.append(Cited(note.text, b.citation(note.cite, root)))
    with b.at("ages"):
        ages = b.cited(model.ages, root, _ages)
    return Protocol(
        indication=indication,
        product=product,
        population=model.population,
        status=model.status,
        title=model.title,
        citation=root,
        ages=ages,
        route=model.route,
        guidance=tuple(model.guidance),
        muscles=tuple(muscles),
        variant=model.variant,
        initial_units=b.dose("initial_units", model.initial_units, root, units),
        total_units=b.dose("total_units", model.total_units, root, units),
        total_units_per_kg=b.dose(
            "total_units_per_kg", model.total_units_per_kg, root, _product_range(UnitsPerKg, product)
        ),
        session_maximum=b.optional("session_maximum", model.session_maximum, root, session_maximum),
        per_side_maximum=b.optional("per_side_maximum", model.per_side_maximum, root, session_maximum),
        weight_bands=tuple(bands),
        sites=b.optional("sites", model.sites, root, _count),
        max_units_per_site=b.optional("max_units_per_site", model.max_units_per_site, root, _identity),
        max_volume_per_site_ml=b.optional("max_volume_per_site_ml", model.max_volume_per_site_ml, root, _identity),
        volume_per_site_ml=b.optional("volume_per_site_ml", model.volume_per_site_ml, root, _identity),
        cumulative_limit=b.optional("cumulative_limit", model.cumulative_limit, root, cumulative),
        min_interval_days=b.optional("min_interval_days", model.min_interval_days, root, int),
        dilutions=tuple(dilutions),
        preparations=tuple(preparations),
        notes=tuple(notes),
    )


def _preparation(product: str, model: s.PreparationModel, protocol: s.ProtocolModel, b: _Builder) -> Preparation:
    """A two-step preparation whose figures add up: the syringes hold what the injections use, and the label's
    own per-syringe volumes are what the protocol's dose needs."""
    preparation = Preparation(product, model.vial_units, model.vial_diluent_ml, model.syringes, model.syringe_ml)
    sites = _fixed(protocol.sites)
    volume = _fixed(protocol.volume_per_site_ml)
    if sites is not None and volume is not None and sites * volume != preparation.final_volume_ml:
        raise b.fail(
            f"{preparation.syringes} syringes of {preparation.syringe_ml} mL hold {preparation.final_volume_ml} mL, "
            f"but {sites} injections of {volume} mL need {sites * volume} mL"
        )
    if model.draw_ml is not None or model.add_ml is not None:
        total = _fixed(protocol.total_units)
        if total is None:
            raise b.fail("draw_ml and add_ml are checked against a fixed total_units, which this protocol lacks")
        prepared = preparation.for_dose(Units(product, total))
        stated = (model.draw_ml, model.add_ml)
        if stated != (prepared.draw_ml, prepared.saline_ml):
            raise b.fail(
                f"the label's steps (draw {stated[0]} mL, add {stated[1]} mL) do not add up: {total} U from "
                f"{preparation.vial_units} U in {preparation.vial_diluent_ml} mL is {prepared.draw_ml} mL per syringe, "
                f"topped up with {prepared.saline_ml} mL"
            )
    return preparation


def _fixed(raw: Any) -> Decimal | None:
    """A protocol figure given as one number (bare or cited); None for a range or when absent."""
    value = raw.value if isinstance(raw, s.CitedValue) else raw
    return Decimal(value) if isinstance(value, (int, Decimal)) else None


def _placeholder(b: _Builder, model: s.CiteModel) -> Citation:
    """A protocol's own cite must carry a grade; this makes the error name the protocol's field."""
    return b.root_citation(model)


def _check_references(knowledge: KnowledgeBase, root: Path) -> None:
    """Every cross-reference resolves, and approvals and protocols agree with each other."""
    for indication in knowledge.indications.values():
        file = f"indications/{indication.id}.yaml"
        for index, item in enumerate(indication.evidence):
            for product_id in item.products:
                if product_id not in knowledge.products:
                    raise KnowledgeError(file, f"evidence.{index}.products", f"unknown product '{product_id}'")
        for index, protocol in enumerate(indication.protocols):
            field = f"protocols.{index}"
            if protocol.product not in knowledge.products:
                raise KnowledgeError(file, f"{field}.product", f"unknown product '{protocol.product}'")
            label_approval = knowledge.products[protocol.product].approval(indication.id, protocol.population)
            if (protocol.status is LabelStatus.APPROVED) != (label_approval is not None):
                expected = "approved" if label_approval is not None else "off-label"
                raise KnowledgeError(
                    file,
                    f"{field}.status",
                    f"is '{protocol.status}' but the product's label makes it {expected}",
                )
            if protocol.status is LabelStatus.OFF_LABEL and protocol.citation.grade not in (
                Grade.STUDY,
                Grade.UNVERIFIED,
            ):
                raise KnowledgeError(file, f"{field}.cite", "an off-label protocol cites a study (grade: study)")
            for row_index, row in enumerate(protocol.muscles):
                if row.muscle not in knowledge.targets:
                    raise KnowledgeError(file, f"{field}.muscles.{row_index}.muscle", f"unknown muscle '{row.muscle}'")
            table = knowledge.products[protocol.product].reconstitution
            for prep_index, preparation in enumerate(protocol.preparations):
                step = Reconstitution(preparation.value.vial_units, preparation.value.vial_diluent_ml)
                if not any(row.value == step for row in table):
                    # The product's table is the range a typed in-vial volume is checked against.
                    raise KnowledgeError(
                        file,
                        f"{field}.preparations.{prep_index}",
                        f"{step} is not a row of {protocol.product}'s reconstitution table",
                    )
            listed = {row.muscle for row in protocol.muscles}
            for band_index, band in enumerate(protocol.weight_bands):
                for muscle, _ in band.value.muscle_units:
                    if muscle not in listed:
                        raise KnowledgeError(
                            file,
                            f"{field}.weight_bands.{band_index}.muscles",
                            f"'{muscle}' is not in the protocol",
                        )
    for product in knowledge.products.values():
        file = f"products/{product.id}.yaml"
        for index, approval in enumerate(product.approvals):
            indication_id = approval.value.indication
            if indication_id not in knowledge.indications:
                raise KnowledgeError(file, f"approvals.{index}.indication", f"unknown indication '{indication_id}'")
            protocols = knowledge.indications[indication_id].protocols_for(product.id, approval.value.population)
            if not any(protocol.status is LabelStatus.APPROVED for protocol in protocols):
                raise KnowledgeError(
                    file,
                    f"approvals.{index}",
                    f"approved for {indication_id} ({approval.value.population}) but no approved protocol exists",
                )
        for index, limit in enumerate(product.limits):
            for indication_id in limit.value.indications:
                if indication_id not in knowledge.indications:
                    raise KnowledgeError(file, f"limits.{index}.indications", f"unknown indication '{indication_id}'")
        for index, excipient in enumerate(product.excipients):
            if excipient.value not in knowledge.allergens:
                raise KnowledgeError(file, f"excipients.{index}.allergen", f"unknown allergen '{excipient.value}'")


def _load_adverse_events(
    path: Path, builder: _Builder, indications: dict[str, Any], targets: dict[str, Target]
) -> tuple[dict[str, AdverseEventTerm], Seriousness]:
    """The adverse-event terms and the criteria of a serious event. Every indication and muscle a term
    concerns must exist; a local term concerns at least one treatment; no synonym names two terms."""
    parsed = read_model(path, s.AdverseEventsFile)
    builder.file, builder.field = path.name, ""
    with builder.at("seriousness"):
        seriousness = Seriousness(tuple(parsed.seriousness.criteria), builder.root_citation(parsed.seriousness.cite))
    terms: dict[str, AdverseEventTerm] = {}
    names: dict[str, str] = {}
    for index, model in enumerate(parsed.terms):
        with builder.at(f"terms.{index}"):
            _unique(builder, terms, model.id)
            citation = builder.root_citation(model.cite)
            concerns = []
            for number, concern in enumerate(model.concerns):
                with builder.at(f"concerns.{number}"):
                    for indication in concern.indications:
                        if indication not in indications:
                            raise builder.fail(f"unknown indication '{indication}'")
                    for target in concern.targets:
                        if target not in targets:
                            raise builder.fail(f"unknown muscle '{target}'")
                    if not (concern.indications or concern.routes or concern.targets):
                        raise builder.fail("name at least one indication, route or target")
                    treatments = Treatments(tuple(concern.indications), tuple(concern.routes), tuple(concern.targets))
                    concerns.append(Cited(treatments, builder.citation(concern.cite, citation)))
            if model.kind is ReactionKind.LOCAL and not concerns:
                raise builder.fail("a local reaction names the treatments it concerns")
            spread = None
            if model.spread is not None:
                with builder.at("spread"):
                    if model.kind is not ReactionKind.LOCAL:
                        raise builder.fail("only a local term can also be read as distant spread")
                    spread = builder.root_citation(model.spread)
            for name in (model.id, model.name, *model.aliases):
                key = " ".join(name.casefold().replace("-", " ").replace("_", " ").split())
                if names.setdefault(key, model.id) != model.id:
                    raise builder.fail(f"'{name}' already names the term '{names[key]}'")
            terms[model.id] = AdverseEventTerm(
                id=model.id,
                name=model.name,
                kind=model.kind,
                aliases=tuple(model.aliases),
                citation=citation,
                concerns=tuple(concerns),
                spread=spread,
            )
    return terms, seriousness


def _load_billing(path: Path, builder: _Builder) -> BillingRules:
    """The billing rules, each stated and cited; the administered amount is rounded up (the schema refuses any
    other rule, none having been read in a source)."""
    parsed = read_model(path, s.BillingFile)
    builder.file, builder.field = path.name, ""

    def rule(name: str, model: s.BillingRuleModel) -> BillingRule:
        with builder.at(name):
            return BillingRule(" ".join(model.statement.split()), builder.root_citation(model.cite))

    return BillingRules(
        administered_units=rule("administered_units", parsed.administered_units),
        discarded_units=rule("discarded_units", parsed.discarded_units),
        jw_jz=rule("jw_jz", parsed.jw_jz),
        procedure_once=rule("procedure_once", parsed.procedure_once),
        guidance=rule("guidance", parsed.guidance),
        ndc_format=rule("ndc_format", parsed.ndc_format),
        ndc_units=rule("ndc_units", parsed.ndc_units),
        place_of_service=rule("place_of_service", parsed.place_of_service),
        npi=rule("npi", parsed.npi),
        default_place_of_service=parsed.place_of_service.default,
    )
