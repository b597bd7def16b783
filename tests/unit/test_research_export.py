"""The registry's de-identified export folder and the combination of several sites' exports, on small tables made
here (the extract from a real database is tested in tests/contract/test_research_dataset.py)."""

from __future__ import annotations

import csv
import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bont.domain.errors import FieldError
from bont.domain.research.dataset import DATASET, ColumnType
from bont.domain.research.disclosure import ExportRefused, MinimumK
from bont.interop.registry.export import combine, restricted_to, write_export

_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.decimal128(12, 2),
    ColumnType.DATE: pa.date32(),
    ColumnType.BOOLEAN: pa.bool_(),
}


def _tables(site: str, patients: int, *, odd_one_out: bool = False) -> dict[str, pa.Table]:
    """``patients`` women aged 40-49 treated for chronic migraine (and one man of 90+ for blepharospasm)."""
    rows: dict[str, list[dict[str, Any]]] = {table.name: [] for table in DATASET}
    people = [(f"{site}-{n:016x}", "female", "40-49", "chronic-migraine") for n in range(patients)]
    if odd_one_out:
        people.append((f"{site}-{patients:016x}", "male", "90+", "blepharospasm"))
    for number, (patient, sex, band, indication) in enumerate(people):
        rows["patients"].append(
            {"site": site, "patient": patient, "sex": sex, "age_band": band, "follow_up_end": date(2026, 1, 2)}
        )
        rows["sessions"].append(
            {
                "site": site, "patient": patient, "session": f"{site}-s{number:015x}", "day": date(2025, 3, 4),
                "indication": indication, "product": "onabotulinumtoxinA", "population": "", "units": Decimal("155.50"),
                "cycle": 1,
            }
        )  # fmt: skip
        rows["series"].append({"site": site, "patient": patient, "indication": indication, "discontinued": False})
        rows["diary_days"].append(
            {
                "site": site, "patient": patient, "kind": "headache", "day": date(2025, 3, 1), "headache_day": True,
                "migraine_day": False, "acute_medication_day": None, "voids": None, "incontinence_episodes": None,
            }
        )  # fmt: skip
    return {
        table.name: pa.Table.from_pylist(
            rows[table.name], schema=pa.schema([(c.name, _TYPES[c.type]) for c in table.columns])
        )
        for table in DATASET
    }


def test_an_export_writes_each_table_typed_with_its_dictionary_and_a_manifest_that_dates_nothing(
    tmp_path: Path,
) -> None:
    tables = _tables("SITE-A", 5)
    write_export(tables, tmp_path / "csv", site="SITE-A", file_format="csv", minimum_k=MinimumK(5))
    write_export(
        tables,
        tmp_path / "parquet",
        site="SITE-A",
        file_format="parquet",
        minimum_k=MinimumK(5),
        knowledge_fingerprint="f1",
    )
    with open(tmp_path / "csv" / "sessions.csv", encoding="utf-8", newline="") as file:
        first = next(csv.DictReader(file))
    assert (first["day"], first["units"], first["population"]) == ("2025-03-04", "155.50", "")
    with open(tmp_path / "csv" / "diary_days.csv", encoding="utf-8", newline="") as file:
        day = next(csv.DictReader(file))
    assert (day["headache_day"], day["migraine_day"], day["acute_medication_day"]) == ("true", "false", "")
    assert pq.read_table(tmp_path / "parquet" / "sessions.parquet").equals(tables["sessions"])

    with open(tmp_path / "csv" / "data-dictionary.csv", encoding="utf-8", newline="") as file:
        dictionary = list(csv.DictReader(file))
    assert [(row["table"], row["column"]) for row in dictionary] == [
        (table.name, column.name) for table in DATASET for column in table.columns
    ]
    assert all(f"## {table.name}" in (tmp_path / "csv" / "data-dictionary.md").read_text("utf-8") for table in DATASET)
    k = json.loads((tmp_path / "csv" / "k-anonymity.json").read_text("utf-8"))
    assert (k["smallest_class"], k["k"], k["passes"]) == (5, 5, True)

    manifest = json.loads((tmp_path / "parquet" / "manifest.json").read_text("utf-8"))
    assert (manifest["site"], manifest["format"], manifest["knowledge_fingerprint"]) == ("SITE-A", "parquet", "f1")
    assert {t["name"]: (t["file"], t["rows"]) for t in manifest["tables"]}["sessions"] == ("sessions.parquet", 5)
    # The day of the export is written nowhere, not even as a file's time.
    today = date.today()
    assert today.isoformat() not in json.dumps(manifest)
    assert all(date.fromtimestamp(os.stat(p).st_mtime) != today for p in (tmp_path / "csv").iterdir())


def test_a_cohort_that_singles_anyone_out_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    refused = r"1 combination of .* is shared by fewer than k = 5 records \(the smallest by 1\)"
    with pytest.raises(ExportRefused, match=refused):
        write_export(
            _tables("SITE-A", 5, odd_one_out=True),
            tmp_path / "out",
            site="SITE-A",
            file_format="csv",
            minimum_k=MinimumK(5),
        )
    assert list(tmp_path.iterdir()) == []


def test_an_export_refuses_a_folder_in_use_an_unknown_format_a_column_outside_the_dictionary_or_another_site(
    tmp_path: Path,
) -> None:
    tables = _tables("SITE-A", 5)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("kept", encoding="utf-8")
    with pytest.raises(FieldError, match="out"):
        write_export(tables, tmp_path / "used", site="SITE-A", file_format="csv", minimum_k=MinimumK(1))
    with pytest.raises(FieldError, match="format"):
        write_export(tables, tmp_path / "new", site="SITE-A", file_format="xlsx", minimum_k=MinimumK(1))
    with_mrn = {**tables, "patients": tables["patients"].append_column("mrn", pa.array(["M"] * 5))}
    with pytest.raises(ValueError, match="patients"):
        write_export(with_mrn, tmp_path / "new", site="SITE-A", file_format="csv", minimum_k=MinimumK(1))
    with pytest.raises(ValueError, match="another site than SITE-B"):
        write_export(tables, tmp_path / "new", site="SITE-B", file_format="csv", minimum_k=MinimumK(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["used"]


def test_combine_adds_up_sites_and_refuses_one_site_twice_or_a_folder_that_is_no_export(tmp_path: Path) -> None:
    for site, file_format in (("SITE-A", "csv"), ("SITE-B", "parquet"), ("SITE-A", "parquet")):
        folder = tmp_path / f"{site}-{file_format}"
        write_export(_tables(site, 5), folder, site=site, file_format=file_format, minimum_k=MinimumK(1))
    combined = combine([tmp_path / "SITE-A-csv", tmp_path / "SITE-B-parquet"])
    assert (combined.sites, combined.rows["patients"]) == (("SITE-A", "SITE-B"), 10)
    with pytest.raises(FieldError, match=r"SITE-A-parquet and .*SITE-A-csv are both exports of site SITE-A"):
        combine([tmp_path / "SITE-A-csv", tmp_path / "SITE-A-parquet"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FieldError, match=r"empty has no manifest\.json"):
        combine([tmp_path / "SITE-A-csv", tmp_path / "empty"])
    (tmp_path / "SITE-B-parquet" / "sessions.parquet").unlink()
    with pytest.raises(FieldError, match=r"SITE-B-parquet lacks the table\(s\) sessions"):
        combine([tmp_path / "SITE-A-csv", tmp_path / "SITE-B-parquet"])


def test_a_cohorts_export_holds_only_its_patients() -> None:
    tables = _tables("SITE-A", 5)
    chosen = restricted_to(tables, {"SITE-A-0000000000000001"})
    assert {name: table.num_rows for name, table in chosen.items()} == {
        "patients": 1, "conditions": 0, "sessions": 1, "series": 1, "measurements": 0, "diary_days": 1,
        "adverse_events": 0,
    }  # fmt: skip
