"""The Follow-up list's summary stays right after every kind of write, on real SQLite and PostgreSQL databases
(``tests/integration/test_background_runs.py`` runs this module once per engine): each write keeps it in its own
transaction, and what it keeps is what rebuilding the summary from the records gives."""

from __future__ import annotations

from datetime import date, timedelta

from bont.bootstrap import build_knowledge, follow_up_records, outcome_records, patient_registry
from bont.services.follow_up import ASSESSMENT_AFTER_DAYS, follow_up_page
from bont.services.outcomes import save_diary_day
from bont.services.patients import PatientUpdate, update_patient
from tests.contract.clinic import Clinic

TODAY = date(2026, 11, 28)


def _session(clinic: Clinic, day: str, indication: str = "axillary-hyperhidrosis", mrn: str = "FICT-0001") -> int:
    sites = (
        [{"muscle": "axilla", "side": side, "units": 50} for side in ("left", "right")]
        if indication == "axillary-hyperhidrosis"
        else [{"muscle": "frontalis", "side": side, "units": 10} for side in ("left", "right")]
    )
    document = clinic.session_file(
        f"{mrn}-{day}", patient_mrn=mrn, date=day, at=f"{day}T10:00:00", indication=indication, sites=sites
    )
    return int(clinic.ok("session", "record", str(document))["session_id"])


def _due() -> list[tuple[str, str, date]]:
    """The assessments due today: (MRN, indication, day of the session assessed)."""
    after = timedelta(days=ASSESSMENT_AFTER_DAYS)
    found = follow_up_page(follow_up_records(), build_knowledge(), TODAY, per_page=200)
    return [(row.patient.mrn, row.indication_id, row.due - after) for row in found.assessments]


def _kept_as_rebuilt() -> None:
    """The summary the writes kept is the one rebuilt from the records."""
    from django.db import transaction  # noqa: TID251 (the rebuild is rolled back)

    from bont.clinic import models
    from bont.clinic.derived import fill_follow_up_summaries

    def rows() -> list[tuple[object, ...]]:
        return sorted(
            models.FollowUpSummary.objects.values_list(
                "patient", "indication", "family_name", "given_name", "last_session", "assessment_pending_since"
            )
        )

    kept = rows()
    with transaction.atomic():
        fill_follow_up_summaries(build_knowledge())
        rebuilt = rows()
        transaction.set_rollback(True)
    assert kept == rebuilt


def _patient_id(mrn: str) -> int:
    from bont.clinic import models

    return int(models.Patient.objects.get(mrn=mrn).pk)


def test_a_withdrawn_session_or_measurement_puts_the_assessment_back_on_the_earlier_day(clinic: Clinic) -> None:
    first = date(2026, 1, 5)
    _session(clinic, "2026-01-05")
    latest = _session(clinic, "2026-05-04")
    assert _due() == [("FICT-0001", "axillary-hyperhidrosis", date(2026, 5, 4))]
    measured = outcome_add(clinic, "2026-06-15")
    assert _due() == []
    _kept_as_rebuilt()

    clinic.ok("outcome", "withdraw", str(measured), "--reason", "entered for the wrong patient")
    assert _due() == [("FICT-0001", "axillary-hyperhidrosis", date(2026, 5, 4))]
    clinic.ok("session", "withdraw", str(latest), "--reason", "entered for the wrong patient")
    assert _due() == [("FICT-0001", "axillary-hyperhidrosis", first)]
    _kept_as_rebuilt()


def test_a_summary_leaves_the_list_when_its_only_session_is_withdrawn(clinic: Clinic) -> None:
    only = _session(clinic, "2026-05-04")
    assert follow_up_page(follow_up_records(), build_knowledge(), TODAY).treated_total == 1
    clinic.ok("session", "withdraw", str(only), "--reason", "entered in error")
    found = follow_up_page(follow_up_records(), build_knowledge(), TODAY)
    assert (found.treated_total, found.assessments_total) == (0, 0)
    _kept_as_rebuilt()


def test_a_diary_day_of_the_kind_that_serves_the_indication_assesses_it(clinic: Clinic) -> None:
    _session(clinic, "2026-08-03", indication="chronic-migraine")
    assert _due() == [("FICT-0001", "chronic-migraine", date(2026, 8, 3))]
    patient_id = _patient_id("FICT-0001")
    save_diary_day(
        outcome_records(), patient_id, "bladder", date(2026, 9, 1), {"voids": 9, "incontinence_episodes": 1}, TODAY
    )
    assert _due() == [("FICT-0001", "chronic-migraine", date(2026, 8, 3))]  # a bladder diary assesses no migraine
    headache = {"headache_minutes": 0, "features": [], "nausea_or_vomiting": False, "acute_medication": "none"}
    save_diary_day(outcome_records(), patient_id, "headache", date(2026, 9, 1), headache, TODAY)
    assert _due() == []
    _kept_as_rebuilt()


def test_a_name_changed_moves_the_patient_in_the_lists_order(clinic: Clinic) -> None:
    clinic.ok(
        "patient", "add", "--mrn", "FICT-0002", "--given-name", "Test", "--family-name", "Gamma",
        "--birth-date", "1972-03-04", "--sex", "male", "--weight-kg", "80",
    )  # fmt: skip
    for mrn in ("FICT-0001", "FICT-0002"):
        _session(clinic, "2026-05-04", mrn=mrn)
    assert [mrn for mrn, *_ in _due()] == ["FICT-0001", "FICT-0002"]  # Fictional before Gamma
    update_patient(patient_registry(), "FICT-0001", PatientUpdate(on=TODAY, family_name="Zeta"))
    assert [mrn for mrn, *_ in _due()] == ["FICT-0002", "FICT-0001"]
    _kept_as_rebuilt()


def outcome_add(clinic: Clinic, day: str) -> int:
    """An HDSS grade for FICT-0001's hyperhidrosis; returns the measurement's id."""
    added = clinic.run(
        "outcome", "add", "--mrn", "FICT-0001", "--indication", "axillary-hyperhidrosis", "--instrument", "hdss",
        "--date", day, "--value", "2", "--clinician", "dr-fictional",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    return int(added.stdout.split()[1])


def test_a_corrected_session_is_summarised_once_as_it_now_stands(clinic: Clinic) -> None:
    # One unit of work withdraws the session and records its correction: the derived rows are kept once, at its
    # end, from what it leaves (the new day, the new indication), as a rebuild gives them.
    wrong = _session(clinic, "2026-05-04")
    corrected = clinic.session_file(
        "corrected", date="2026-05-06", at="2026-05-06T10:00:00", indication="chronic-migraine",
        sites=[{"muscle": "frontalis", "side": side, "units": 10} for side in ("left", "right")],
    )  # fmt: skip
    clinic.ok("session", "correct", str(wrong), str(corrected), "--reason", "the day and indication were wrong")
    assert _due() == [("FICT-0001", "chronic-migraine", date(2026, 5, 6))]
    _kept_as_rebuilt()
