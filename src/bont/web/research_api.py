"""The JSON API's research endpoints under /api/research/ (researchers and administrators only): saved cohorts,
a cohort's size, a cohort's analyses as published, and the de-identified export as a zip. What they return is
what ``bont.services.registry_analytics`` publishes: small cells suppressed, never an identifier."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from bont.bootstrap import build_knowledge, kept_registry_engine, research_exporter, saved_cohorts
from bont.domain.errors import FieldError
from bont.domain.research.cohorts import CohortDefinition
from bont.domain.research.deidentification import site_code
from bont.domain.research.disclosure import ExportRefused
from bont.services.registry_analytics import (
    ExportFormat,
    analyse,
    analyses_document,
    cohort_definition,
    export_zip,
    published_size,
    report_document,
    save_cohort,
    saved_cohort,
)
from bont.settings import BontSettings
from bont.web.access import RESEARCH, roles_of
from bont.web.audit_reads import Action, log_read

router = Router(tags=["research"])


def _require_research(request: HttpRequest) -> None:
    if not roles_of(request) & set(RESEARCH):
        raise HttpError(403, "your role does not allow this")


def _refused(error: FieldError) -> HttpError:
    return HttpError(400, f"{error.field}: {error.problem}")


def _named(name: str) -> CohortDefinition:
    try:
        return saved_cohort(saved_cohorts(), name)
    except FieldError:
        raise HttpError(404, "name: no saved cohort of that name") from None


class CohortIn(Schema):
    name: str
    definition: dict[str, Any] = Field(default_factory=dict)


class AnalysisIn(Schema):
    """A saved cohort's ``name`` or a ``definition`` (not both)."""

    name: str | None = None
    definition: dict[str, Any] | None = None


def _cohort(body: AnalysisIn) -> CohortDefinition:
    if body.name is not None and body.definition is not None:
        raise HttpError(400, "name: give a saved cohort's name or a definition, not both")
    if body.name is not None:
        return _named(body.name)
    try:
        return cohort_definition(body.definition or {})
    except FieldError as error:
        raise _refused(error) from error


@router.get("/cohorts")
def cohorts(request: HttpRequest) -> list[dict[str, Any]]:
    """The saved cohorts, by name, with their definitions."""
    _require_research(request)
    return [
        {"name": c.name, "definition": dict(c.definition), "created_by": c.created_by, "updated_at": c.updated_at}
        for c in saved_cohorts().all()
    ]


@router.post("/cohorts", response={201: dict[str, Any]})
def cohort_save(request: HttpRequest, body: CohortIn) -> tuple[int, dict[str, Any]]:
    """Save a cohort definition under a name (replacing your own of that name); errors name the field."""
    _require_research(request)
    try:
        cohort = cohort_definition(body.definition)
        save_cohort(saved_cohorts(), body.name, cohort, request.user.get_username())
    except FieldError as error:
        raise _refused(error) from error
    return 201, {"name": body.name, "definition": cohort.to_mapping()}


@router.get("/cohorts/{name}/size")
def cohort_size(request: HttpRequest, name: str) -> dict[str, Any]:
    """A saved cohort's patients and sessions, small counts suppressed."""
    _require_research(request)
    cohort = _named(name)
    report = published_size(kept_registry_engine(), cohort, BontSettings().research_min_cell)
    log_read(request, "research-cohort-size", object_id=name)
    return report_document(report)


@router.post("/analyses")
def analyses(request: HttpRequest, body: AnalysisIn) -> dict[str, Any]:
    """Every analysis of the cohort as published, each with its method and suppressed cells counted."""
    _require_research(request)
    from bont.interop.registry.engine import mean_ci  # scipy: imported when first needed

    cohort = _cohort(body)
    found = analyse(kept_registry_engine(), build_knowledge(), cohort, BontSettings().research_min_cell, mean_ci)
    log_read(request, "research-analyses", object_id=found.fingerprint)
    return analyses_document(found)


@router.post("/export")
def export(
    request: HttpRequest, body: AnalysisIn, format: ExportFormat = ExportFormat.CSV, site: str = "SITE"
) -> HttpResponse:
    """The de-identified export of the cohort (every patient without one) as a zip; 409 with the reason when the
    k-anonymity check refuses it."""
    _require_research(request)
    try:
        code = site_code(site)  # first: the code goes into the file's name and the log
    except FieldError as error:
        raise _refused(error) from error
    cohort = _cohort(body) if body.name is not None or body.definition is not None else None
    try:
        archive = export_zip(research_exporter(), format, code, cohort, BontSettings().research_min_k)
    except ExportRefused as refused:
        raise HttpError(409, str(refused)) from None
    except FieldError as error:
        raise _refused(error) from error
    log_read(request, "research-export", object_id=f"{format}:{code}", action=Action.EXPORT)
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="bont-registry-{code}-{format}.zip"'
    return response
