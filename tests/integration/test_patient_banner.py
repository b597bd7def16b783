"""The patient banner on every patient page (Django's test client on a real SQLite database): the allergy, the
medicine that interacts with botulinum toxin, the weight with the day it was measured, each product's
cumulative gauge and the next allowed date, the last two the chart's own figures."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from tests.commands import bont_ok
from tests.databases import migrated_sqlite_database

MRN = "FICT-BANNER-1"
INDICATION = "axillary-hyperhidrosis"
GIVEN = date.today() - timedelta(days=30)
WEIGHED = date.today() - timedelta(days=12)


@dataclass(frozen=True)
class Clinic:
    clinician: Any
    chart_key: str


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    folder = tmp_path_factory.mktemp("patient-banner")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(folder))
        from bont.bootstrap import setup_database

        setup_database()
        from django.contrib.auth import get_user_model

        from bont.clinic import models

        bont_ok("user", "add", "banner-clinician", "--role", "clinician")
        bont_ok("patient", "add", "--mrn", MRN, "--given-name", "Test", "--family-name", "Banner",
              "--birth-date", "1970-03-04", "--sex", "female")  # fmt: skip
        bont_ok("patient", "update", MRN, "--date", WEIGHED.isoformat(), "--weight-kg", "68.5")
        document = {
            "patient_mrn": MRN,
            "date": GIVEN.isoformat(),
            "at": f"{GIVEN.isoformat()}T10:00:00",
            "clinician": "banner-clinician",
            "indication": INDICATION,
            "product": "onabotulinumtoxinA",
            "sites": [
                {"muscle": "axilla", "side": "left", "units": 50},
                {"muscle": "axilla", "side": "right", "units": 50},
            ],
            "draws": [],
            "acknowledgements": {},
        }
        # A second product, for another indication: each has its own gauge and next allowed date.
        dystonia = document | {
            "indication": "cervical-dystonia",
            "product": "abobotulinumtoxinA",
            "sites": [
                {"muscle": "sternocleidomastoid", "side": "left", "units": 150},
                {"muscle": "splenius-capitis", "side": "right", "units": 350},
            ],
            "acknowledgements": {"other-botulinum-toxin-recently": "a fictional clinic's second indication"},
        }
        for number, given in enumerate((document, dystonia)):
            session_file = folder / f"session-{number}.json"
            session_file.write_text(json.dumps(given), encoding="utf-8")
            bont_ok("session", "record", str(session_file))
        bont_ok("patient", "update", MRN, "--add-allergy", "latex", "--add-medication", "gentamicin",
              "--add-condition", "I10")  # fmt: skip
        bont_ok("outcome", "add", "--mrn", MRN, "--indication", INDICATION, "--instrument", "hdss",
              "--date", GIVEN.isoformat(), "--value", "4", "--clinician", "banner-clinician")  # fmt: skip
        from django.test import Client

        client = Client(SERVER_NAME="localhost")
        client.force_login(get_user_model()._default_manager.get_by_natural_key("banner-clinician"))
        yield Clinic(client, models.Patient.objects.get(mrn=MRN).chart_key)


def _text(fragment: str) -> str:
    """The words of an HTML fragment, its tags dropped and its spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _banner(page: str) -> str:
    found = re.findall(r'<section class="patient-banner" aria-label="Patient">(.*?)</section>', page, re.S)
    assert len(found) == 1, "one patient banner"
    return str(found[0])


def _first(pattern: str, page: str) -> str:
    """The words of the first group of ``pattern``'s first match in ``page``."""
    found = re.search(pattern, page, re.S)
    assert found is not None, pattern
    return _text(str(found[1]))


def _part(banner: str, name: str) -> str:
    return _first(rf'<div class="banner-{name}">(.*?)</div>', banner)


def _pages(clinic: Clinic) -> dict[str, str]:
    """Every patient page, as a clinician opens it."""
    client, key = clinic.clinician, clinic.chart_key
    answers = {
        "chart": client.get(f"/patients/{key}/"),
        "edit": client.get(f"/patients/{key}/edit/"),
        "audit": client.get(f"/patients/{key}/audit/"),
        "plan": client.get(f"/patients/{key}/plan/"),
        "record": client.post(
            f"/patients/{key}/record/",
            {"to_record": "1", "indication": INDICATION, "product": "onabotulinumtoxinA"},
        ),
        "adverse event": client.get(f"/patients/{key}/adverse-events/new/"),
        "outcome": client.get(f"/patients/{key}/outcomes/new/", {"indication": INDICATION}),
        "continuation report": client.get(f"/patients/{key}/continuation/{INDICATION}/"),
    }
    for name, answer in answers.items():
        assert answer.status_code == 200, name
    return {name: answer.content.decode() for name, answer in answers.items()}


def test_every_patient_page_carries_the_banner_with_the_allergy_the_interaction_and_the_dated_weight(
    clinic: Clinic,
) -> None:
    for name, page in _pages(clinic).items():
        banner = _banner(page)
        who = _first(r'<p class="banner-who">(.*?)</p>', banner)
        assert who.startswith(f"Banner, Test MRN {MRN} born 1970-03-04"), name
        assert f"68.5 kg (weighed {WEIGHED.isoformat()})" in who, name
        assert _part(banner, "allergies") == "Allergies latex", name
        assert '<span class="banner-flag stop">latex</span>' in banner, name
        assert _part(banner, "interacting") == "Interacting medicines gentamicin (aminoglycoside antibiotics)", name
        assert '<span class="banner-flag warn">gentamicin' in banner, name
        assert _part(banner, "conditions") == "Conditions I10 — Essential (primary) hypertension", name


def test_the_banners_gauges_and_next_allowed_dates_are_the_charts(clinic: Clinic) -> None:
    pages = _pages(clinic)
    chart = pages["chart"]
    gauges = [_text(g) for g in re.findall(r'<div class="gauge-label">(.*?)</div>', chart, re.S)]
    used, maximum, window = "100", "400", "3 months"
    assert gauges == [f"BOTOX: {used} U of {maximum} U in {window}"]  # DYSPORT has no cumulative window: no gauge
    nexts = [_text(n) for n in re.findall(r'<li class="next-session">(.*?)</li>', chart, re.S)]
    assert nexts[0].endswith("may be given now")
    earliest = (GIVEN + timedelta(weeks=12)).isoformat()  # Dysport's 12 weeks for cervical dystonia
    assert nexts[1].startswith("Cervical dystonia (DYSPORT): last")
    assert f"not before {earliest}" in nexts[1]
    for name, page in pages.items():
        banner = _banner(page)
        assert _part(banner, "gauges") == f"Cumulative windows BOTOX: {used} of {maximum} U in {window}", name
        assert _part(banner, "next") == (
            "Next allowed Severe primary axillary hyperhidrosis (BOTOX): now "
            f"Cervical dystonia (DYSPORT): not before {earliest}"
        ), name


def test_a_patient_with_no_allergy_on_file_reads_none_recorded_never_no_known_allergies(clinic: Clinic) -> None:
    bont_ok("patient", "add", "--mrn", "FICT-BANNER-2", "--given-name", "Test", "--family-name", "Unweighed",
          "--birth-date", "1980-01-01")  # fmt: skip
    from bont.clinic import models

    key = models.Patient.objects.get(mrn="FICT-BANNER-2").chart_key
    banner = _banner(clinic.clinician.get(f"/patients/{key}/").content.decode())
    assert _part(banner, "allergies") == "Allergies none recorded"
    assert "no known allergies" not in _text(banner).lower()
    assert "weight not recorded" in _text(banner)
    assert _part(banner, "gauges") == "Cumulative windows none given"
    assert _part(banner, "next") == "Next allowed no session recorded"
