"""The registry's analysis dataset read from a real clinic database (SQLite and PostgreSQL, in the per-engine
contract runs; the main run, on the fakes, leaves this module out) and exported de-identified: no identifier, no
real date and no age over 89 in any exported file, and no day shared by every patient that would give their offsets
back; each patient's dates moved by one offset within an export and by another in the next; the k-anonymity gate
refusing a cohort too small to hide anyone; the FHIR NDJSON keeping nothing finer than what that gate checks."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.contract.clinic import Clinic

# A year and a day after the last record: whatever each patient's secret last day in the year before the export,
# every record is on or before it.
TODAY = date(2027, 7, 14)
MIGRAINE, BLEPHAROSPASM = "chronic-migraine", "blepharospasm"
BOTOX = "onabotulinumtoxinA"
# What identifies the fictional patients, their clinician and their lots: none of it may leave in an export.
IDENTIFIERS = (
    "MRN-H3-0001", "MRN-H3-0002", "Ophelia", "Quarterbridge", "Tobias", "Wexmoor", "1930-06-15", "1981-02-03",
    "dr-identifiable", "LOT-H3-77", "12 Elm Street", "called from 555-0100", "typed in error", "wrong patient",
    "injected deeper than planned", "Jane Roe", "John Roe", "555-0101",
)  # fmt: skip
FREE_TEXT_MEDICINE, FREE_TEXT_ALLERGY = "Wexmoor's own tincture", "quarterbridge pollen"
MIGRAINE_DAYS = (date(2026, 1, 12), date(2026, 4, 13), date(2026, 7, 13))
BLEPHAROSPASM_DAYS = (date(2026, 2, 2), date(2026, 5, 4))


def _clinic(*, unreadable_diary_day: bool = False) -> dict[str, Any]:
    """Two fictional patients with what a chart holds, identifiers and free text included (and a stored diary day
    that no longer reads, if asked); returns their real dates by indication."""
    from django.contrib.auth import get_user_model

    from bont.clinic import models

    clinician = get_user_model().objects.create(username="dr-identifiable")
    old = models.Patient.objects.create(
        mrn="MRN-H3-0001", given_name="Ophelia", family_name="Quarterbridge", birth_date=date(1930, 6, 15), sex="female"
    )
    young = models.Patient.objects.create(
        mrn="MRN-H3-0002", given_name="Tobias", family_name="Wexmoor", birth_date=date(1981, 2, 3), sex="male"
    )
    models.Lot.objects.create(
        product=BOTOX, lot_number="LOT-H3-77", expiry=date(2027, 6, 30), vial_units=200, quantity_received=1,
        received_on=date(2026, 1, 2),
    )  # fmt: skip
    conditions = (("G43.709", None), ("g43709", None), ("Lives at 12 Elm Street", None), ("G24.5", date(2026, 3, 1)))
    for term, resolved in conditions:
        models.PatientCondition.objects.create(patient=old, term=term, resolved_on=resolved)
    # Named in free text only: a rare name can single a patient out, so the research NDJSON keeps neither.
    models.PatientMedication.objects.create(patient=young, generic_name=FREE_TEXT_MEDICINE)
    models.PatientAllergy.objects.create(patient=young, substance=FREE_TEXT_ALLERGY)

    def session(patient: models.Patient, day: date, indication: str, units: str, **more: Any) -> Any:
        return models.TreatmentSession.objects.create(
            patient=patient, date=day, clinician=clinician, indication=indication, product=BOTOX,
            protocol=f"{indication}/{BOTOX}/adult", total_units=Decimal(units), verdict="ok", **more,
        )  # fmt: skip

    first = session(old, MIGRAINE_DAYS[0], MIGRAINE, "155", deviation_reason="injected deeper than planned")
    for day in MIGRAINE_DAYS[1:]:
        session(old, day, MIGRAINE, "155")
    withdrawn = session(old, date(2026, 4, 20), MIGRAINE, "195", withdrawn_reason="wrong patient")
    for day in BLEPHAROSPASM_DAYS:
        session(young, day, BLEPHAROSPASM, "25.50")
    models.ExternalAdministration.objects.create(
        patient=young, source="elsewhere", record_id="x1", date=date(2026, 3, 3), product=BOTOX, units=Decimal(50)
    )
    for day, withdrawn_reason in (
        (date(2026, 1, 10), ""),
        (date(2026, 4, 10), ""),
        (date(2026, 4, 11), "typed in error"),
    ):
        models.OutcomeRecord.objects.create(
            patient=old, indication=MIGRAINE, instrument="hit-6", measured_on=day, value=Decimal(62),
            withdrawn_reason=withdrawn_reason,
        )  # fmt: skip
    models.OutcomeRecord.objects.create(
        patient=old, indication=MIGRAINE, instrument="headache-days", measured_on=date(2026, 4, 12),
        period_start=date(2026, 3, 16), value=Decimal(9), source="diary",
    )  # fmt: skip
    models.OutcomeRecord.objects.create(
        patient=young, indication="upper-limb-spasticity", instrument="modified-ashworth", measured_on=date(2026, 3, 2),
        grade="1+", rank=2,
    )  # fmt: skip
    headache = {
        "headache_minutes": "360", "features": ["moderate-or-severe", "pulsating"], "nausea_or_vomiting": "True",
        "photophobia": "False", "phonophobia": "False", "aura_minutes": "0", "acute_medication": "migraine-specific",
    }  # fmt: skip
    models.DiaryDay.objects.create(patient=old, kind="headache", day=date(2026, 1, 5), entry=headache)
    models.DiaryDay.objects.create(patient=old, kind="headache", day=date(2026, 1, 6), entry={"headache_minutes": "0"})
    if unreadable_diary_day:  # "all day" is no number of minutes
        models.DiaryDay.objects.create(
            patient=old, kind="headache", day=date(2026, 1, 7), entry={"headache_minutes": "all day"}
        )
    models.DiaryDay.objects.create(
        patient=young, kind="bladder", day=date(2026, 2, 1), entry={"voids": "9", "incontinence_episodes": "2"}
    )
    models.AdverseEvent.objects.create(
        patient=old, suspected_session=first, event="ptosis", onset=date(2026, 1, 19), severity="mild",
        notes="called from 555-0100", outcome="resolved",
    )  # fmt: skip
    # An event typed as no term of the vocabulary, its outcome as free text: neither may leave.
    models.AdverseEvent.objects.create(
        patient=young, event="fell at Jane Roe's wedding", onset=date(2026, 3, 9), severity="mild",
        outcome="recovered; John Roe phoned 555-0101",
    )  # fmt: skip
    models.AdverseEvent.objects.create(
        patient=old, suspected_session=withdrawn, event="dysphagia", onset=date(2026, 4, 25), severity="mild",
        withdrawn_reason="wrong patient",
    )  # fmt: skip
    return {
        MIGRAINE: {
            "sessions": list(MIGRAINE_DAYS), "measurements": [date(2026, 1, 10), date(2026, 4, 10), date(2026, 4, 12)],
            "diary_days": [date(2026, 1, 5), date(2026, 1, 6)], "adverse_events": [date(2026, 1, 19)],
        },
        BLEPHAROSPASM: {
            "sessions": list(BLEPHAROSPASM_DAYS), "measurements": [date(2026, 3, 2)], "diary_days": [date(2026, 2, 1)],
            "adverse_events": [date(2026, 3, 9)],
        },
    }  # fmt: skip


def _extract(site: str, today: date = TODAY, **options: Any) -> Any:
    from bont.bootstrap import build_knowledge
    from bont.clinic.research_dataset import extract_dataset

    return extract_dataset(build_knowledge(), site=site, today=today, **options)


_DATED = ("sessions", "measurements", "diary_days", "adverse_events")


def _offsets(tables: dict[str, Any], real: dict[str, Any]) -> dict[str, set[int]]:
    """Per indication (one patient each here), every difference between an exported date and its real date."""
    patient_of = {row["indication"]: row["patient"] for row in tables["sessions"].to_pylist()}
    found: dict[str, set[int]] = {}
    for indication, patient in patient_of.items():
        differences = found.setdefault(indication, set())
        for name in _DATED:
            days = sorted(row["day"] for row in tables[name].to_pylist() if row["patient"] == patient)
            assert len(days) == len(real[indication][name]), name
            differences |= {(shown - day).days for shown, day in zip(days, real[indication][name], strict=True)}
    return found


def _follow_up_ends(tables: dict[str, Any]) -> dict[str, tuple[date, date]]:
    """Per indication (one patient each here): the patient's follow_up_end and their latest date in the tables."""
    patient_of = {row["indication"]: row["patient"] for row in tables["sessions"].to_pylist()}
    ends = {}
    for indication, patient in patient_of.items():
        [end] = [row["follow_up_end"] for row in tables["patients"].to_pylist() if row["patient"] == patient]
        rows = [row for name in _DATED for row in tables[name].to_pylist() if row["patient"] == patient]
        ends[indication] = (end, max(day for row in rows for day in (row["day"], row.get("period_start")) if day))
    return ends


def _exported_text(folder: Path) -> str:
    import pyarrow.parquet as pq

    texts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".parquet":
            texts.append(json.dumps(pq.read_table(path).to_pylist(), default=str))
        elif path.is_file():
            texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts)


def test_an_export_holds_no_identifier_no_real_date_and_no_age_over_89_and_a_small_cohort_is_refused(
    empty_clinic: Clinic, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bont.bootstrap import build_knowledge, fhir_exchange
    from bont.domain.research.dataset import DATASET
    from bont.domain.research.disclosure import ExportRefused, MinimumK
    from bont.interop.registry.export import write_export, write_fhir_export
    from bont.services.clock import FixedClock

    real = _clinic()
    dataset = _extract("SITE-A")
    tables = dict(dataset.tables)
    assert dataset.shifted

    # Withdrawn sessions, measurements and events, doses given elsewhere, diary summaries, text and resolved
    # conditions are not in it; every patient and session has a pseudonym of the site.
    assert {name: table.num_rows for name, table in tables.items()} == {
        "patients": 2, "conditions": 1, "sessions": 5, "series": 2, "measurements": 4, "diary_days": 3,
        "adverse_events": 2,
    }  # fmt: skip
    assert [t.column_names for t in tables.values()] == [list(table.column_names) for table in DATASET]
    pseudonyms = {
        row[name] for t in tables.values() for row in t.to_pylist() for name in ("patient", "session") if row.get(name)
    }  # an event with no suspected session has none
    assert all(re.fullmatch(r"SITE-A-[0-9a-f]{16}", p) for p in pseudonyms), pseudonyms
    assert tables["conditions"].column("code").to_pylist() == ["G43.709"]
    patients = {row["sex"]: row for row in tables["patients"].to_pylist()}
    assert (patients["female"]["age_band"], patients["male"]["age_band"]) == ("90+", "40-49")  # born 1930 and 1981
    sessions = tables["sessions"].to_pylist()
    assert [(s["cycle"], s["units"], s["population"]) for s in sessions if s["indication"] == MIGRAINE] == [
        (1, Decimal("155.00"), "adult"), (2, Decimal("155.00"), "adult"), (3, Decimal("155.00"), "adult"),
    ]  # fmt: skip
    # Every stored source, as the chart reads them, in order of entry; a grade is its rank on the instrument's
    # scale: "1+" is the third grade of the modified Ashworth scale.
    assert [(m["value"], m["entry"]) for m in tables["measurements"].to_pylist()] == [
        (Decimal("62.00"), 1), (Decimal("62.00"), 2), (Decimal("9.00"), 3), (2, 1),
    ]  # fmt: skip
    event, typed = tables["adverse_events"].to_pylist()
    assert (event["term"], typed["term"]) == ("ptosis", "other")  # what was typed as no term stays behind
    assert event["session"] == next(s["session"] for s in sessions if s["cycle"] == 1 and s["indication"] == MIGRAINE)
    diary = {
        (row["kind"], row["headache_day"], row["migraine_day"], row["voids"])
        for row in tables["diary_days"].to_pylist()
    }
    assert diary == {("headache", True, True, None), ("headache", False, False, None), ("bladder", None, None, 9)}

    # Every date of a patient moved by one offset of 1 to 52 whole weeks into the past: intervals and weekdays
    # kept, no date real.
    offsets = {}
    for indication, differences in _offsets(tables, real).items():
        assert len(differences) == 1, indication
        offsets[indication] = differences.pop()
        assert -364 <= offsets[indication] <= -7
        assert offsets[indication] % 7 == 0
    # Every patient's follow-up ends on the export's horizon, 365 days before it, after every date of the export;
    # a series is discontinued when its last session is more than 365 days before that.
    ends = _follow_up_ends(tables)
    assert all(end == TODAY - timedelta(days=365) >= latest for end, latest in ends.values())
    last_session = {s["indication"]: s["day"] for s in sorted(sessions, key=lambda s: s["day"])}
    assert {(s["indication"], s["discontinued"]) for s in tables["series"].to_pylist()} == {
        (indication, (ends[indication][0] - day).days > 365) for indication, day in last_session.items()
    }

    # A cohort whose age band, sex and indication single anyone out is refused, and nothing is left behind.
    with pytest.raises(ExportRefused, match="k = 5"):
        write_export(tables, tmp_path / "refused", site="SITE-A", file_format="csv", minimum_k=MinimumK(5))
    assert list(tmp_path.iterdir()) == []

    for file_format in ("csv", "parquet"):
        write_export(tables, tmp_path / file_format, site="SITE-A", file_format=file_format, minimum_k=MinimumK(1))
    write_fhir_export(
        fhir_exchange(FixedClock(datetime.combine(TODAY, time(12)))), tables, tmp_path / "ndjson", site="SITE-A",
        minimum_k=MinimumK(1), event_term=build_knowledge().adverse_event_id,
    )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv", "ndjson", "parquet"]
    parquet = pq.read_table(tmp_path / "parquet" / "sessions.parquet")
    assert (parquet.schema.field("units").type, parquet.schema.field("day").type) == (pa.decimal128(12, 2), pa.date32())
    manifest = json.loads((tmp_path / "csv" / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["site"], manifest["format"]) == ("SITE-A", "csv")
    assert {t["name"]: t["rows"] for t in manifest["tables"]}["sessions"] == 5
    assert json.loads((tmp_path / "ndjson" / "manifest.json").read_text(encoding="utf-8"))["format"] == "ndjson"
    # The NDJSON keeps nothing finer than the gate's age band, sex and indication: no birth date (not even the
    # year), no medicine or allergy named in free text.
    fhir = tmp_path / "ndjson" / "fhir"
    patients_fhir = [json.loads(line) for line in (fhir / "Patient.ndjson").read_text(encoding="utf-8").splitlines()]
    assert [sorted(set(p) - {"id", "meta"}) for p in patients_fhir] == [["gender", "resourceType"]] * 2
    assert not (fhir / "MedicationStatement.ndjson").exists()
    assert not (fhir / "AllergyIntolerance.ndjson").exists()

    exported = "\n".join(_exported_text(tmp_path / name) for name in ("csv", "parquet", "ndjson"))
    for identifier in (*IDENTIFIERS, FREE_TEXT_MEDICINE, FREE_TEXT_ALLERGY):
        assert identifier not in exported, identifier


def test_two_exports_shift_each_patient_consistently_within_and_differently_across_and_combine_by_site(
    empty_clinic: Clinic, tmp_path: Path
) -> None:
    from bont.domain.errors import FieldError
    from bont.domain.research.disclosure import MinimumK
    from bont.interop.registry.export import combine, write_export

    real = _clinic(unreadable_diary_day=True)
    # Two secrets, as two exports draw them (given here, so that the two patients' offsets surely differ).
    first = _extract("SITE-A", secret=b"the first export's secret, 32 b")
    second = _extract("SITE-B", secret=b"the second export's secret, 32b")
    assert (first.unreadable_diary_days, second.unreadable_diary_days) == (1, 1)  # left out, counted
    offsets = []
    for dataset in (first, second):
        found = _offsets(dict(dataset.tables), real)
        assert all(len(differences) == 1 for differences in found.values())
        offsets.append({indication: differences.pop() for indication, differences in found.items()})
    assert offsets[0] != offsets[1]
    assert not set(first.tables["patients"].column("patient").to_pylist()) & set(
        second.tables["patients"].column("patient").to_pylist()
    )
    # The clinic's own analyses read real dates, and follow everyone up to the day the records are read; a series is
    # discontinued when its last session is more than a year before that day.
    later = date(2027, 6, 1)
    unshifted = _extract("HOME", later, shift=False)
    assert _offsets(dict(unshifted.tables), real) == {MIGRAINE: {0}, BLEPHAROSPASM: {0}}
    assert {end for end, _ in _follow_up_ends(dict(unshifted.tables)).values()} == {later}
    assert {(s["indication"], s["discontinued"]) for s in unshifted.tables["series"].to_pylist()} == {
        (MIGRAINE, False), (BLEPHAROSPASM, True),
    }  # fmt: skip

    for site, dataset, file_format in (("SITE-A", first, "csv"), ("SITE-B", second, "parquet")):
        write_export(
            dataset.tables, tmp_path / site, site=site, file_format=file_format, minimum_k=MinimumK(1),
            unreadable_diary_days=dataset.unreadable_diary_days,
        )  # fmt: skip
    assert json.loads((tmp_path / "SITE-B" / "manifest.json").read_text(encoding="utf-8"))["diary_days_left_out"] == 1
    combined = combine([tmp_path / "SITE-A", tmp_path / "SITE-B"])
    assert (combined.sites, combined.rows["sessions"]) == (("SITE-A", "SITE-B"), 10)
    write_export(first.tables, tmp_path / "again", site="SITE-A", file_format="csv", minimum_k=MinimumK(1))
    with pytest.raises(FieldError, match="both exports of site SITE-A"):
        combine([tmp_path / "SITE-A", tmp_path / "SITE-B", tmp_path / "again"])


def test_an_export_ends_at_its_horizon_so_that_records_up_to_the_day_of_the_export_give_no_offset_back(
    empty_clinic: Clinic, tmp_path: Path
) -> None:
    from django.contrib.auth import get_user_model

    from bont.bootstrap import build_knowledge, fhir_exchange
    from bont.clinic import models
    from bont.domain.research.deidentification import date_offset, export_horizon, pseudonym
    from bont.domain.research.disclosure import MinimumK
    from bont.interop.registry.export import write_fhir_export
    from bont.services.clock import FixedClock

    today, secret = date(2026, 11, 30), b"a secret of this test only, 32 b"
    clinician = get_user_model().objects.create(username="dr-fictional")
    # Two fictional patients who keep a headache diary every day up to the day before the export, with a session
    # every 91 days: the latest real date of each is the day before the export, which anyone may know.
    diary_days = [today - timedelta(days=n) for n in range(400, 0, -1)]
    session_days = [today - timedelta(days=n) for n in range(1 + 91 * 7, 0, -91)]
    patients = []
    for n in (1, 2):
        patient = models.Patient.objects.create(
            mrn=f"FICT-H{n}",
            given_name="Fictional",
            family_name=f"Diarist{n}",
            birth_date=date(1970, 1, n),
            sex="female",
        )
        models.DiaryDay.objects.bulk_create(
            models.DiaryDay(patient=patient, kind="headache", day=day, entry={"headache_minutes": "0"})
            for day in diary_days
        )
        for day in session_days:
            models.TreatmentSession.objects.create(
                patient=patient, date=day, clinician=clinician, indication=MIGRAINE, product=BOTOX,
                protocol=f"{MIGRAINE}/{BOTOX}/adult", total_units=Decimal(155), verdict="ok",
            )  # fmt: skip
        patients.append(patient)

    tables = dict(_extract("SITE-A", today, secret=secret).tables)
    horizon = export_horizon(today)
    assert horizon == date(2025, 11, 30)
    offsets = {date_offset(secret, f"patient:{patient.pk}") for patient in patients}
    assert len(offsets) == 2
    for patient in patients:
        offset = timedelta(days=date_offset(secret, f"patient:{patient.pk}"))
        last_day = horizon - offset  # the patient's own secret last day, in the year before the export
        assert today - timedelta(days=358) <= last_day <= today - timedelta(days=1)
        alias = pseudonym(secret, "SITE-A", f"patient:{patient.pk}")
        exported = {
            name: sorted(row["day"] for row in tables[name].to_pylist() if row["patient"] == alias)
            for name in ("diary_days", "sessions")
        }
        assert exported["diary_days"] == [day + offset for day in diary_days if day <= last_day]
        assert exported["sessions"] == [day + offset for day in session_days if day <= last_day]
        # The latest exported day is the horizon for both, whatever their offsets: it tells neither offset.
        assert exported["diary_days"][-1] == horizon
    assert set(tables["patients"].column("follow_up_end").to_pylist()) == {horizon}
    assert set(tables["series"].column("discontinued").to_pylist()) == {False}

    # The FHIR NDJSON, with a shift of its own per patient, ends at the same horizon: each patient's last diary
    # day (a QuestionnaireResponse) is on it, although the Bulk Data manifest tells the day of the export.
    write_fhir_export(
        fhir_exchange(FixedClock(datetime.combine(today, time(12)))), tables, tmp_path / "ndjson", site="SITE-A",
        minimum_k=MinimumK(1), event_term=build_knowledge().adverse_event_id,
    )  # fmt: skip
    fhir = tmp_path / "ndjson" / "fhir"
    manifest = json.loads((fhir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["transactionTime"].startswith("2026-11-30T12:00")
    answered: dict[str, list[date]] = {}
    for line in (fhir / "QuestionnaireResponse.ndjson").read_text(encoding="utf-8").splitlines():
        response = json.loads(line)
        answered.setdefault(response["subject"]["reference"], []).append(date.fromisoformat(response["authored"][:10]))
    assert [max(days) for days in answered.values()] == [horizon, horizon]
