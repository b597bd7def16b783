"""The curated study catalogue: ``data/studies/<indication>.yaml``, validated into the evidence library's domain
objects like the rest of the knowledge base (unknown keys, indications, products, sources or identifiers in the
wrong shape are errors naming file and field).

Each file holds the studies and registered trials whose first indication is the file's; a record may name more.
Every curated record lists the pages its facts were read in (``read_at``) and names in ``unverified`` the fields
no page confirmed. Facts only: titles as published, figures as reported, no abstract text.

Loaded apart from the knowledge base the planner and the check use (which does not need it), when the evidence
library is first asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bont.domain.errors import KnowledgeError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.studies import (
    NCT_NUMBER,
    PMID,
    EvidenceLevel,
    Origin,
    PrimaryResult,
    Study,
    Trial,
)
from bont.knowledge.loader import read_model
from bont.knowledge.schema import CatalogueIndex, StudiesFile, StudyModel, TrialModel

_DOI = re.compile(r"10\.\d{4,9}/\S+")
_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Catalogue:
    studies: tuple[Study, ...]
    trials: tuple[Trial, ...]
    research_areas: frozenset[str]


STUDIES_FOLDER = "studies"


def load_catalogue(knowledge: KnowledgeBase, data_dir: Path) -> Catalogue:
    """Read and validate every file of ``data_dir/studies``; raises ``KnowledgeError`` naming file and field."""
    folder = data_dir / STUDIES_FOLDER
    index = read_model(folder / "catalogue.yaml", CatalogueIndex)
    for number, indication in enumerate(index.research_areas):
        _known(f"{STUDIES_FOLDER}/catalogue.yaml", f"research_areas.{number}", indication, knowledge.indications)
    studies: dict[str, Study] = {}
    trials: dict[str, Trial] = {}
    identifiers: dict[str, str] = {}  # PMID / DOI / NCT of a study → its key: one record per publication
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "catalogue.yaml":
            continue
        file = f"{STUDIES_FOLDER}/{path.name}"
        if path.stem not in knowledge.indications:
            raise KnowledgeError(file, "(file name)", f"'{path.stem}' is not an indication of the knowledge base")
        parsed = read_model(path, StudiesFile)
        for number, model in enumerate(parsed.studies):
            study = _study(file, f"studies.{number}", model, knowledge, path.stem)
            if study.key in studies:
                raise KnowledgeError(file, f"studies.{number}.id", f"duplicate study id '{study.key}'")
            for name, value in (("pmid", study.pmid), ("doi", study.doi and study.doi.lower())):
                if value and f"{name}:{value}" in identifiers:
                    other = identifiers[f"{name}:{value}"]
                    raise KnowledgeError(file, f"studies.{number}.{name}", f"{value} is already study '{other}'")
                if value:
                    identifiers[f"{name}:{value}"] = study.key
            studies[study.key] = study
        for number, trial_model in enumerate(parsed.trials):
            trial = _trial(file, f"trials.{number}", trial_model, knowledge, path.stem)
            if trial.nct in trials:
                raise KnowledgeError(file, f"trials.{number}.nct", f"duplicate trial {trial.nct}")
            trials[trial.nct] = trial
    return Catalogue(tuple(studies.values()), tuple(trials.values()), frozenset(index.research_areas))


def _known(file: str, field: str, value: str, known: object) -> None:
    if value not in known:  # type: ignore[operator]
        raise KnowledgeError(file, field, f"'{value}' is not known to the knowledge base")


def _common(
    file: str, at: str, model: StudyModel | TrialModel, knowledge: KnowledgeBase, indication: str, names: set[str]
) -> None:
    if indication not in model.indications:
        raise KnowledgeError(file, f"{at}.indications", f"a record in {indication}.yaml must name '{indication}'")
    for number, item in enumerate(model.indications):
        _known(file, f"{at}.indications.{number}", item, knowledge.indications)
    for number, item in enumerate(model.products):
        _known(file, f"{at}.products.{number}", item, knowledge.products)
    for number, item in enumerate(model.unverified):
        if item not in names:
            raise KnowledgeError(file, f"{at}.unverified.{number}", f"'{item}' is not a field of the record")
    for number, page in enumerate(model.read_at):
        if not page.startswith(("https://", "http://")):
            raise KnowledgeError(file, f"{at}.read_at.{number}", "give the address of the page the facts were read in")


def _study(file: str, at: str, model: StudyModel, knowledge: KnowledgeBase, indication: str) -> Study:
    _common(file, at, model, knowledge, indication, set(StudyModel.model_fields))
    if not _KEY.fullmatch(model.id):
        raise KnowledgeError(file, f"{at}.id", "use lower-case letters, digits and hyphens")
    if model.pmid and not PMID.fullmatch(model.pmid):
        raise KnowledgeError(file, f"{at}.pmid", f"'{model.pmid}' is not a PMID (digits only)")
    if model.doi and not _DOI.fullmatch(model.doi):
        raise KnowledgeError(file, f"{at}.doi", f"'{model.doi}' is not a DOI (10.NNNN/…)")
    if model.nct and not NCT_NUMBER.fullmatch(model.nct):
        raise KnowledgeError(file, f"{at}.nct", f"'{model.nct}' is not an NCT number (NCT and 8 digits)")
    if model.source and model.source not in knowledge.sources:
        raise KnowledgeError(file, f"{at}.source", f"'{model.source}' is not a source of sources.yaml")
    for number, level in enumerate(model.levels):
        if level.indication and level.indication not in model.indications:
            raise KnowledgeError(file, f"{at}.levels.{number}.indication", "grade one of the record's indications")
        if level.product and level.product not in knowledge.products:
            _known(file, f"{at}.levels.{number}.product", level.product, knowledge.products)
    result = model.result
    return Study(
        key=model.id,
        title=model.title,
        year=model.year,
        design=model.design,
        indications=tuple(model.indications),
        products=tuple(model.products),
        other_products=tuple(model.other_products),
        authors=tuple(model.authors),
        journal=model.journal,
        citation=model.citation,
        pmid=model.pmid,
        doi=model.doi,
        nct=model.nct,
        population=model.population,
        participants=model.participants,
        doses=model.doses,
        comparator=model.comparator,
        result=PrimaryResult(result.outcome, result.effect, result.interval, result.p) if result else None,
        follow_up=model.follow_up,
        levels=tuple(
            EvidenceLevel(level.scheme, level.grade, level.indication, level.product, level.source)
            for level in model.levels
        ),
        source=model.source,
        read_at=tuple(model.read_at),
        unverified=tuple(model.unverified),
        origin=Origin.CURATED,
    )


def _trial(file: str, at: str, model: TrialModel, knowledge: KnowledgeBase, indication: str) -> Trial:
    _common(file, at, model, knowledge, indication, set(TrialModel.model_fields))
    if not NCT_NUMBER.fullmatch(model.nct):
        raise KnowledgeError(file, f"{at}.nct", f"'{model.nct}' is not an NCT number (NCT and 8 digits)")
    return Trial(
        nct=model.nct,
        title=model.title,
        status=model.status,
        indications=tuple(model.indications),
        products=tuple(model.products),
        other_products=tuple(model.other_products),
        phase=model.phase,
        enrolment=model.enrolment,
        sponsor=model.sponsor,
        start=model.start,
        primary_completion=model.primary_completion,
        results_posted=model.results_posted,
        conditions=tuple(model.conditions),
        interventions=tuple(model.interventions),
        primary_outcome=model.primary_outcome,
        read_at=tuple(model.read_at),
        read_on=model.read_on,
        unverified=tuple(model.unverified),
        origin=Origin.CURATED,
    )
