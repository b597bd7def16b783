"""ClinicalTrials.gov API v2 study JSON: a single study (``{"protocolSection": …}``), a page of the search result
(``{"studies": [...], "nextPageToken": …}``) or the website's download (a list of studies). The part of the v2
schema bont reads is validated by the models below; each study is validated on its own, so that a malformed one
is refused and the others are read."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from bont.domain.studies import NCT_NUMBER, Origin, ParsedRecords, Refusal, Trial, TrialStatus
from bont.interop.literature.records import NOT_ABOUT_TOXIN, LiteratureFileError, record_name, taken_and_refused
from bont.interop.literature.terms import LiteratureTerms

CLINICALTRIALS_JSON = "ClinicalTrials.gov JSON"


def _registry_date(value: object) -> object:
    """A date as the registry writes it: ``2024-01-15``, or ``2024-01`` for a month (its first day)."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(f"{value}-01" if len(value) == 7 else value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date as ClinicalTrials.gov writes one (YYYY-MM or YYYY-MM-DD)") from None


def _status(value: object) -> object:
    """``ACTIVE_NOT_RECRUITING`` → ``active-not-recruiting``; expanded-access statuses are no trial's."""
    if not isinstance(value, str):
        return value
    try:
        return TrialStatus(value.lower().replace("_", "-"))
    except ValueError:
        raise ValueError(f"{value} is not the status of a registered trial") from None


RegistryDate = Annotated[date, BeforeValidator(_registry_date)]

PHASES = {
    "EARLY_PHASE1": "Early Phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "Not applicable",
}


class _Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="ignore", frozen=True)


class _DateStruct(_Schema):
    date: RegistryDate


class _Identification(_Schema):
    nct_id: str = Field(pattern=rf"^{NCT_NUMBER.pattern}$")
    brief_title: str = Field(min_length=1)
    official_title: str | None = None


class _Status(_Schema):
    overall_status: Annotated[TrialStatus, BeforeValidator(_status)]
    status_verified_date: RegistryDate | None = None
    start_date_struct: _DateStruct | None = None
    primary_completion_date_struct: _DateStruct | None = None


class _Sponsor(_Schema):
    name: str


class _Sponsors(_Schema):
    lead_sponsor: _Sponsor | None = None


class _Conditions(_Schema):
    conditions: list[str] = []
    keywords: list[str] = []


class _Enrolment(_Schema):
    count: int | None = Field(default=None, ge=0)


class _Design(_Schema):
    study_type: str | None = None
    phases: list[Literal["EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA"]] = []
    enrollment_info: _Enrolment | None = None


class _Intervention(_Schema):
    name: str


class _Interventions(_Schema):
    interventions: list[_Intervention] = []


class _Outcome(_Schema):
    measure: str


class _Outcomes(_Schema):
    primary_outcomes: list[_Outcome] = []


class _Protocol(_Schema):
    identification_module: _Identification
    status_module: _Status
    sponsor_collaborators_module: _Sponsors = _Sponsors()
    conditions_module: _Conditions = _Conditions()
    design_module: _Design = _Design()
    arms_interventions_module: _Interventions = _Interventions()
    outcomes_module: _Outcomes = _Outcomes()


class _Study(_Schema):
    protocol_section: _Protocol
    has_results: bool = False


def read_clinicaltrials(text: str, name: str, terms: LiteratureTerms) -> ParsedRecords:
    """The trials of a ClinicalTrials.gov JSON file; a study not about botulinum toxin, or malformed, is refused."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise LiteratureFileError(f"{name}: not valid JSON ({error.msg}, line {error.lineno})") from None
    except RecursionError:
        raise LiteratureFileError(f"{name}: the JSON is nested too deeply to be a ClinicalTrials.gov study") from None
    if isinstance(document, dict) and "protocolSection" in document:
        entries: list[Any] = [document]
    elif isinstance(document, dict) and isinstance(document.get("studies"), list):
        entries = document["studies"]
    elif isinstance(document, list) and document and all(isinstance(item, dict) for item in document):
        entries = document
    else:
        raise LiteratureFileError(f"{name}: not a ClinicalTrials.gov study (no protocolSection)")
    trials, refused = taken_and_refused(_trial(position, entry, terms) for position, entry in enumerate(entries, 1))
    return ParsedRecords(CLINICALTRIALS_JSON, trials=trials, refused=refused)


def _trial(position: int, entry: object, terms: LiteratureTerms) -> Trial | Refusal:
    try:
        study = _Study.model_validate(entry)
    except ValidationError as error:
        return Refusal(record_name(position, nct=_nct_of(entry)), _problems(error))
    protocol = study.protocol_section
    identification, status, design = protocol.identification_module, protocol.status_module, protocol.design_module
    name = record_name(position, nct=identification.nct_id)
    if design.study_type == "EXPANDED_ACCESS":
        return Refusal(name, "an expanded-access record, not a trial")
    conditions = tuple(protocol.conditions_module.conditions)
    interventions = tuple(intervention.name for intervention in protocol.arms_interventions_module.interventions)
    recognised = terms.recognise(
        [
            identification.brief_title,
            identification.official_title or "",
            *conditions,
            *protocol.conditions_module.keywords,
            *interventions,
        ]
    )
    if not recognised.about_toxin:
        return Refusal(name, NOT_ABOUT_TOXIN)
    outcomes = protocol.outcomes_module.primary_outcomes
    sponsor = protocol.sponsor_collaborators_module.lead_sponsor
    return Trial(
        nct=identification.nct_id,
        title=identification.brief_title,
        status=status.overall_status,
        indications=recognised.indications,
        products=recognised.products,
        other_products=recognised.other_products,
        phase="/".join(PHASES[phase] for phase in design.phases) or None,
        enrolment=design.enrollment_info.count if design.enrollment_info else None,
        sponsor=sponsor.name if sponsor else None,
        start=status.start_date_struct.date if status.start_date_struct else None,
        primary_completion=(
            status.primary_completion_date_struct.date if status.primary_completion_date_struct else None
        ),
        results_posted=study.has_results,
        conditions=conditions,
        interventions=interventions,
        primary_outcome=outcomes[0].measure if outcomes else None,
        read_at=(),
        read_on=status.status_verified_date,  # the registry's own "status as of"
        origin=Origin.IMPORTED,
    )


class _Identifier(_Schema):
    nct_id: str | None = Field(default=None, pattern=rf"^{NCT_NUMBER.pattern}$")


class _IdentifiedProtocol(_Schema):
    identification_module: _Identifier = _Identifier()


class _Identified(_Schema):
    """Only the NCT number of a study, read leniently to name a study that failed validation in its refusal."""

    protocol_section: _IdentifiedProtocol = _IdentifiedProtocol()


def _nct_of(entry: object) -> str | None:
    try:
        return _Identified.model_validate(entry).protocol_section.identification_module.nct_id
    except ValidationError:
        return None


def _problems(error: ValidationError) -> str:
    """``protocolSection.statusModule.startDateStruct.date: '2024-13' is not a date …``: each problem by field."""
    return "; ".join(
        f"{'.'.join(str(step) for step in problem['loc'])}: {problem['msg'].removeprefix('Value error, ')}"
        for problem in error.errors()
    )
