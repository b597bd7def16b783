"""The evidence library's pages: search the studies (and export a search), one study, the registered trials, the
evidence map of indications × products, and one indication's evidence summary (page and PDF, for a
prior-authorisation request). Open to every signed-in role; what they show comes from
``bont.services.evidence_library``, and each view translates HTTP to one of its calls and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from bont.bootstrap import build_knowledge, clock, study_catalogue, study_library
from bont.domain.knowledge import KnowledgeBase
from bont.domain.studies import (
    OTHER_PRODUCTS,
    Design,
    Origin,
    Study,
    StudyFilter,
    Trial,
    TrialFilter,
    TrialStatus,
)
from bont.interop.citations import ExportFormat, export_records, pubmed_url, trial_url
from bont.interop.evidence_summary_pdf import render_evidence_summary_pdf
from bont.services.evidence_library import (
    MAX_PAGE,
    PER_PAGE,
    PHASE_LENGTH,
    SEARCH_TEXT_LIMIT,
    EvidenceQueryError,
    Found,
    every_study,
    every_trial,
    indication_evidence,
    library_map,
    ongoing_research,
    search_studies,
    search_trials,
    studies_by_source,
    study_by_key,
)
from bont.services.paging import page_within
from bont.web.access import EVIDENCE, require_role
from bont.web.pages import Pages

STUDY_FIELDS = ("q", "indication", "product", "design", "year_from", "year_to", "level")
TRIAL_FIELDS = ("q", "indication", "product", "status", "phase")
# The level filter's choices: AAN levels and GRADE certainties share one scale of four (EvidenceLevel.rank).
LEVEL_CHOICES = (
    ("A", "A or high"),
    ("B", "B or moderate, or better"),
    ("C", "C or low, or better"),
    ("U", "any grade (U or very low, or better)"),
)
OTHER_LABEL = "Other"  # the map's column and the product filter's choice for toxins bont does not carry


# -- reading a search from the address


def _search_values(request: HttpRequest, names: Iterable[str]) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip() for name in names}


def _check_uses(knowledge: KnowledgeBase, values: Mapping[str, str], errors: dict[str, str]) -> None:
    if values["indication"] and values["indication"] not in knowledge.indications:
        errors["indication"] = "choose one of the indications listed"
    product = values["product"]
    if product and product not in knowledge.products and product != OTHER_PRODUCTS:
        errors["product"] = "choose one of the products listed"
    if len(values["q"]) > SEARCH_TEXT_LIMIT:
        errors["q"] = f"give at most {SEARCH_TEXT_LIMIT} characters"


def _whole_number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 8 else None


def _page(request: HttpRequest, errors: dict[str, str]) -> int:
    """The page asked for; a number past the service's last page is refused by the search itself."""
    text = request.GET.get("page", "").strip()
    if not text:
        return 1
    number = _whole_number(text)
    if not number:
        errors["page"] = f"give a page number from 1 to {MAX_PAGE:,}"
        return 1
    return number


def _study_filter(knowledge: KnowledgeBase, values: Mapping[str, str], errors: dict[str, str]) -> StudyFilter:
    """The study search the values ask for, each value that cannot be read refused in ``errors`` (the search
    refuses the grade and the years out of range itself)."""
    _check_uses(knowledge, values, errors)
    design = None
    if values["design"]:
        try:
            design = Design(values["design"])
        except ValueError:
            errors["design"] = "choose one of the designs listed"
    years: dict[str, int | None] = {}
    for name in ("year_from", "year_to"):
        years[name] = _whole_number(values[name]) if values[name] else None
        if values[name] and years[name] is None:
            errors[name] = "give a year of four digits, e.g. 2010"
    if years["year_from"] and years["year_to"] and years["year_to"] < years["year_from"] and not errors:
        errors["year_to"] = "is before the year from"
    return StudyFilter(
        text=values["q"],
        indication=values["indication"] or None,
        product=values["product"] or None,
        design=design,
        year_from=years["year_from"],
        year_to=years["year_to"],
        level=values["level"] or None,
    )


def _trial_filter(knowledge: KnowledgeBase, values: Mapping[str, str], errors: dict[str, str]) -> TrialFilter:
    _check_uses(knowledge, values, errors)
    status = None
    if values["status"]:
        try:
            status = TrialStatus(values["status"])
        except ValueError:
            errors["status"] = "choose one of the statuses listed"
    if len(values["phase"]) > PHASE_LENGTH:
        errors["phase"] = f"give at most {PHASE_LENGTH} characters"
    return TrialFilter(
        values["q"], values["indication"] or None, values["product"] or None, status, values["phase"] or None
    )


def _query_error(error: EvidenceQueryError) -> dict[str, str]:
    """A refusal of the service, under the name of the form's field."""
    return {"q" if error.field == "query" else error.field: error.problem}


def _filters(values: Mapping[str, str]) -> str:
    """The search's filters as an address query (no page), for its export links and the map's cells."""
    return urlencode({name: value for name, value in values.items() if value})


# -- what the pages show


def _product_names(knowledge: KnowledgeBase, record: Study | Trial) -> str:
    names = [knowledge.products[p].brand if p in knowledge.products else p for p in record.products]
    return ", ".join([*names, *record.other_products])


def _identifiers(study: Study) -> list[tuple[str, str]]:
    """The study's identifiers as (address, text) links to PubMed, doi.org and ClinicalTrials.gov."""
    links = []
    if study.pmid:
        links.append((pubmed_url(study.pmid), f"PMID {study.pmid}"))
    if study.doi:
        links.append((_doi_url(study.doi), f"DOI {study.doi}"))
    if study.nct:
        links.append((trial_url(study.nct), study.nct))
    return links


def _doi_url(doi: str) -> str:
    return f"https://doi.org/{quote(doi, safe='/:;()')}"  # a DOI may hold "#" or "?", which an address must escape


def _reference(study: Study) -> str:
    """How a list names the study beside its title: first author, journal and year (without authors, not the
    title again)."""
    if study.authors:
        return study.short_reference
    return ", ".join(str(part) for part in (study.journal, study.year) if part)


def _levels_text(study: Study, indication: str | None) -> str:
    """The study's grades, once each (of ``indication`` only, when given: a guideline grades many)."""
    levels = (level for level in study.levels if indication is None or level.indication in (None, indication))
    return "; ".join(dict.fromkeys(str(level) for level in levels))


def _study_rows(
    knowledge: KnowledgeBase, studies: Iterable[Study], indication: str | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "study": study,
            "reference": _reference(study),
            "products": _product_names(knowledge, study),
            "levels": _levels_text(study, indication),
            "identifiers": _identifiers(study),
        }
        for study in studies
    ]


def _choices(knowledge: KnowledgeBase) -> dict[str, Any]:
    """The filters' choices from the knowledge base: indications by name, products by brand."""
    return {
        "indications": sorted(knowledge.indications.values(), key=lambda indication: indication.name),
        "products": [*((p.id, p.brand) for p in knowledge.products.values()), (OTHER_PRODUCTS, OTHER_LABEL)],
    }


def _pages(request: HttpRequest, found: Found[Any]) -> Pages:
    total = found.total
    if found.total_is_estimate:  # the pager offers the pages the search reckons there are (``Found.pages``)
        last_page_rows = len(found.records) if found.page == found.pages else found.limit
        total = (found.pages - 1) * found.limit + max(1, last_page_rows)
    return Pages.numbered(request, min(found.page, found.pages), total, found.limit)


# -- the pages


@require_role(*EVIDENCE)
def studies(request: HttpRequest) -> HttpResponse:
    """Search the studies: words over titles, conditions, interventions and outcomes, with filters; a value
    that names nothing is refused beside its field (400), and nothing is searched."""
    knowledge = build_knowledge()
    values = _search_values(request, STUDY_FIELDS)
    errors: dict[str, str] = {}
    where = _study_filter(knowledge, values, errors)
    page = _page(request, errors)
    found = None
    if not errors:
        library = study_library()
        try:
            found = search_studies(library, knowledge, where, page)
            if found.total and page > found.pages:  # beyond the last page: the last
                found = search_studies(library, knowledge, where, found.pages)
        except EvidenceQueryError as error:
            errors = _query_error(error)
    context = {
        **_choices(knowledge),
        "values": values,
        "errors": errors,
        "found": found,
        "rows": _study_rows(knowledge, found.records) if found else [],
        "pages": _pages(request, found) if found else None,
        "designs": list(Design),
        "levels": LEVEL_CHOICES,
        "filters": _filters(values),
        "formats": _EXPORT_LINKS,
        "text_limit": SEARCH_TEXT_LIMIT,
    }
    return render(request, "web/evidence/studies.html", context, status=400 if errors else 200)


_EXPORT_LINKS = (
    (ExportFormat.RIS, "RIS"),
    (ExportFormat.BIBTEX, "BibTeX"),
    (ExportFormat.CSV, "CSV"),
    (ExportFormat.CSLJSON, "CSL-JSON"),
)


def _export(records: list[Study] | list[Trial], kind: str, export_format: ExportFormat) -> HttpResponse:
    text, media_type, suffix = export_records(records, export_format)
    response = HttpResponse(text, content_type=media_type)
    response["Content-Disposition"] = f'attachment; filename="bont-{kind}-{clock().today():%Y-%m-%d}{suffix}"'
    return response


def _export_format(request: HttpRequest, errors: dict[str, str]) -> ExportFormat:
    try:
        return ExportFormat(request.GET.get("format", ""))
    except ValueError:
        errors["format"] = "choose ris, bibtex, csv or csljson"
        return ExportFormat.RIS


def _refused(errors: Mapping[str, str]) -> HttpResponse:
    return HttpResponse("; ".join(f"{k}: {v}" for k, v in errors.items()), status=400, content_type="text/plain")


@require_role(*EVIDENCE)
def studies_export(request: HttpRequest) -> HttpResponse:
    """Every study the search finds (not one page), as a file to download in the format asked for."""
    knowledge = build_knowledge()
    errors: dict[str, str] = {}
    export_format = _export_format(request, errors)
    where = _study_filter(knowledge, _search_values(request, STUDY_FIELDS), errors)
    if errors:
        return _refused(errors)
    try:
        records = every_study(study_library(), knowledge, where)
    except EvidenceQueryError as error:
        return _refused(_query_error(error))
    return _export(records, "studies", export_format)


@require_role(*EVIDENCE)
def study(request: HttpRequest, key: str) -> HttpResponse:
    """One study: every field with its label, the grades with the guideline that gave them, the pages its facts
    were read in, the fields no page confirmed marked as unverified, and those an import filled into a curated
    record marked as from an import."""
    knowledge = build_knowledge()
    library = study_library()
    try:
        found = study_by_key(library, key)
    except EvidenceQueryError:
        raise Http404("no study of the library has this key") from None
    graded_by = {level.source: library.study(level.source) for level in found.levels if level.source}
    brands = {product.id: product.brand for product in knowledge.products.values()}
    context = {
        "study": found,
        "facts": _study_facts(knowledge, found),
        "levels": [
            {
                "level": level,
                "indication": _indication_name(knowledge, level.indication),
                "product": brands.get(level.product or "", ""),
                "by": graded_by.get(level.source) if level.source else None,
                "by_key": level.source,
            }
            for level in found.levels
        ],
        # Pages read are links only when they are web addresses (a curator may name a printed source).
        "read_at": [(page, page.startswith(("https://", "http://"))) for page in found.read_at],
        "unverified": found.unverified,
        "imported_fields": found.imported_fields,
    }
    return render(request, "web/evidence/study.html", context)


def _indication_name(knowledge: KnowledgeBase, indication: str | None) -> str:
    if indication is None:
        return ""
    return knowledge.indications[indication].name if indication in knowledge.indications else indication


def _study_facts(knowledge: KnowledgeBase, study: Study) -> list[dict[str, Any]]:
    """Each field of the study that has a value, with its label, as text or links, whether no page confirmed
    it, and whether an import filled it (not read in the curated record's pages)."""
    result = study.result
    source = knowledge.sources.get(study.source) if study.source else None
    rows: list[tuple[str, str, str, list[tuple[str, str]]]] = [
        ("title", "Title", study.title, []),
        ("authors", "Authors", ", ".join(study.authors), []),
        ("journal", "Journal", study.journal or "", []),
        ("year", "Year", str(study.year or ""), []),
        ("citation", "Volume, issue, pages", study.citation or "", []),
        ("design", "Design", study.design.label, []),
        (
            "indications",
            "Indications",
            "",
            [
                (reverse("evidence_indication", args=[i]), _indication_name(knowledge, i))
                for i in study.indications
                if i in knowledge.indications
            ],
        ),
        ("products", "Products", _product_names(knowledge, study), []),
        ("population", "Population", study.population or "", []),
        ("participants", "Participants (N)", str(study.participants or ""), []),
        ("doses", "Doses (in the product's own units)", study.doses or "", []),
        ("comparator", "Comparator", study.comparator or "", []),
        ("result", "Primary outcome", result.outcome if result else "", []),
        ("result", "Effect", (result.effect or "") if result else "", []),
        ("result", "95 % confidence interval", (result.interval or "") if result else "", []),
        ("result", "p", (result.p_value or "") if result else "", []),
        ("follow_up", "Follow-up", study.follow_up or "", []),
        ("pmid", "PMID", "", [(pubmed_url(study.pmid), study.pmid)] if study.pmid else []),
        ("doi", "DOI", "", [(_doi_url(study.doi), study.doi)] if study.doi else []),
        ("nct", "Registration", "", [(trial_url(study.nct), study.nct)] if study.nct else []),
        ("keywords", "Keywords", ", ".join(study.keywords), []),
        ("source", "Knowledge source", source.reference if source else (study.source or ""), []),
        ("origin", "Record", _origin_words(study), []),
    ]
    return [
        {
            "field": name,
            "label": label,
            "text": text,
            "links": links,
            "unverified": name in study.unverified,
            "imported": name in study.imported_fields,
        }
        for name, label, text, links in rows
        if text or links
    ]


def _origin_words(study: Study) -> str:
    if study.origin is Origin.IMPORTED:
        return "imported from a literature file"
    if study.imported_fields:
        return "curated: each fact read in the pages listed below, except those marked from an import"
    return "curated: each fact read in the pages listed below"


@require_role(*EVIDENCE)
def trials(request: HttpRequest) -> HttpResponse:
    """The registered trials: without a filter, every trial with the research areas' first and ongoing before
    finished; with one, the trials the search finds."""
    knowledge = build_knowledge()
    values = _search_values(request, TRIAL_FIELDS)
    errors: dict[str, str] = {}
    where = _trial_filter(knowledge, values, errors)
    page = _page(request, errors)
    found: Found[Trial] | None = None
    research_areas = study_catalogue().research_areas
    if not errors:
        library = study_library()
        try:
            if any(values.values()):
                found = search_trials(library, knowledge, where, page)
                if found.total and page > found.pages:
                    found = search_trials(library, knowledge, where, found.pages)
            else:
                found = _a_page(ongoing_research(library, research_areas), page)
        except EvidenceQueryError as error:
            errors = _query_error(error)
    rows = [
        {
            "trial": trial,
            "indications": ", ".join(_indication_name(knowledge, i) for i in trial.indications),
            "products": _product_names(knowledge, trial),
            "research_area": bool(research_areas.intersection(trial.indications)),
            "url": trial_url(trial.nct),
        }
        for trial in (found.records if found else ())
    ]
    context = {
        **_choices(knowledge),
        "values": values,
        "errors": errors,
        "found": found,
        "rows": rows,
        "pages": _pages(request, found) if found else None,
        "statuses": list(TrialStatus),
        "filtered": any(values.values()),
        "filters": _filters(values),
        "formats": _EXPORT_LINKS,
        "text_limit": SEARCH_TEXT_LIMIT,
        "phase_length": PHASE_LENGTH,
    }
    return render(request, "web/evidence/trials.html", context, status=400 if errors else 200)


def _a_page(records: list[Trial], page: int) -> Found[Trial]:
    offset = (page_within(page, len(records), PER_PAGE) - 1) * PER_PAGE
    return Found(tuple(records[offset : offset + PER_PAGE]), len(records), offset, PER_PAGE)


@require_role(*EVIDENCE)
def trials_export(request: HttpRequest) -> HttpResponse:
    """Every registered trial the search finds, as a file to download in the format asked for; without a filter,
    every trial in the order the page lists them (the research areas' first)."""
    knowledge = build_knowledge()
    errors: dict[str, str] = {}
    export_format = _export_format(request, errors)
    values = _search_values(request, TRIAL_FIELDS)
    where = _trial_filter(knowledge, values, errors)
    if errors:
        return _refused(errors)
    library = study_library()
    try:
        if any(values.values()):
            records = every_trial(library, knowledge, where)
        else:
            records = ongoing_research(library, study_catalogue().research_areas)
    except EvidenceQueryError as error:
        return _refused(_query_error(error))
    return _export(records, "trials", export_format)


@require_role(*EVIDENCE)
def evidence_map(request: HttpRequest) -> HttpResponse:
    """The grid of indications × products: per cell the number of studies, the best guideline grade or the
    strongest design, and the registered trials still running; each non-empty cell leads to its studies."""
    knowledge = build_knowledge()
    grid = library_map(study_library(), knowledge)
    columns = [
        (product, knowledge.products[product].brand if product in knowledge.products else OTHER_LABEL)
        for product in grid.products
    ]
    rows = []
    for indication in grid.indications:
        cells = []
        for product, brand in columns:
            cell = grid.cell(indication, product)
            use = urlencode({"indication": indication, "product": product})
            cells.append(
                {
                    "cell": cell,
                    "brand": brand,
                    "studies_url": f"{reverse('evidence')}?{use}" if cell.studies else None,
                    "trials_url": f"{reverse('evidence_trials')}?{use}" if cell.trials_ongoing else None,
                }
            )
        rows.append({"id": indication, "name": knowledge.indications[indication].name, "cells": cells})
    return render(request, "web/evidence/map.html", {"columns": columns, "rows": rows})


def _summary(knowledge: KnowledgeBase, indication_id: str) -> Any:
    try:
        return indication_evidence(study_library(), knowledge, indication_id, clock().today())
    except EvidenceQueryError:
        raise Http404("no indication has this id") from None


@require_role(*EVIDENCE)
def indication_summary(request: HttpRequest, indication_id: str) -> HttpResponse:
    """One indication's evidence summary: its codes, each product's label status, the guideline grades, the
    studies strongest first and the registered trials; its PDF is for a prior-authorisation request."""
    knowledge = build_knowledge()
    evidence = _summary(knowledge, indication_id)
    brands = {p.id: p.brand for p in knowledge.products.values()}
    levels: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for level in evidence.levels:
        # The guideline that gave the grade: named by a trial it graded, or the study carrying the grade itself.
        by = level.source or next((study.key for study in evidence.studies if level in study.levels), None)
        product = brands.get(level.product or "", "all products")
        named = next((_reference(study) for study in evidence.studies if study.key == by), by)
        levels.setdefault((str(level), product, by), {"level": level, "product": product, "by": by, "named": named})
    context = {
        "evidence": evidence,
        "levels": list(levels.values()),
        "rows": _study_rows(knowledge, evidence.studies, evidence.indication),
        "trials": [{"trial": trial, "url": trial_url(trial.nct)} for trial in evidence.trials],
    }
    return render(request, "web/evidence/indication.html", context)


@require_role(*EVIDENCE)
def indication_summary_pdf(request: HttpRequest, indication_id: str) -> HttpResponse:
    evidence = _summary(build_knowledge(), indication_id)
    response = HttpResponse(render_evidence_summary_pdf(evidence), content_type="application/pdf")
    name = f"bont-evidence-{evidence.indication}-{evidence.prepared_on:%Y-%m-%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- the studies protocols and findings rest on


def link_cited_studies(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Give each citation of a plan document the key of the study of the library that has its source (as
    ``study``), so that the page links a protocol's or a finding's source to the study; returns the plan's
    sources once each, for the page's list of them."""
    cited = [finding["source"] for finding in (*document["findings"], *document["notes"]) if finding["source"]]
    if document["preparation"]:
        cited.append(document["preparation"]["source"])
    cited.extend(document["sources"])
    if not cited:
        return []
    keys = studies_by_source(study_library())
    for citation in cited:
        citation["study"] = keys.get(citation["id"])
    return list({citation["id"]: citation for citation in document["sources"]}.values())
