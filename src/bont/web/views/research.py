"""The Research section: the de-identified registry's counts, the cohort builder with its live size, saved
cohorts, a cohort's analyses with their plots and methods, the analyses as a zip (JSON and PNG plots) and the
de-identified export as a zip.

Everything shown is what ``bont.services.registry_analytics`` publishes: counts and statistics, small cells
suppressed; never a name, MRN, date of birth or a patient's date. Each analysis and export is logged as a read,
without identifiers (a cohort is a definition)."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any
from urllib.parse import urlencode

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bont.bootstrap import (
    REGISTRY_KEPT_SECONDS,
    build_knowledge,
    kept_registry_engine,
    outcome_records,
    research_exporter,
    saved_cohorts,
)
from bont.domain.errors import FieldError
from bont.domain.research.cohorts import CohortDefinition
from bont.domain.research.deidentification import site_code
from bont.domain.research.disclosure import ExportRefused, MinimumCell
from bont.interop.registry.plots import png, svg
from bont.services.registry_analytics import (
    NOT_ADVICE,
    Analyses,
    ExportFormat,
    Report,
    analyse,
    analyses_document,
    cohort_definition,
    export_zip,
    published_size,
    report_document,
    save_cohort,
    saved_cohort,
)
from bont.services.research import published_registry
from bont.settings import BontSettings
from bont.web.access import RESEARCH, require_role
from bont.web.audit_reads import Action, log_read

# The cohort builder's fields, in the order of the form, with their labels.
CRITERIA = (
    ("indication", "Indication"),
    ("product", "Product"),
    ("population", "Population"),
    ("age_from", "Age band from (years)"),
    ("age_to", "Age band to (years)"),
    ("sex", "Sex"),
    ("first_day", "Sessions from"),
    ("last_day", "Sessions until"),
    ("units_from", "Units per session from"),
    ("units_to", "Units per session to"),
    ("cycles_from", "Sessions per patient from"),
    ("cycles_to", "Sessions per patient to"),
    ("condition_codes", "Condition codes (ICD-10-CM, comma separated)"),
)


# The fields that name a saved cohort: opening one (``?cohort=``) and saving one (``name``), with their labels.
NAMING = (("cohort", "Saved cohort"), ("name", "Save this cohort as"))


def _criteria(query: QueryDict) -> dict[str, str]:
    return {field: str(query.get(field, "")) for field, _ in CRITERIA if str(query.get(field, "")).strip()}


def _cohort(query: QueryDict) -> CohortDefinition:
    """The saved cohort ``?cohort=NAME``, or the builder's criteria (``FieldError`` naming the field)."""
    name = query.get("cohort", "").strip()
    if name:
        return saved_cohort(saved_cohorts(), name)
    return cohort_definition(_criteria(query))


def _builder(given: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    knowledge = build_knowledge()
    return {
        "criteria": [(field, label, given.get(field, ""), errors.get(field, "")) for field, label in CRITERIA],
        "indications": sorted((i.id, i.name) for i in knowledge.indications.values()),
        "products": sorted((p.id, p.brand) for p in knowledge.products.values()),
        "cohorts": saved_cohorts().all(),
        "kept_seconds": REGISTRY_KEPT_SECONDS,
        "not_advice": NOT_ADVICE,
    }


def _refused_cohort(
    request: HttpRequest, error: FieldError, given: dict[str, str], name: str, saving: bool
) -> HttpResponse:
    """The builder again as it was typed, the problem beside its field (a saved cohort's name in a form of its
    own) and above the form, so that a field the page has not is named too."""
    field = "condition_codes" if error.field.startswith("condition_codes") else error.field
    labels = dict(CRITERIA) | dict(NAMING)
    context = {
        **_builder(given, {field: error.problem}),
        "problem": f"{labels.get(field, field)}: {error.problem}",
        "saving": saving,
        "opening": not saving and bool(name),
        "name_problem": error.problem if field in dict(NAMING) else "",
        "cohort_name": name,
        "given": given,
    }
    return render(request, "web/research/builder.html", context, status=400)


@require_role(*RESEARCH)
def research(request: HttpRequest) -> HttpResponse:
    """The registry's counts (no count from 1 to under the clinic's minimum cell size) and the cohort builder."""
    minimum = MinimumCell(BontSettings().research_min_cell)
    found = published_registry(outcome_records(), build_knowledge(), minimum)
    log_read(request, "research")
    return render(
        request,
        "web/research.html",
        {
            "rows": found.treatments,
            "responders": found.responders,
            "responders_outdated": found.responders_outdated,
            "threshold": minimum.value,
            **_builder({}, {}),
        },
    )


@require_role(*RESEARCH)
@require_GET
def cohort_size(request: HttpRequest) -> JsonResponse:
    """The builder's live size: patients and sessions of the criteria typed so far, as published."""
    try:
        cohort = _cohort(request.GET)
    except FieldError as error:
        return JsonResponse({"field": error.field, "problem": error.problem}, status=400)
    report = published_size(kept_registry_engine(), cohort, BontSettings().research_min_cell)
    log_read(request, "research-cohort-size")
    return JsonResponse(report_document(report))


def _with_images(analyses: Analyses) -> list[tuple[Report, list[tuple[str, str]]]]:
    """Each analysis with its plots as (data URI, title): an SVG drawn as an image keeps its own styles under the
    page's content security policy, which forbids inline styles."""
    return [
        (
            report,
            [
                ("data:image/svg+xml;base64," + base64.b64encode(svg(chart).encode()).decode(), chart.title)
                for chart in report.charts
            ],
        )
        for report in analyses.reports
    ]


def _analysed(cohort: CohortDefinition) -> Analyses:
    from bont.interop.registry.engine import mean_ci  # scipy: imported when first needed

    return analyse(kept_registry_engine(), build_knowledge(), cohort, BontSettings().research_min_cell, mean_ci)


@require_role(*RESEARCH)
@require_GET
def analyses(request: HttpRequest) -> HttpResponse:
    """A cohort's analyses as published, each with its method, its suppressed cells and its plots."""
    given = _criteria(request.GET)
    name = request.GET.get("cohort", "").strip()
    try:
        cohort = _cohort(request.GET)
    except FieldError as error:
        return _refused_cohort(request, error, given, name, saving=False)
    found = _analysed(cohort)
    log_read(request, "research-analyses", object_id=found.fingerprint)
    return render(
        request,
        "web/research/analyses.html",
        {
            "analyses": found,
            "reports": _with_images(found),
            "definition": cohort.to_mapping(),
            "cohort_name": name,
            "given": given,
            "kept_seconds": REGISTRY_KEPT_SECONDS,
            "not_advice": NOT_ADVICE,
        },
    )


def _archive(found: Analyses) -> bytes:
    """The analyses as published (``analyses.json``, the API's document) and each plot as PNG under ``plots/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("analyses.json", json.dumps(analyses_document(found), cls=DjangoJSONEncoder, indent=2))
        for report in found.reports:
            for chart in report.charts:
                archive.writestr(f"plots/{chart.name}.png", png(chart))
    return buffer.getvalue()


@require_role(*RESEARCH)
@require_POST
def analyses_download(request: HttpRequest) -> HttpResponse:
    """A cohort's analyses as a zip: what the page shows, as JSON, and each plot as PNG; logged as an export."""
    given = _criteria(request.POST)
    name = request.POST.get("cohort", "").strip()
    try:
        cohort = _cohort(request.POST)
    except FieldError as error:
        return _refused_cohort(request, error, given, name, saving=False)
    found = _analysed(cohort)
    archive = _archive(found)
    log_read(request, "research-analyses", object_id=found.fingerprint, action=Action.EXPORT)
    response = HttpResponse(archive, content_type="application/zip")
    # A saved cohort's name is letters, digits, dots, dashes and underscores: safe in a header.
    response["Content-Disposition"] = f'attachment; filename="bont-analyses-{name or "cohort"}.zip"'
    return response


@require_role(*RESEARCH)
@require_POST
def cohort_save(request: HttpRequest) -> HttpResponse:
    """Save the builder's criteria under a name (the signed-in researcher owns it), then show its analyses."""
    given = _criteria(request.POST)
    name = request.POST.get("name", "").strip()
    try:
        save_cohort(saved_cohorts(), name, cohort_definition(given), request.user.get_username())
    except FieldError as error:
        return _refused_cohort(request, error, given, name, saving=True)
    return redirect(f"{reverse('research_analyses')}?{urlencode({'cohort': name})}")


@require_role(*RESEARCH)
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    """The cohort's de-identified export (CSV or Parquet, with its data dictionary, k-anonymity report and
    manifest) as a zip; refused with the reason when a quasi-identifier class is smaller than k."""
    try:
        site = site_code(request.POST.get("site", "SITE"))
        cohort = _cohort(request.POST)
        chosen = ExportFormat(request.POST.get("format", ExportFormat.CSV))
    except ValueError as error:  # a FieldError is one, naming its field
        reason = str(error) if isinstance(error, FieldError) else "format: give csv, parquet or ndjson"
        return render(request, "web/research/refused.html", {"reason": reason}, status=400)
    try:
        archive = export_zip(research_exporter(), chosen, site, cohort, BontSettings().research_min_k)
    except ExportRefused as refused:
        return render(request, "web/research/refused.html", {"reason": str(refused), "k_refused": True}, status=409)
    except FieldError as error:
        return render(request, "web/research/refused.html", {"reason": str(error)}, status=400)
    log_read(request, "research-export", object_id=f"{chosen}:{site}", action=Action.EXPORT)
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="bont-registry-{site}-{chosen}.zip"'
    return response
