"""``bont research``: the de-identified registry — saved cohorts, a cohort's size, the analyses of a cohort (small
cells suppressed, each with its method), the de-identified export, and the analysis of several sites' exports;
and ``refresh``, which judges the stored verdicts again. De-identified registry data for research, not advice for
a patient: what is printed is what ``bont.services.registry_analytics`` publishes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table

from bont.cli.common import JsonOption, emit_json, fail, stderr, stdout

if TYPE_CHECKING:
    from bont.domain.errors import FieldError
    from bont.domain.research.cohorts import CohortDefinition
    from bont.services.registry_analytics import Analyses, AnalysisEngine, Report

research_app = typer.Typer(help="The de-identified research registry.", no_args_is_help=True)
cohort_app = typer.Typer(help="Saved cohorts: define, save, list, show, and see a cohort's size.", no_args_is_help=True)
research_app.add_typer(cohort_app, name="cohort")

PROGRESS_EVERY = 10_000  # patients


@research_app.command("refresh")
def research_refresh() -> None:
    """Judge every patient's latest responder verdicts again with the knowledge in use, and summarise the Follow-up
    list again: after an upgrade, or when the knowledge files changed (the research page then shows no rate until
    this has run). Recording goes on meanwhile."""
    from bont.bootstrap import refresh_responder_verdicts

    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        if done - shown >= PROGRESS_EVERY or done == total:
            stderr.print(f"judged {done:,} of {total:,} patients")
            shown = done

    patients = refresh_responder_verdicts(progress)
    stdout.print(f"responder verdicts judged again and the Follow-up list summarised again for {patients:,} patients")


# -- a cohort's criteria, as options (each named in an error as the option the researcher typed)

Indication = Annotated[str | None, typer.Option("--indication", help="Indication id.")]
Product = Annotated[str | None, typer.Option("--product", help="Product id (needed by a dose range).")]
Population = Annotated[str | None, typer.Option("--population", help="Population id.")]
AgeFrom = Annotated[str | None, typer.Option("--age-from", help="Lower bound of an age band (years).")]
AgeTo = Annotated[str | None, typer.Option("--age-to", help="Highest age band's lower bound to keep (years).")]
Sex = Annotated[str | None, typer.Option("--sex", help="female, male, other or unknown.")]
FirstDay = Annotated[str | None, typer.Option("--first-day", help="Sessions on or after this day (YYYY-MM-DD).")]
LastDay = Annotated[str | None, typer.Option("--last-day", help="Sessions on or before this day (YYYY-MM-DD).")]
UnitsFrom = Annotated[str | None, typer.Option("--units-from", help="Dose per session at least (product's units).")]
UnitsTo = Annotated[str | None, typer.Option("--units-to", help="Dose per session at most (product's units).")]
CyclesFrom = Annotated[str | None, typer.Option("--cycles-from", help="At least this many sessions.")]
CyclesTo = Annotated[str | None, typer.Option("--cycles-to", help="At most this many sessions.")]
Conditions = Annotated[
    list[str] | None, typer.Option("--condition", help="ICD-10-CM code or prefix the patient has (repeatable).")
]
Plots = Annotated[Path | None, typer.Option("--plots", help="Write each analysis's plot as PNG into this folder.")]


def _option(field: str) -> str:
    """The option a cohort field is typed as: units_from → --units-from, condition_codes.0 → --condition."""
    if field.startswith("condition_codes"):
        return "--condition"
    return "--" + field.replace("_", "-")


def _refuse(error: FieldError) -> NoReturn:
    fail(f"{_option(error.field)}: {error.problem}")


def _criteria(**given: Any) -> CohortDefinition:
    from bont.domain.errors import FieldError
    from bont.services.registry_analytics import cohort_definition

    given["condition_codes"] = given.get("condition_codes") or None
    try:
        return cohort_definition({field: value for field, value in given.items() if value is not None})
    except FieldError as error:
        _refuse(error)


def _cohort(name: str | None, criteria: CohortDefinition, option: str = "NAME") -> CohortDefinition:
    """The saved cohort ``name``, or the criteria given (not both: which would win is not obvious)."""
    from bont.bootstrap import saved_cohorts
    from bont.domain.errors import FieldError
    from bont.services.registry_analytics import saved_cohort

    if name is None:
        return criteria
    if criteria.to_mapping():
        fail(f"{option}: give a saved cohort's name or criteria, not both")
    try:
        return saved_cohort(saved_cohorts(), name)
    except FieldError:
        fail(f"{option}: no saved cohort of that name")


def _minimum_cell() -> int:
    from bont.settings import BontSettings

    return BontSettings().research_min_cell


def _notice() -> None:
    from bont.services.registry_analytics import NOT_ADVICE

    stderr.print(NOT_ADVICE, highlight=False, soft_wrap=True)


def _print_report(report: Report) -> None:
    table = Table(title=report.method.name, title_justify="left")
    for column in report.columns:
        table.add_column(column.label)
    for row in report.rows:
        table.add_row(*(cell.text for cell in row))
    stdout.print(table)
    stdout.print(report.method.description, highlight=False, soft_wrap=True)
    for definition in report.method.definitions:
        stdout.print(f"  · {definition}", highlight=False, soft_wrap=True)
    for citation in report.method.citations:
        stdout.print(f"  [{citation}]", highlight=False, soft_wrap=True, markup=False)
    stdout.print(report.suppression, highlight=False, soft_wrap=True)
    stdout.print()


def _write_plots(folder: Path, analyses: Analyses) -> int:
    from bont.interop.registry.plots import png

    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = 0
        for report in analyses.reports:
            for chart in report.charts:
                (folder / f"{chart.name}.png").write_bytes(png(chart))
                written += 1
    except OSError as error:
        fail(f"--plots: cannot write into the folder ({error.strerror})")
    return written


def _publish(engine: AnalysisEngine, cohort: CohortDefinition, as_json: bool, plots: Path | None, target: str) -> None:
    from bont.bootstrap import build_knowledge
    from bont.cli.operator import log_cli_read
    from bont.interop.registry.engine import mean_ci
    from bont.services.registry_analytics import analyse, analyses_document

    analyses = analyse(engine, build_knowledge(), cohort, _minimum_cell(), mean_ci)
    log_cli_read(target, object_id=analyses.fingerprint)
    if as_json:
        emit_json(analyses_document(analyses))
    else:
        _notice()
        _print_report(analyses.size)
        for report in analyses.reports:
            _print_report(report)
    if plots is not None:
        stderr.print(f"{_write_plots(plots, analyses)} plots written as PNG")


# -- saved cohorts


@cohort_app.command("save")
def cohort_save(
    name: Annotated[str, typer.Argument(help="The cohort's name (letters, digits, dots, dashes, underscores).")],
    indication: Indication = None,
    product: Product = None,
    population: Population = None,
    age_from: AgeFrom = None,
    age_to: AgeTo = None,
    sex: Sex = None,
    first_day: FirstDay = None,
    last_day: LastDay = None,
    units_from: UnitsFrom = None,
    units_to: UnitsTo = None,
    cycles_from: CyclesFrom = None,
    cycles_to: CyclesTo = None,
    condition: Conditions = None,
    as_json: JsonOption = False,
) -> None:
    """Save a cohort under a name (replacing your own of that name); the operator (``bont --as``) owns it."""
    from bont.bootstrap import saved_cohorts
    from bont.cli.operator import operator
    from bont.domain.errors import FieldError
    from bont.services.registry_analytics import save_cohort

    cohort = _criteria(
        indication=indication, product=product, population=population, age_from=age_from, age_to=age_to, sex=sex,
        first_day=first_day, last_day=last_day, units_from=units_from, units_to=units_to, cycles_from=cycles_from,
        cycles_to=cycles_to, condition_codes=condition,
    )  # fmt: skip
    owner = operator.get()
    if owner is None:
        fail("--as: a saved cohort belongs to a user; name yourself with bont --as USERNAME (or BONT_OPERATOR)")
    try:
        save_cohort(saved_cohorts(), name, cohort, owner)
    except FieldError as error:
        fail(f"{'NAME' if error.field == 'name' else _option(error.field)}: {error.problem}")
    if as_json:
        emit_json({"name": name, "definition": cohort.to_mapping()})
    else:
        stdout.print(f"cohort {name} saved", highlight=False)


@cohort_app.command("list")
def cohort_list(as_json: JsonOption = False) -> None:
    """The saved cohorts, by name, with their criteria."""
    from bont.bootstrap import saved_cohorts

    cohorts = saved_cohorts().all()
    if as_json:
        emit_json(
            [
                {
                    "name": c.name,
                    "definition": dict(c.definition),
                    "created_by": c.created_by,
                    "updated_at": c.updated_at.isoformat(),
                }
                for c in cohorts
            ]
        )
        return
    table = Table("Name", "Criteria", "Saved by", "Updated")
    for c in cohorts:
        criteria = ", ".join(f"{key}={value}" for key, value in c.definition.items()) or "every patient"
        table.add_row(c.name, criteria, c.created_by, f"{c.updated_at:%Y-%m-%d %H:%M}")
    stdout.print(table)


@cohort_app.command("show")
def cohort_show(
    name: Annotated[str, typer.Argument(help="The saved cohort's name.")], as_json: JsonOption = False
) -> None:
    """A saved cohort's criteria."""
    cohort = _cohort(name, _criteria())
    if as_json:
        emit_json({"name": name, "definition": cohort.to_mapping()})
        return
    stdout.print(f"cohort {name}", highlight=False)
    for key, value in cohort.to_mapping().items():
        stdout.print(f"  {key}: {value}", highlight=False)
    if not cohort.to_mapping():
        stdout.print("  every patient (no criterion)")


@cohort_app.command("size")
def cohort_size(
    name: Annotated[str | None, typer.Argument(help="A saved cohort's name (or give criteria).")] = None,
    indication: Indication = None,
    product: Product = None,
    population: Population = None,
    age_from: AgeFrom = None,
    age_to: AgeTo = None,
    sex: Sex = None,
    first_day: FirstDay = None,
    last_day: LastDay = None,
    units_from: UnitsFrom = None,
    units_to: UnitsTo = None,
    cycles_from: CyclesFrom = None,
    cycles_to: CyclesTo = None,
    condition: Conditions = None,
    as_json: JsonOption = False,
) -> None:
    """How many patients and sessions a cohort holds (suppressed under the minimum cell size), before any analysis."""
    from bont.bootstrap import registry_engine
    from bont.cli.operator import log_cli_read
    from bont.services.registry_analytics import published_size, report_document

    criteria = _criteria(
        indication=indication, product=product, population=population, age_from=age_from, age_to=age_to, sex=sex,
        first_day=first_day, last_day=last_day, units_from=units_from, units_to=units_to, cycles_from=cycles_from,
        cycles_to=cycles_to, condition_codes=condition,
    )  # fmt: skip
    cohort = _cohort(name, criteria)
    report = published_size(registry_engine(), cohort, _minimum_cell())
    log_cli_read("research-cohort-size", object_id=name or "")
    if as_json:
        emit_json(report_document(report))
    else:
        _notice()
        _print_report(report)


# -- analyses, export, several sites


@research_app.command("analyse")
def research_analyse(
    name: Annotated[str | None, typer.Argument(help="A saved cohort's name (or give criteria).")] = None,
    indication: Indication = None,
    product: Product = None,
    population: Population = None,
    age_from: AgeFrom = None,
    age_to: AgeTo = None,
    sex: Sex = None,
    first_day: FirstDay = None,
    last_day: LastDay = None,
    units_from: UnitsFrom = None,
    units_to: UnitsTo = None,
    cycles_from: CyclesFrom = None,
    cycles_to: CyclesTo = None,
    condition: Conditions = None,
    as_json: JsonOption = False,
    plots: Plots = None,
) -> None:
    """Every analysis of a cohort over the clinic's records, as published: responders per cycle (Wilson 95 % CI),
    change from baseline, dose per session by cycle and product, time to retreatment (Kaplan–Meier), adverse
    events per 100 sessions and continuation; each with its method and its suppressed cells counted."""
    from bont.bootstrap import registry_engine

    criteria = _criteria(
        indication=indication, product=product, population=population, age_from=age_from, age_to=age_to, sex=sex,
        first_day=first_day, last_day=last_day, units_from=units_from, units_to=units_to, cycles_from=cycles_from,
        cycles_to=cycles_to, condition_codes=condition,
    )  # fmt: skip
    cohort = _cohort(name, criteria)
    _publish(registry_engine(), cohort, as_json, plots, "research-analyses")


@research_app.command("export")
def research_export(
    export_format: Annotated[str, typer.Option("--format", help="csv, parquet or ndjson (FHIR Bulk Data).")],
    out: Annotated[Path, typer.Option("--out", help="A new folder to write the export into.")],
    cohort_name: Annotated[str | None, typer.Option("--cohort", help="Only this saved cohort's patients.")] = None,
    site: Annotated[
        str, typer.Option("--site", help="This clinic's site code (2–20 letters, digits, dashes).")
    ] = "SITE",
    as_json: JsonOption = False,
) -> None:
    """The de-identified analysis dataset (HIPAA Safe Harbor: no identifier, dates shifted by a secret per-patient
    offset, ages over 89 as 90+) with its data dictionary, k-anonymity report and manifest; refused, writing
    nothing, when a class of (age band, sex, indication) is smaller than the minimum k."""
    from bont.bootstrap import research_exporter
    from bont.cli.operator import Action, log_cli_read
    from bont.domain.errors import FieldError
    from bont.domain.research.disclosure import ExportRefused
    from bont.services.registry_analytics import ExportFormat, ExportRequest, export_dataset
    from bont.settings import BontSettings

    try:
        chosen = ExportFormat(export_format)
    except ValueError:
        fail(f"--format: give one of {', '.join(ExportFormat)}")
    if out.exists():
        fail("--out: the folder exists; give a new one")
    if not out.parent.is_dir():
        fail("--out: the folder it would go in does not exist")
    cohort = _cohort(cohort_name, _criteria(), "--cohort") if cohort_name else None
    request = ExportRequest(out, chosen, site, cohort, BontSettings().research_min_k)
    try:
        manifest = export_dataset(research_exporter(), request)
    except ExportRefused as refused:
        fail(str(refused))
    except FieldError as error:
        fail(f"--{error.field.replace('_', '-')}: {error.problem}")
    code = manifest.get("site", site)  # as the export writes it: upper case
    log_cli_read("research-export", object_id=f"{chosen}:{code}", action=Action.EXPORT)
    if as_json:
        emit_json(dict(manifest))
    else:
        _notice()
        stdout.print(f"de-identified export written ({chosen}, site {code})", highlight=False)


@research_app.command("combine")
def research_combine(
    folders: Annotated[list[Path], typer.Argument(help="The folders of several sites' exports.")],
    cohort_name: Annotated[str | None, typer.Option("--cohort", help="A saved cohort to analyse.")] = None,
    as_json: JsonOption = False,
    plots: Plots = None,
) -> None:
    """Analyse several sites' de-identified exports as one registry (each site's code kept apart; two exports with
    the same site code refused), with the same analyses and suppression as ``bont research analyse``. An export's
    dates are each patient's shifted dates: a saved cohort's date range selects by shifted dates here."""
    import duckdb

    from bont.bootstrap import combined_engine
    from bont.domain.errors import FieldError
    from bont.interop.registry.engine import DatasetError

    cohort = _cohort(cohort_name, _criteria(), "--cohort")
    try:
        _publish(combined_engine(folders), cohort, as_json, plots, "research-combined-analyses")
    except FieldError as error:  # a folder that is no export, or two exports of one site
        fail(f"DIR: {error.problem}")
    except DatasetError as error:  # a table, a file or a column missing, or a value of the wrong type
        fail(f"DIR: {error}")
    except duckdb.Error:
        # A file the engine could not read at all (its message may quote a row, which is not shown).
        fail("DIR: a file of these exports does not read as a table of the data dictionary (data-dictionary.csv)")
