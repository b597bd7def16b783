"""``bont fhir``: exchange records in FHIR R4 — export one patient's record as a Bundle, bulk-export every
patient (or a cohort) as FHIR Bulk Data NDJSON, de-identified on request, and import outside history. The
profile (ids, code systems, laterality, a Medication per lot) is described in ``bont.interop.fhir.export``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from bont.cli.common import JsonOption, emit_json, fail, stderr, stdout

fhir_app = typer.Typer(
    help="FHIR R4: export a patient's record as a Bundle, bulk-export NDJSON (de-identified on request), import.",
    no_args_is_help=True,
)


def _counts(resources: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
    return dict(sorted(counts.items()))


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in counts.items()) or "nothing"


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` owner-only through a temporary file beside it, renamed at the end: a reader sees the old
    file or the whole new one."""
    descriptor, written = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(written, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(written)


@fhir_app.command("export")
def export(
    mrn: Annotated[str, typer.Argument(help="The patient's MRN.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write the Bundle to (default: standard output).")
    ] = None,
) -> None:
    """One patient's record as a FHIR R4 Bundle of type collection (every resource validated); what was written
    is counted per resource type on stderr."""
    from bont.bootstrap import fhir_exchange
    from bont.cli.operator import Action, log_cli_read
    from bont.domain.errors import FieldError

    if output is not None and not output.parent.is_dir():
        fail("--output: the folder does not exist")
    try:
        bundle = fhir_exchange().export_patient(mrn)
    except FieldError as error:
        fail(f"{'MRN' if error.field == 'mrn' else error.field}: {error.problem}")
    log_cli_read("fhir-export", mrn, action=Action.EXPORT)
    text = json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            _write_atomically(output, text)
        except OSError as error:
            fail(f"--output: cannot write the file ({error.strerror})")
    counts = _counts([entry["resource"] for entry in bundle.get("entry", ())])
    stderr.print(f"exported {_summary(counts)}", highlight=False, soft_wrap=True)


@fhir_app.command("bulk-export")
def bulk_export(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) folder for the NDJSON files.")],
    deidentified: Annotated[
        bool,
        typer.Option(
            "--deidentified",
            help="De-identified (identifiers removed, dates shifted per patient, birth year only; no names, MRNs "
            "or free text; pseudonyms; nothing later than 365 days before the export once shifted), not a Safe "
            "Harbor compliance claim.",
        ),
    ] = False,
    mrn: Annotated[
        list[str] | None, typer.Option("--mrn", help="Only this patient (repeat for a cohort; default: all).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """FHIR Bulk Data style NDJSON: one file per resource type and manifest.json, written into a new folder
    that takes the name DIRECTORY at the end (an existing DIRECTORY must be empty)."""
    from bont.bootstrap import fhir_exchange
    from bont.cli.operator import Action, log_cli_read
    from bont.domain.errors import FieldError

    try:
        counts = fhir_exchange().bulk_export(directory, deidentified=deidentified, mrns=mrn)
    except FieldError as error:
        fail(f"{'--mrn' if error.field == 'mrn' else error.field.upper()}: {error.problem}")
    except OSError as error:
        fail(f"DIRECTORY: cannot write the export ({error.strerror})")
    target = "fhir-bulk-export-deidentified" if deidentified else "fhir-bulk-export"
    for exported in mrn or ():
        log_cli_read(target, exported, action=Action.EXPORT)
    if not mrn:
        log_cli_read(target, action=Action.EXPORT)  # every patient's record left the database
    if as_json:
        emit_json({"directory": str(directory), "deidentified": deidentified, "counts": counts})
    else:
        stdout.print(f"wrote {_summary(dict(sorted(counts.items())))} to {directory}", highlight=False, soft_wrap=True)


@fhir_app.command("import")
def import_bundle(
    file: Annotated[Path, typer.Argument(help="A FHIR R4 Bundle (JSON) from another system.")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="The sending system's name (default: the bundle's meta.source)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import outside history (toxin given elsewhere, conditions, allergies, medicines) for the bundle's patient:
    matched by bont's MRN (the birth date and family name must agree), else by family name, given name and birth
    date (register the patient first: another hospital's MRN is not this clinic's). Prints what was added,
    matched and refused (with the reason and the entry's path), and the id of each dose given elsewhere (bont
    fhir withdraw-outside ID withdraws one imported wrongly); the site entries of one session are one dose. A
    second import of the same bundle adds nothing, nor does a dose of the same day, product and units as one on
    file. Exit 0 when anything was imported or matched (refused entries are listed); 2 when the bundle is refused
    whole and nothing is stored (not strict JSON or malformed: the path of the bad element; or its patient
    cannot be matched or registered), and 2 when every entry was refused (listed)."""
    from bont.bootstrap import build_knowledge, clock, outside_history_records, patient_registry
    from bont.cli.operator import log_cli_read
    from bont.interop import strict_json
    from bont.interop.fhir.read import MalformedBundleError, read_bundle
    from bont.services.fhir_import import ImportRefusedError, Outcome
    from bont.services.fhir_import import import_bundle as import_record

    # The file's name is never repeated: it may carry the patient's name.
    try:
        if file.stat().st_size > strict_json.MAX_DOCUMENT_BYTES:
            fail(f"FILE: larger than {strict_json.MAX_DOCUMENT_BYTES // 1_000_000} MB")
        # Strict, as the API reads a posted Bundle: a key given twice is refused, never the last one kept.
        document = strict_json.loads(file.read_bytes())
        record = read_bundle(document, build_knowledge(), source=source)
        report = import_record(outside_history_records(), record, clock().today())
    except OSError as error:
        fail(f"FILE: cannot read the file ({error.strerror})")
    except (strict_json.JsonDocumentError, MalformedBundleError, ImportRefusedError) as error:
        fail(f"{error.field}: {error.problem}; nothing was imported")
    log_cli_read("fhir-import", patient_registry().mrn_for_chart_key(report.chart_key))
    if as_json:
        emit_json(
            {
                "patient": str(report.patient),
                "chart_key": report.chart_key,
                **{
                    str(outcome): [
                        {"path": e.path, "resource": e.resource, "detail": e.detail}
                        | ({"id": e.dose_id} if e.dose_id is not None else {})
                        | ({"also": list(e.also)} if e.also else {})
                        for e in report.entries
                        if e.outcome is outcome
                    ]
                    for outcome in Outcome
                },
            }
        )
    else:
        stdout.print(
            f"patient {report.patient}; {len(report.added)} added, {len(report.matched)} matched, "
            f"{len(report.refused)} refused",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for entry in report.entries:  # a UCUM code such as [USP'U] is not rich markup
            stored = f" [dose {entry.dose_id}]" if entry.dose_id is not None else ""
            stdout.print(
                f"  {entry.outcome} {entry.path} ({entry.resource}){stored}: {entry.detail}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            for part in entry.also:
                stdout.print(f"    with {part}, a site entry of the same session", markup=False, highlight=False)
    if report.nothing_imported:
        raise typer.Exit(2)


@fhir_app.command("withdraw-outside")
def withdraw_outside(
    dose_id: Annotated[int, typer.Argument(metavar="ID", help="The dose's id (bont fhir import's report).")],
    reason: Annotated[str, typer.Option(help="Why the dose was imported wrongly.")],
    by: Annotated[str | None, typer.Option(help="Who withdraws it (username), kept with the dose.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a dose given elsewhere that was imported wrongly (another patient's, or counted twice): it is kept
    with the reason and who withdrew it (and in the audit history), no longer counts in the safety check or on
    the chart, and a second import of its record leaves it withdrawn. Exit 2 when there is no such dose, it is
    already withdrawn, or no reason is given."""
    from bont.bootstrap import outside_history_records
    from bont.domain.errors import FieldError
    from bont.services.fhir_import import withdraw_outside_dose

    try:
        withdraw_outside_dose(outside_history_records(), dose_id, reason, by)
    except FieldError as error:
        fail(f"{'ID' if error.field == 'dose' else '--' + error.field}: {error.problem}")
    if as_json:
        emit_json({"id": dose_id, "withdrawn": True})
    else:
        stdout.print(f"dose given elsewhere {dose_id} withdrawn")
