"""The research page's stored rows on real SQLite and PostgreSQL databases
(``tests/integration/test_background_runs.py`` runs this module once per engine): after each kind of write, through
the ``bont`` commands and the services, the stored latest verdicts and session tallies count what judging every
patient again from their records gives; and verdicts judged with other knowledge are shown as outdated until ``bont
research refresh``."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from tests.contract.clinic import Clinic

MIGRAINE = "chronic-migraine"
FIRST, SECOND = date(2026, 1, 5), date(2026, 3, 30)


def _recomputed_equals_stored() -> Counter[tuple[str, str, str]]:
    """Every patient judged from their records one at a time, as the chart judges them, against the stored rows;
    and the sessions counted over every session given, against the stored tallies. Returns the verdicts."""
    from bont.bootstrap import build_knowledge, clock, outcome_records
    from bont.clinic import models
    from bont.services.outcome_ports import SessionCount
    from bont.services.outcomes import outcomes_of_patient
    from bont.services.research import verdict_basis

    records, knowledge = outcome_records(), build_knowledge()
    recomputed: Counter[tuple[str, str, str]] = Counter()
    for patient_id in models.Patient.objects.values_list("pk", flat=True):
        for outcomes in outcomes_of_patient(records, knowledge, patient_id, clock().today()):
            for series in outcomes.series:
                if series.latest_verdict is not None:
                    recomputed[(outcomes.indication.id, series.instrument.id, str(series.latest_verdict.status))] += 1
    stored = records.verdict_tallies()
    assert stored.basis == verdict_basis(knowledge)
    assert {(t.indication, t.instrument, t.status): t.patients for t in stored.tallies} == recomputed
    given: dict[tuple[str, str], list[int]] = {}
    for *key, patient_id in models.TreatmentSession.objects.filter(withdrawn_reason="").values_list(
        "indication", "product", "patient_id"
    ):
        given.setdefault((key[0], key[1]), []).append(patient_id)
    assert records.session_counts() == tuple(
        SessionCount(indication, product, len(patients), len(set(patients)))
        for (indication, product), patients in sorted(given.items())
    )
    return recomputed


def _add_hit6(clinic: Clinic, on: date, value: str) -> None:
    added = clinic.run(
        "outcome", "add", "--mrn", "FICT-0001", "--indication", MIGRAINE, "--instrument", "hit-6",
        "--date", on.isoformat(), "--value", value, "--clinician", "dr-fictional",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def _headache_diary(before: date, minutes: int) -> None:
    """The 20 days before ``before`` (enough for a diary period), each with ``minutes`` of moderate pulsating
    headache (0: none)."""
    from bont.bootstrap import clock, outcome_records
    from bont.clinic import models
    from bont.services.outcomes import save_diary_day

    records = outcome_records()
    patient_id = int(models.Patient.objects.get(mrn="FICT-0001").pk)
    features = ["pulsating", "moderate-or-severe"] if minutes else []
    for back in range(1, 21):
        values = {"headache_minutes": minutes, "features": features, "nausea_or_vomiting": bool(minutes)}
        save_diary_day(records, patient_id, "headache", before - timedelta(days=back), values, clock().today())


def test_the_stored_verdicts_and_tallies_count_what_judging_every_patient_again_gives(clinic: Clinic) -> None:
    for day in (FIRST, SECOND):
        document = clinic.session_file(day.isoformat(), date=day.isoformat(), at=f"{day}T10:00:00")
        recorded = clinic.run("session", "record", str(document))
        assert recorded.returncode == 0, recorded.stderr
    assert _recomputed_equals_stored() == Counter()  # sessions, nothing measured yet

    _add_hit6(clinic, FIRST, "66")
    _add_hit6(clinic, FIRST + timedelta(days=42), "64")  # two points better
    assert _recomputed_equals_stored() == Counter({(MIGRAINE, "hit-6", "non-responder"): 1})
    [misread] = [row for row in clinic.ok("outcome", "list", "FICT-0001") if row["date"] != str(FIRST)]
    corrected = clinic.run(
        "outcome", "correct", str(misread["id"]), "--value", "58", "--date", str(FIRST + timedelta(days=42)),
        "--reason", "the score was misread",
    )  # fmt: skip
    assert corrected.returncode == 0, corrected.stderr
    assert _recomputed_equals_stored() == Counter({(MIGRAINE, "hit-6", "responder"): 1})  # eight points better

    [follow_up] = [
        row for row in clinic.ok("outcome", "list", "FICT-0001") if row["date"] != str(FIRST) and not row["withdrawn"]
    ]
    withdrawn = clinic.run("outcome", "withdraw", str(follow_up["id"]), "--reason", "entered in error")
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert _recomputed_equals_stored()[(MIGRAINE, "hit-6", "responder")] == 0

    _headache_diary(FIRST, 600)  # a headache every day before the first session
    _headache_diary(SECOND, 0)  # none before the second
    assert _recomputed_equals_stored()[(MIGRAINE, "headache-days", "responder")] == 1

    second = next(s for s in clinic.sessions() if s["date"] == str(SECOND))
    withdrawn = clinic.run("session", "withdraw", str(second["id"]), "--reason", "entered in error")
    assert withdrawn.returncode == 0, withdrawn.stderr
    _recomputed_equals_stored()

    configured = clinic.run("outcome", "rule", "nice-ta260-two-cycles", "--cycles", "3", "--reason", "payer policy")
    assert configured.returncode == 0, configured.stderr
    _recomputed_equals_stored()


def test_verdicts_judged_with_other_knowledge_are_not_shown_until_the_research_refresh(clinic: Clinic) -> None:
    from bont.bootstrap import build_knowledge, clock, follow_up_records, outcome_records
    from bont.clinic import models
    from bont.services.follow_up import follow_up_page
    from bont.services.research import registry

    document = clinic.session_file("first", date=FIRST.isoformat(), at=f"{FIRST}T10:00:00")
    assert clinic.run("session", "record", str(document)).returncode == 0
    _add_hit6(clinic, FIRST, "66")
    _add_hit6(clinic, FIRST + timedelta(days=42), "64")
    judged = registry(outcome_records(), build_knowledge())
    assert not judged.responders_outdated
    assert [(r.instrument, r.non_responders) for r in judged.responders] == [("HIT-6 (Headache Impact Test)", 1)]

    models.ResponderVerdictBasis.objects.update(basis="judged with other knowledge files")
    for judged_then in (models.ResponderVerdict, models.VerdictTotal):  # the other knowledge judged nothing
        judged_then.objects.all().delete()
    outdated = registry(outcome_records(), build_knowledge())
    assert (outdated.responders_outdated, outdated.responders) == (True, ())
    assert outdated.treatments == judged.treatments
    # The Follow-up list's assessments were kept with the same knowledge: shown, said to be out of date.
    assert follow_up_page(follow_up_records(), build_knowledge(), clock().today()).assessments_outdated

    refreshed = clinic.run("research", "refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    assert registry(outcome_records(), build_knowledge()) == judged
    assert not follow_up_page(follow_up_records(), build_knowledge(), clock().today()).assessments_outdated
    _recomputed_equals_stored()
