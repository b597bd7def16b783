"""The billing export reads each session's claim inputs, kept by the transaction that records, corrects or
withdraws the session, on real SQLite and PostgreSQL databases (``tests/integration/test_background_runs.py`` runs this
module once per engine): the export follows every change, and what the writes keep is what rebuilding the claim
inputs from the records gives."""

from __future__ import annotations

import csv

from tests.contract.clinic import Clinic


def _export(clinic: Clinic) -> list[tuple[str, ...]]:
    """The year's claim lines: (session, day, indication, code, modifier, billing units, NDC)."""
    export = clinic.run("billing", "export", "--from", "2026-01-01", "--to", "2026-12-31")
    assert export.returncode == 0, export.stderr
    return [
        (row["session_id"], row["date_of_service"], row["indication"], row["code"], row["modifier"],
         row["billing_units"], row["ndc_11"])
        for row in csv.DictReader(export.stdout.splitlines())
    ]  # fmt: skip


def _kept_as_rebuilt() -> None:
    """The claim inputs the writes kept are those rebuilt from the records (the contents stored kept: the same
    content has the same row whoever writes it)."""
    from django.db import transaction  # noqa: TID251 (the rebuild is rolled back)

    from bont.clinic import models
    from bont.clinic.derived import fill_claim_inputs

    def rows() -> list[tuple[object, ...]]:
        return list(
            models.SessionClaimInputs.objects.order_by("date", "session").values_list(
                "session", "date", "patient", "clinician", "content", "content__indication", "content__product",
                "content__protocol", "content__guidance", "content__total_units", "content__units_discarded",
                "content__sites", "content__vials",
            )
        )  # fmt: skip

    kept = rows()
    with transaction.atomic():
        fill_claim_inputs()  # in place of those stored
        rebuilt = rows()
        transaction.set_rollback(True)
    assert kept == rebuilt


def test_a_corrected_or_withdrawn_session_changes_the_billing_export(clinic: Clinic) -> None:
    vials = clinic.receive_lot("DYSPORT", "CLAIM-LOT", "500")
    opened = clinic.run("lot", "reconstitute", str(vials[0]), "--diluent-ml", "2.5", "--at", "2026-05-04T09:00")
    assert opened.returncode == 0, opened.stderr
    wrong = clinic.session_file(
        "wrong", product="DYSPORT", indication="cervical-dystonia", date="2026-05-04", at="2026-05-04T10:00:00",
        guidance="emg", sites=[{"muscle": "splenius-capitis", "side": "left", "units": 200}],
        draws=[{"vial": vials[0], "units": 200}],
    )  # fmt: skip
    recorded = clinic.ok("session", "record", str(wrong))["session_id"]
    assert _export(clinic) == [
        (str(recorded), "2026-05-04", "cervical-dystonia", "64616", "", "1", ""),
        (str(recorded), "2026-05-04", "cervical-dystonia", "95874", "", "1", ""),
        (str(recorded), "2026-05-04", "cervical-dystonia", "J0586", "JZ", "40", "15054-0500-01"),
    ]
    _kept_as_rebuilt()

    # One unit of work withdraws the session and records its correction (another day, a second muscle, no
    # guidance, the same vial draw carried): the export bills the correction alone, as it now stands.
    corrected = clinic.session_file(
        "corrected", product="DYSPORT", indication="cervical-dystonia", date="2026-05-06", at="2026-05-06T10:00:00",
        sites=[{"muscle": "splenius-capitis", "side": "left", "units": 120},
               {"muscle": "trapezius", "side": "left", "units": 80}],
    )  # fmt: skip
    correction = clinic.ok("session", "correct", str(recorded), str(corrected), "--reason", "the day was wrong")
    correcting = correction["session_id"]
    assert correcting != recorded
    assert _export(clinic) == [
        (str(correcting), "2026-05-06", "cervical-dystonia", "64616", "", "1", ""),
        (str(correcting), "2026-05-06", "cervical-dystonia", "J0586", "JZ", "40", "15054-0500-01"),
    ]
    _kept_as_rebuilt()

    assert clinic.ok("session", "withdraw", str(correcting), "--reason", "entered for the wrong patient")["withdrawn"]
    assert _export(clinic) == []
    _kept_as_rebuilt()
