"""The de-identified export of the analysis dataset, and the combination of several sites' exports.

An export is a folder: each table of ``bont.domain.research.dataset.DATASET`` as ``<table>.csv`` or
``<table>.parquet`` (decimals stay decimals, dates stay dates), ``data-dictionary.csv`` and ``data-dictionary.md``
(the dataset's own descriptions), ``k-anonymity.json`` (the report over the quasi-identifiers age band, sex and
indication) and ``manifest.json`` (site code, format, tables and their rows, bont version, knowledge fingerprint).
The tables must come de-identified (``bont.clinic.research_dataset.extract_dataset`` with its default shift).
Nothing is written when the k-anonymity check refuses the export, and nothing half-written is left when writing
fails: the folder is written beside its destination and renamed to it at the end.

An export ends at its horizon (``export_horizon``: 365 days before it is made): no record whose moved date is later
is in it, so each patient's records end at a secret real day of their own in the year before the export and the
day of the export gives no one's offset back. The files' modification times are a fixed day all the same. The same
export as FHIR Bulk Data NDJSON (``write_fhir_export``) keeps this folder's layout: the NDJSON of ``bont fhir
bulk-export --deidentified`` (cut at the same horizon) with its own Bulk Data manifest under ``fhir/``, beside the
k-anonymity report and the manifest;
de-identified for research (``Deidentifier(research=True)``): down to what the k-anonymity report checks, with no
birth date and no medicine or allergy named in free text.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bont.domain.errors import FieldError
from bont.domain.research.dataset import DATASET, Table
from bont.domain.research.disclosure import QUASI_IDENTIFIERS, KReport, MinimumK, check_k, k_anonymity
from bont.interop.fhir.deidentify import Deidentifier
from bont.services.fhir_exchange import FhirExchange

__all__ = [
    "FORMATS",
    "MANIFEST",
    "Combined",
    "combine",
    "quasi_identifiers",
    "restricted_to",
    "write_export",
    "write_fhir_export",
]

MANIFEST = "manifest.json"
K_ANONYMITY = "k-anonymity.json"
FORMATS = ("csv", "parquet")
# Every file's modification time: a fixed day, not the day of the export (see above); 2000-01-01 00:00 UTC, late
# enough for a zip archive's 1980 epoch in any time zone.
_TIMELESS = 946_684_800


@dataclass(frozen=True)
class Combined:
    """Exports of several sites checked to go together: the folders (for ``RegistryEngine.from_folders``), their
    site codes and the rows of each table over all of them."""

    folders: tuple[Path, ...]
    sites: tuple[str, ...]
    rows: Mapping[str, int]


def quasi_identifiers(tables: Mapping[str, pa.Table]) -> list[tuple[str, str, str]]:
    """One row (age band, sex, indication) per patient and indication treated: what a reader could know of a
    patient from elsewhere and link to the export."""
    series = tables["sessions"].select(["site", "patient", "indication"]).group_by(["site", "patient", "indication"])
    joined = series.aggregate([]).join(
        tables["patients"].select(["site", "patient", "age_band", "sex"]), ["site", "patient"]
    )
    columns = [joined.column(name).to_pylist() for name in QUASI_IDENTIFIERS]
    return list(zip(*columns, strict=True))


def restricted_to(tables: Mapping[str, pa.Table], patients: Collection[str]) -> dict[str, pa.Table]:
    """The dataset of only the patients with these pseudonyms (a cohort's)."""
    chosen = pa.array(sorted(patients), pa.string())
    return {name: table.filter(pc.is_in(table.column("patient"), value_set=chosen)) for name, table in tables.items()}


def write_export(
    tables: Mapping[str, pa.Table],
    out: Path,
    *,
    site: str,
    file_format: str,
    minimum_k: MinimumK,
    knowledge_fingerprint: str | None = None,
    unreadable_diary_days: int = 0,
) -> KReport:
    """Write the de-identified tables as an export folder ``out`` (new, or empty); returns the k-anonymity report.
    Raises ``ExportRefused`` below ``minimum_k`` and ``FieldError`` (``format``, ``out``) before writing anything."""
    if file_format not in FORMATS:
        raise FieldError("format", f"must be one of {', '.join(FORMATS)}")
    report = _checked(tables, site, minimum_k)
    with _new_folder(out) as folder:
        files = []
        for table in DATASET:
            name = f"{table.name}.{file_format}"
            if file_format == "csv":
                pa_csv.write_csv(tables[table.name], folder / name)
            else:
                pq.write_table(tables[table.name], folder / name)
            files.append({"name": table.name, "file": name, "rows": tables[table.name].num_rows})
        _write_dictionary(folder)
        _write_json(folder / K_ANONYMITY, report.to_mapping(minimum_k))
        _write_json(
            folder / MANIFEST,
            _manifest(site, file_format, files, knowledge_fingerprint, diary_days_left_out=unreadable_diary_days),
        )
    return report


def write_fhir_export(
    fhir: FhirExchange,
    tables: Mapping[str, pa.Table],
    out: Path,
    *,
    site: str,
    minimum_k: MinimumK,
    event_term: Callable[[str], str | None],
    knowledge_fingerprint: str | None = None,
) -> KReport:
    """The export as FHIR Bulk Data NDJSON, de-identified for research (no birth date, no medicine or allergy named
    in free text, an adverse event by its vocabulary id through ``event_term`` or as "other": nothing finer than
    the k-anonymity report's age band, sex and indication), in an export folder
    ``out``: ``fhir/`` (the NDJSON files and their Bulk Data manifest), ``k-anonymity.json`` over ``tables`` (the
    same clinic's dataset) and ``manifest.json``. Refused as ``write_export`` is. The NDJSON holds every patient of
    the clinic, de-identified with pseudonyms and date shifts of its own: the FHIR export knows no cohort, so
    ``tables`` should be the whole clinic's dataset for the report to describe it."""
    report = _checked(tables, site, minimum_k)
    with _new_folder(out) as folder:
        research = Deidentifier(research=True, event_term=event_term)
        counts = fhir.bulk_export(folder / "fhir", deidentified=True, pseudonymiser=research)
        files = [{"name": kind, "file": f"fhir/{kind}.ndjson", "rows": counts[kind]} for kind in sorted(counts)]
        _write_json(folder / K_ANONYMITY, report.to_mapping(minimum_k))
        _write_json(folder / MANIFEST, _manifest(site, "ndjson", files, knowledge_fingerprint))
    return report


def combine(folders: Sequence[Path]) -> Combined:
    """Check several exports go together: each has a manifest of a table export, no two share a site code.
    Raises ``FieldError`` (field ``folders``) naming the folder at fault."""
    if not folders:
        raise FieldError("folders", "name at least one export folder")
    sites: dict[str, Path] = {}
    rows = {table.name: 0 for table in DATASET}
    for folder in folders:
        manifest = _read_manifest(folder)
        site = manifest["site"]
        if site in sites:
            raise FieldError("folders", f"{folder} and {sites[site]} are both exports of site {site}")
        sites[site] = folder
        listed = {entry["name"]: entry for entry in manifest["tables"]}
        for table in DATASET:
            rows[table.name] += int(listed[table.name]["rows"])
    return Combined(tuple(folders), tuple(sites), rows)


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FieldError("folders", f"{folder} has no {MANIFEST}: it is not a bont research export") from None
    except (OSError, ValueError):
        raise FieldError("folders", f"{folder}/{MANIFEST} does not read as a bont research export") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("site"), str):
        raise FieldError("folders", f"{folder}/{MANIFEST} names no site code")
    if manifest.get("format") not in FORMATS:
        raise FieldError("folders", f"{folder} is not an export of the dataset's tables (CSV or Parquet)")
    listed = {entry.get("name"): entry for entry in manifest.get("tables", ()) if isinstance(entry, dict)}
    missing = [
        table.name
        for table in DATASET
        if table.name not in listed or not (folder / str(listed[table.name].get("file"))).is_file()
    ]
    if missing:
        raise FieldError("folders", f"{folder} lacks the table(s) {', '.join(missing)}")
    return manifest


def _checked(tables: Mapping[str, pa.Table], site: str, minimum_k: MinimumK) -> KReport:
    """The k-anonymity report of tables fit to export; raises ``ExportRefused`` below ``minimum_k``."""
    for table in DATASET:
        # Exactly the data dictionary's columns: a column added by mistake (an id, a name) is never written.
        if table.name not in tables or tuple(tables[table.name].column_names) != table.column_names:
            raise ValueError(f"the {table.name} table does not have the data dictionary's columns")
        # One site per export: combining exports tells sites apart by the manifest's code.
        if pc.any(pc.not_equal(tables[table.name].column("site"), site)).as_py():
            raise ValueError(f"the {table.name} table holds rows of another site than {site}")
    report = k_anonymity(quasi_identifiers(tables))
    check_k(report, minimum_k)
    return report


@contextmanager
def _new_folder(out: Path) -> Iterator[Path]:
    """A private folder beside ``out`` to write into, renamed to ``out`` when the block ends well, removed
    otherwise."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FieldError("out", "exists and is not an empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))  # owner-only
    try:
        yield folder
        for path in (*folder.rglob("*"), folder):
            os.utime(path, (_TIMELESS, _TIMELESS))
        if out.exists():
            out.rmdir()  # empty, as checked: the export takes its place
        os.replace(folder, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _manifest(
    site: str, file_format: str, files: list[dict[str, Any]], knowledge_fingerprint: str | None, **more: int
) -> dict[str, Any]:
    return {
        "site": site,
        "format": file_format,
        "tables": files,
        "bont_version": version("bont"),
        "knowledge_fingerprint": knowledge_fingerprint,
        "dates": "every date of a patient moved by one secret offset of 1 to 52 whole weeks into the past; nothing "
        "later than the horizon, every patient's follow_up_end, so that each patient's records end at a secret "
        "real day of their own in the year before the export",
        **more,
    }


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


_DICTIONARY_COLUMNS = ("table", "column", "type", "unit", "description")


def _dictionary_rows(table: Table) -> Iterator[tuple[str, str, str, str, str]]:
    for column in table.columns:
        yield table.name, column.name, str(column.type), column.unit or "", column.description


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _write_dictionary(folder: Path) -> None:
    with open(folder / "data-dictionary.csv", "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(_DICTIONARY_COLUMNS)
        for table in DATASET:
            writer.writerows(_dictionary_rows(table))
    lines = ["# Data dictionary", "", "The tables of this export, their columns and what each holds.", ""]
    for table in DATASET:
        lines += [f"## {table.name}", "", table.description, "", "| column | type | unit | description |"]
        lines.append("|---|---|---|---|")
        lines += [f"| {c} | {t} | {_cell(u)} | {_cell(d)} |" for _, c, t, u, d in _dictionary_rows(table)]
        lines.append("")
    (folder / "data-dictionary.md").write_text("\n".join(lines), encoding="utf-8")
