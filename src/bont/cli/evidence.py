"""``bont evidence``: the evidence library — import literature files, search studies and registered trials,
export a search, the evidence map, and one indication's evidence summary."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from bont.cli.common import JsonOption, emit_json, fail, stderr, stdout
from bont.domain.studies import Design, Study, Trial, TrialStatus, record_as_dict

if TYPE_CHECKING:
    from bont.domain.knowledge import KnowledgeBase
    from bont.domain.studies import StudyFilter
    from bont.services.evidence_library import EvidenceQueryError, Found, StudyLibrary

evidence_app = typer.Typer(
    help="The evidence library: studies and registered trials per indication, with import, search and export.",
    no_args_is_help=True,
)

QueryArgument = Annotated[str, typer.Argument(help="Words to find in titles, conditions, interventions, outcomes.")]
IndicationOption = Annotated[str | None, typer.Option(help="Only this indication (id, e.g. chronic-migraine).")]
ProductOption = Annotated[str | None, typer.Option(help="Only this product (id, or 'other').")]


class Format(StrEnum):
    RIS = "ris"
    BIBTEX = "bibtex"
    CSV = "csv"
    CSLJSON = "csljson"


def _library() -> tuple[StudyLibrary, KnowledgeBase]:
    """The library, with the curated catalogue written into it first if it changed."""
    from bont.bootstrap import build_knowledge, keep_study_catalogue, study_library

    keep_study_catalogue()
    return study_library(), build_knowledge()


def _refuse(error: EvidenceQueryError) -> NoReturn:
    """The option a search value came from, named as the command line writes it."""
    fail(f"--{error.field.replace('_', '-')}: {error.problem}" if error.field != "query" else str(error))


def _about(found: Found[Study] | Found[Trial]) -> str:
    return "about " if found.total_is_estimate else ""


def _page_json(found: Found[Study] | Found[Trial], name: str) -> dict[str, object]:
    return {
        "total": found.total,
        "total_is_estimate": found.total_is_estimate,
        "page": found.page,
        "pages": found.pages,
        name: [record_as_dict(record) for record in found.records],
    }


@evidence_app.command("import")
def import_files(
    files: Annotated[list[Path], typer.Argument(help="PubMed XML, MEDLINE text, ClinicalTrials.gov JSON or RIS.")],
    as_json: JsonOption = False,
) -> None:
    """Import literature files: each record is added, or updates the one with the same PMID, DOI or NCT number
    (a curated field is never overwritten). A file that cannot be read is refused whole and nothing of it is
    stored; a record that cannot be taken is listed as refused with the reason."""
    from bont.interop.literature import MAX_FILE_BYTES, LiteratureFileError, LiteratureTerms, read_literature
    from bont.services.evidence_library import EvidenceImportError, import_files

    library, knowledge = _library()
    terms = LiteratureTerms.from_knowledge(knowledge)
    parsed = []
    for file in files:  # every file read before anything is stored: one bad file stores none
        try:
            if file.stat().st_size > MAX_FILE_BYTES:  # refused before it is read into memory
                fail(f"FILE: {file.name} is larger than {MAX_FILE_BYTES // 1_000_000} MB")
            parsed.append(read_literature(file.read_bytes(), file.name, terms))
        except OSError as error:
            fail(f"FILE: cannot read {file.name} ({error.strerror})")
        except LiteratureFileError as error:
            fail(f"FILE: {error}")
    try:
        reports = import_files(library, parsed)
    except EvidenceImportError as error:
        fail(str(error))
    if as_json:
        emit_json(
            [
                {
                    "file": file.name,
                    "format": report.format,
                    "added": list(report.added),
                    "changed": [{"record": key, "fields": list(names)} for key, names in report.changed],
                    "unchanged": list(report.unchanged),
                    "refused": [{"record": refusal.record, "reason": refusal.reason} for refusal in report.refused],
                }
                for file, report in zip(files, reports, strict=True)
            ]
        )
        return
    for file, report in zip(files, reports, strict=True):
        stdout.print(
            f"{file.name} ({report.format}): {len(report.added)} added, {len(report.changed)} changed, "
            f"{len(report.unchanged)} unchanged, {len(report.refused)} refused",
            highlight=False,
        )
        for key in report.added:
            stdout.print(f"  added {key}", highlight=False)
        for key, names in report.changed:
            stdout.print(f"  changed {key}: {', '.join(names)}", highlight=False)
        for refusal in report.refused:
            stdout.print(f"  refused {refusal.record}: {refusal.reason}", highlight=False)


def _study_filter(
    query: str,
    indication: str | None,
    product: str | None,
    design: Design | None,
    year_from: int | None,
    year_to: int | None,
    level: str | None,
) -> StudyFilter:
    from bont.domain.studies import StudyFilter

    return StudyFilter(
        text=query,
        indication=indication,
        product=product,
        design=design,
        year_from=year_from,
        year_to=year_to,
        level=level,
    )


DesignOption = Annotated[Design | None, typer.Option(help="Only studies of this design.")]
YearFromOption = Annotated[int | None, typer.Option("--year-from", help="Published in this year or later.")]
YearToOption = Annotated[int | None, typer.Option("--year-to", help="Published in this year or earlier.")]
LevelOption = Annotated[
    str | None, typer.Option(help="Only studies graded at this level or better (A, B, C; high, moderate, low).")
]
PageOption = Annotated[int, typer.Option(help="Which page of results.")]
PerPageOption = Annotated[int, typer.Option("--per-page", help="Results per page (at most 200).")]


@evidence_app.command("search")
def search(
    query: QueryArgument = "",
    indication: IndicationOption = None,
    product: ProductOption = None,
    design: DesignOption = None,
    year_from: YearFromOption = None,
    year_to: YearToOption = None,
    level: LevelOption = None,
    page: PageOption = 1,
    per_page: PerPageOption = 25,
    as_json: JsonOption = False,
) -> None:
    """Search the studies: full-text over titles, conditions, interventions and outcomes (every word must match;
    each is also a prefix), with filters; the most relevant first, or the latest without words."""
    from bont.services.evidence_library import EvidenceQueryError, search_studies

    library, knowledge = _library()
    where = _study_filter(query, indication, product, design, year_from, year_to, level)
    try:
        found = search_studies(library, knowledge, where, page, per_page)
    except EvidenceQueryError as error:
        _refuse(error)
    if as_json:
        emit_json(_page_json(found, "studies"))
        return
    table = Table(title=f"Studies: {_about(found)}{found.total} found (page {found.page} of {found.pages})")
    for column in ("Key", "Study", "Design", "N", "Indications", "Products", "Level", "PMID"):
        table.add_column(column)
    for study in found.records:
        table.add_row(
            study.key,
            f"{study.short_reference}\n{study.title}",
            study.design.label,
            str(study.participants or ""),
            ", ".join(study.indications),
            ", ".join(study.products or study.other_products),
            "; ".join(str(level) for level in study.levels),
            study.pmid or "",
        )
    stdout.print(table)


@evidence_app.command("trials")
def trials(
    query: QueryArgument = "",
    indication: IndicationOption = None,
    product: ProductOption = None,
    status: Annotated[TrialStatus | None, typer.Option(help="Only trials of this status.")] = None,
    phase: Annotated[
        str | None, typer.Option(help="Only trials of this phase (e.g. 2: also 'Phase 2/Phase 3').")
    ] = None,
    page: PageOption = 1,
    per_page: PerPageOption = 25,
    as_json: JsonOption = False,
) -> None:
    """Search the registered trials (ClinicalTrials.gov), with their status as last read."""
    from bont.domain.studies import TrialFilter
    from bont.services.evidence_library import EvidenceQueryError, search_trials

    library, knowledge = _library()
    where = TrialFilter(query, indication, product, status, phase)
    try:
        found = search_trials(library, knowledge, where, page, per_page)
    except EvidenceQueryError as error:
        _refuse(error)
    if as_json:
        emit_json(_page_json(found, "trials"))
        return
    table = Table(title=f"Registered trials: {_about(found)}{found.total} found (page {found.page} of {found.pages})")
    for column in ("NCT", "Title", "Status", "Phase", "Enrolment", "Sponsor", "Start", "Results"):
        table.add_column(column)
    for trial in found.records:
        table.add_row(
            trial.nct,
            trial.title,
            trial.status.label,
            trial.phase or "",
            str(trial.enrolment or ""),
            trial.sponsor or "",
            trial.start.isoformat() if trial.start else "",
            "posted" if trial.results_posted else "",
        )
    stdout.print(table)


@evidence_app.command("export")
def export(
    export_format: Annotated[Format, typer.Option("--format", help="ris, bibtex, csv or csljson.")],
    query: QueryArgument = "",
    indication: IndicationOption = None,
    product: ProductOption = None,
    design: DesignOption = None,
    year_from: YearFromOption = None,
    year_to: YearToOption = None,
    level: LevelOption = None,
    registered_trials: Annotated[
        bool, typer.Option("--trials", help="Export the registered trials matching instead of the studies.")
    ] = False,
    status: Annotated[TrialStatus | None, typer.Option(help="With --trials: only trials of this status.")] = None,
    phase: Annotated[str | None, typer.Option(help="With --trials: only trials of this phase.")] = None,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
) -> None:
    """Export every record a search finds (not one page) as RIS, BibTeX, CSV or CSL-JSON."""
    from bont.domain.studies import TrialFilter
    from bont.interop.citations import ExportFormat, export_records
    from bont.services.evidence_library import EvidenceQueryError, every_study, every_trial

    studies_only = {"--design": design, "--year-from": year_from, "--year-to": year_to, "--level": level}
    trials_only = {"--status": status, "--phase": phase}
    for option, value in (studies_only if registered_trials else trials_only).items():
        if value is not None:
            fail(f"{option}: filters {'studies' if registered_trials else 'registered trials (with --trials)'} only")
    library, knowledge = _library()
    records: list[Study] | list[Trial]
    try:
        if registered_trials:
            records = every_trial(library, knowledge, TrialFilter(query, indication, product, status, phase))
        else:
            where = _study_filter(query, indication, product, design, year_from, year_to, level)
            records = every_study(library, knowledge, where)
    except EvidenceQueryError as error:
        _refuse(error)
    text, _, _ = export_records(records, ExportFormat(export_format.value))
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"--output: cannot write the file ({error.strerror})")
    stderr.print(f"wrote {len(records)} records to {output}", highlight=False)


@evidence_app.command("map")
def evidence_map(as_json: JsonOption = False) -> None:
    """The evidence map: per indication and product, the number of studies, the best guideline grade or the
    strongest design, and the registered trials still running."""
    from bont.services.evidence_library import library_map

    library, knowledge = _library()
    grid = library_map(library, knowledge)
    if as_json:
        emit_json(
            {
                "products": list(grid.products),
                "indications": [
                    {
                        "indication": indication,
                        "cells": [
                            {
                                "product": product,
                                "studies": (cell := grid.cell(indication, product)).studies,
                                "strength": cell.strength,
                                "best_design": cell.best_design.value if cell.best_design else None,
                                "best_level": str(cell.best_level) if cell.best_level else None,
                                "trials_ongoing": cell.trials_ongoing,
                            }
                            for product in grid.products
                        ],
                    }
                    for indication in grid.indications
                ],
            }
        )
        return
    table = Table(title="Evidence map: studies (best grade or design) · ongoing trials")
    table.add_column("Indication")
    for product in grid.products:
        table.add_column(product)
    for indication in grid.indications:
        cells = []
        for product in grid.products:
            cell = grid.cell(indication, product)
            ongoing = f" · {cell.trials_ongoing} ongoing" if cell.trials_ongoing else ""
            cells.append(f"{cell.studies} ({cell.strength}){ongoing}" if cell.studies else ongoing.lstrip(" ·"))
        table.add_row(knowledge.indications[indication].name, *cells)
    stdout.print(table)


@evidence_app.command("summary")
def summary(
    indication: Annotated[str, typer.Argument(help="Indication id, e.g. chronic-migraine.")],
    pdf: Annotated[Path | None, typer.Option(help="Write the summary as PDF to this file.")] = None,
    as_json: JsonOption = False,
) -> None:
    """One indication's evidence summary (codes, label status per product, guideline grades, studies strongest
    first, registered trials), for a prior-authorisation request; as PDF with --pdf."""
    from bont.bootstrap import clock
    from bont.interop.evidence_summary_pdf import render_evidence_summary_pdf
    from bont.services.evidence_library import EvidenceQueryError, indication_evidence

    library, knowledge = _library()
    try:
        evidence = indication_evidence(library, knowledge, indication, clock().today())
    except EvidenceQueryError as error:
        fail(f"INDICATION: {error.problem}")
    if pdf is not None:
        try:
            pdf.write_bytes(render_evidence_summary_pdf(evidence))
        except OSError as error:
            fail(f"--pdf: cannot write the file ({error.strerror})")
        stderr.print(f"wrote {pdf}", highlight=False)
        return
    if as_json:
        emit_json(
            {
                "indication": evidence.indication,
                "name": evidence.name,
                "diagnosis_codes": list(evidence.diagnosis_codes),
                "products": [
                    {
                        "product": status.product,
                        "name": status.name,
                        "approved": status.approved,
                        "populations": list(status.populations),
                        "label_status": status.label_status,
                    }
                    for status in evidence.products
                ],
                "levels": [
                    {"level": str(level), "indication": level.indication, "product": level.product}
                    for level in evidence.levels
                ],
                "studies_total": evidence.studies_total,
                "studies": [record_as_dict(study) for study in evidence.studies],
                "trials": [record_as_dict(trial) for trial in evidence.trials],
                "prepared_on": evidence.prepared_on.isoformat(),
            }
        )
        return
    stdout.print(f"[bold]Evidence summary: {evidence.name}[/] (prepared {evidence.prepared_on.isoformat()})")
    stdout.print("Decision support, not a prescriber: the clinician decides.")
    for status in evidence.products:
        stdout.print(f"  {status.name}: {status.label_status}", highlight=False)
    for level in evidence.levels:
        stdout.print(f"  {level} ({level.product or 'all products'})", highlight=False)
    listed = (
        f"the {len(evidence.studies)} strongest of {evidence.studies_total} studies"
        if len(evidence.studies) < evidence.studies_total
        else f"{len(evidence.studies)} studies"
    )
    stdout.print(f"{listed}, {len(evidence.trials)} registered trials", highlight=False)
    for study in evidence.studies:
        stdout.print(f"  {study.short_reference} [{study.design.label}] {study.title}", highlight=False)
