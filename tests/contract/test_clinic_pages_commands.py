"""The clinic-wide pages read a fixed number of queries whatever the clinic's size (the follow-up list, the
patient list, the research registry and the billing export), and give the answers each patient's own record
gives. ``tests/integration/test_background_runs.py`` runs this module once per engine, on a clinic written in bulk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bont.bootstrap import build_knowledge
from bont.services.follow_up import NEXT_SESSION, follow_up_page
from bont.services.next_session import next_sessions
from tests.contract.clinic import Clinic

TODAY = date(2026, 11, 20)
BOTOX, MIGRAINE, DYSTONIA = "onabotulinumtoxinA", "chronic-migraine", "cervical-dystonia"


def _add_patients(start: int, count: int) -> None:
    """Fictional patients ``start`` to ``start + count - 1``, each with a different history: treated for migraine
    long ago or recently, for dystonia, a session withdrawn, an outcome since, a weight, a condition resolved, an
    adverse event."""
    from django.contrib.auth import get_user_model

    from bont.clinic import models

    clinician = get_user_model().objects.get_or_create(username="dr-pages")[0]
    patients = models.Patient.objects.bulk_create(
        models.Patient(
            mrn=f"FICT-PG-{n:04d}",
            given_name=f"Fictional{n % 3}",
            family_name=f"Page{n % 7}",
            birth_date=date(1960 + n % 40, 1 + n % 12, 1 + n % 28),
            sex="female" if n % 2 else "male",
        )
        for n in range(start, start + count)
    )
    sessions = []
    for n, patient in enumerate(patients, start):
        days = (400, 200, 100 - n % 60) if n % 4 else (30 + n % 50,)
        indication = DYSTONIA if n % 5 == 1 else MIGRAINE
        units = Decimal(250) if indication == DYSTONIA else Decimal(155)
        sessions += [
            models.TreatmentSession(
                patient=patient,
                date=TODAY - timedelta(days=ago),
                clinician=clinician,
                indication=indication,
                product=BOTOX,
                total_units=units,
                verdict="ok",
                withdrawn_reason="entered in error" if n % 6 == 5 and ago == days[-1] else "",
            )
            for ago in days
        ]
        if n % 3 == 0:
            models.WeightMeasurement.objects.create(
                patient=patient, measured_on=TODAY - timedelta(days=90), weight_kg=70
            )
        if n % 8 == 2:
            models.PatientCondition.objects.create(patient=patient, term="myasthenia gravis")
        if n % 8 == 3:
            models.PatientCondition.objects.create(patient=patient, term="I10", resolved_on=TODAY - timedelta(days=9))
    models.TreatmentSession.objects.bulk_create(sessions)
    for n, patient in enumerate(patients, start):
        if n % 3 == 1:
            models.OutcomeRecord.objects.create(
                patient=patient,
                indication=MIGRAINE,
                instrument="hit-6",
                measured_on=TODAY - timedelta(days=n % 90),
                value=Decimal(60),
                withdrawn_reason="entered in error" if n % 9 == 4 else "",
            )
        if n % 10 == 7:
            models.DiaryDay.objects.create(patient=patient, kind="headache", day=TODAY - timedelta(days=3))
        if n % 11 == 6:
            session = models.TreatmentSession.objects.filter(patient=patient).first()
            models.AdverseEvent.objects.create(
                patient=patient,
                suspected_session=session,
                event="ptosis",
                onset=TODAY - timedelta(days=20),
                severity="mild",
            )
    # Written in bulk, past the recording transactions: the derived rows are filled as for a generated clinic.
    from bont.clinic.derived import fill_claim_inputs, fill_follow_up_summaries

    fill_follow_up_summaries(build_knowledge())
    fill_claim_inputs(patients=(patients[0].pk, patients[-1].pk))


def _queries(read: Callable[[], Any]) -> int:
    from django.db import connection  # noqa: TID251 (counting the adapters' queries)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured.captured_queries)


def test_the_follow_up_list_reads_as_many_queries_for_fifty_patients_as_for_five(empty_clinic: Clinic) -> None:
    from bont.clinic.follow_up_records import DjangoFollowUpRecords

    def read() -> object:
        return follow_up_page(DjangoFollowUpRecords(), build_knowledge(), TODAY)

    _add_patients(0, 5)
    few = _queries(read)
    _add_patients(5, 45)
    assert _queries(read) == few
    assert few <= 13  # two counts, a page of the summary, the page's patients, each kind of chart row once


def test_the_follow_up_list_gives_each_charts_answer(empty_clinic: Clinic) -> None:
    from bont.clinic import models
    from bont.clinic.follow_up_records import DjangoFollowUpRecords
    from bont.clinic.repositories import DjangoPatientCharts, patient_snapshot, prior_adverse_events

    _add_patients(0, 24)
    knowledge = build_knowledge()
    records, charts = DjangoFollowUpRecords(), DjangoPatientCharts()
    found = follow_up_page(records, knowledge, TODAY, per_page=200)
    assert found.treated_total == 24
    listed = {(r.patient.mrn, r.indication_id, r.recommended) for r in found.sessions if r.what == NEXT_SESSION}
    expected = set()
    for chart in records.treated_charts(TODAY, 0, 200):
        row = models.Patient.objects.get(mrn=chart.identity.mrn)
        # The page's charts are the charts the chart page reads, one patient at a time.
        assert (chart.patient, chart.history) == patient_snapshot(row, TODAY)
        assert chart.adverse_events == prior_adverse_events(row.pk, TODAY)
        patient, history = charts.chart(row.mrn, TODAY)
        expected |= {
            (row.mrn, n.indication, n.recommended)
            for n in next_sessions(knowledge, patient, history, TODAY, charts.prior_adverse_events(row.mrn, TODAY))
            if n.earliest == TODAY
        }
    assert listed == expected
    assert 0 < len(listed) < 24  # some are blocked today (a recent session, myasthenia gravis)
    assert found.assessments, "some were treated six weeks ago or more with no outcome since"
    assert [r.due for r in found.assessments] == sorted(r.due for r in found.assessments)


def test_the_patient_list_reads_a_page_and_its_session_counts_in_one_query(empty_clinic: Clinic) -> None:
    from bont.clinic import models
    from bont.clinic.patient_records import DjangoPatientRegistry

    registry = DjangoPatientRegistry()
    _add_patients(0, 5)
    assert _queries(lambda: registry.search("", 200)) == 1
    _add_patients(5, 45)
    assert _queries(lambda: registry.search("", 200)) == 1
    assert registry.count("") == 50
    page = registry.search("page3", 5, offset=2)
    everyone = registry.search("page3", 200)
    assert page == everyone[2:7]
    given = models.TreatmentSession.objects.filter(withdrawn_reason="")
    assert [r.session_count for r in everyone] == [given.filter(patient__mrn=r.mrn).count() for r in everyone]


def test_the_research_registry_reads_as_many_queries_for_fifty_patients_as_for_five(empty_clinic: Clinic) -> None:
    from bont.clinic import models
    from bont.clinic.derived import DerivedSummaries
    from bont.clinic.outcome_records import DjangoOutcomeRecords
    from bont.clinic.responder_verdicts import rebuild
    from bont.services.outcomes import outcomes_of_patient
    from bont.services.research import registry

    records, knowledge = DjangoOutcomeRecords(DerivedSummaries(build_knowledge())), build_knowledge()
    # Written in bulk, as an upgraded clinic's records are: judged by the research refresh.
    _add_patients(0, 5)
    rebuild(knowledge)
    few = _queries(lambda: registry(records, knowledge))
    _add_patients(5, 45)
    rebuild(knowledge)
    assert _queries(lambda: registry(records, knowledge)) == few
    # Each patient's verdicts as the chart reads them, one patient at a time.
    verdicts: dict[tuple[str, str], list[str]] = {}
    for patient_id in models.Patient.objects.values_list("pk", flat=True):
        for outcomes in outcomes_of_patient(records, knowledge, patient_id, TODAY):
            for series in outcomes.series:
                if series.latest_verdict is not None:
                    key = (outcomes.indication.name, series.instrument.name)
                    verdicts.setdefault(key, []).append(str(series.latest_verdict.status))
    found = registry(records, knowledge).responders
    assert [(r.indication, r.instrument) for r in found] == sorted(verdicts)
    for row in found:
        statuses = verdicts[(row.indication, row.instrument)]
        assert (row.responders, row.non_responders, row.not_assessable) == tuple(
            statuses.count(status) for status in ("responder", "non-responder", "not-assessable")
        )


def test_the_billing_export_reads_as_many_queries_for_fifty_patients_as_for_five(empty_clinic: Clinic) -> None:
    from bont.clinic.billing_records import DjangoBillingRecords
    from bont.services.billing import billing_csv

    exported: list[str] = []

    def export() -> None:
        rows = billing_csv(DjangoBillingRecords(), build_knowledge(), TODAY - timedelta(days=100), TODAY)
        exported.append("".join(rows))

    _add_patients(0, 5)
    few = _queries(export)
    _add_patients(5, 45)
    assert _queries(export) == few
    assert exported[-1].count(",64615,") > 20  # the procedure line of each migraine session


def test_the_billing_export_reads_patients_alike_one_chunk_at_a_time_or_all_at_once(
    empty_clinic: Clinic, monkeypatch: Any
) -> None:
    from bont.clinic import billing_records, models
    from bont.services.billing import billing_csv

    _add_patients(0, 50)
    # What many sessions gave alike is stored once: a migraine session's 155 units, a dystonia session's 250.
    assert models.ClaimContent.objects.count() == 2
    assert (
        models.SessionClaimInputs.objects.count() == models.TreatmentSession.objects.filter(withdrawn_reason="").count()
    )

    def export() -> str:
        records = billing_records.DjangoBillingRecords()
        return "".join(billing_csv(records, build_knowledge(), TODAY - timedelta(days=500), TODAY))

    monkeypatch.setattr(billing_records, "CHUNK", 7)
    looked_up = export()  # a chunk's few new patients looked up with it
    monkeypatch.setattr(billing_records._Patients, "ALL_AT_ONCE", 3)
    assert export() == looked_up  # every patient read with the first chunk
    monkeypatch.setattr(billing_records, "PARSED_KEPT", 1)
    assert export() == looked_up  # the claim contents forgotten and read again with each chunk
    assert looked_up.count("\n") > 150
