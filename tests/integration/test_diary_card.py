"""The patient's diary from their side, in process (Django's test client on a real SQLite database): the pages the
link opens name the clinic and its telephone number (BONT_CLINIC_NAME, BONT_CLINIC_PHONE) and say which signs
need medical care now, from the knowledge base's signs of distant spread, without the clinician-facing footer;
the link is handed over once as a QR code of itself on a printable card."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
import segno

from tests.commands import bont
from tests.databases import migrated_sqlite_database

CLINICIAN = "diary-clinician"
MRN = "FICT-DIARY-1"
CLINIC_NAME, CLINIC_PHONE = "Harbourside Movement Clinic", "+44 20 7946 0321"  # a number kept for drama
SEEK_CARE_NOW = ("Trouble swallowing", "Trouble speaking", "Trouble breathing", "Weakness all over your body")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A signed-in clinician, a patient and that patient's chart key, on a clinic with a name and number."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DATABASE_URL", migrated_sqlite_database(tmp_path_factory.mktemp("diary")))
        environment.setenv("BONT_CLINIC_NAME", CLINIC_NAME)
        environment.setenv("BONT_CLINIC_PHONE", CLINIC_PHONE)
        from bont.bootstrap import setup_database

        setup_database()
        from django.contrib.auth import get_user_model
        from django.test import Client

        from bont.clinic import models

        assert bont("user", "add", CLINICIAN, "--role", "clinician").returncode == 0
        assert bont("patient", "add", "--mrn", MRN, "--given-name", "Ada", "--family-name", "Lindqvist",
                    "--birth-date", "1970-03-04", "--sex", "female").returncode == 0  # fmt: skip
        client = Client(SERVER_NAME="localhost")
        client.force_login(get_user_model()._default_manager.get_by_natural_key(CLINICIAN))
        yield {"client": client, "chart_key": models.Patient.objects.get(mrn=MRN).chart_key}


def _diary_link(kind: str) -> str:
    from bont.bootstrap import clock, outcome_records
    from bont.services.outcomes import create_diary_link

    return create_diary_link(outcome_records(), MRN, kind, clock().today())


def test_the_diary_names_the_clinic_and_its_number_and_the_signs_that_need_care_now_without_the_staff_footer(
    clinic: dict[str, Any],
) -> None:
    from django.test import Client

    response = Client(SERVER_NAME="localhost").get(f"/diary/{_diary_link('headache')}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert CLINIC_NAME in page
    assert f'<a href="tel:+442079460321">{CLINIC_PHONE}</a>' in page
    for sign in SEEK_CARE_NOW:
        assert sign in page, sign
    assert "Call emergency services straight away" in page
    # Each sign keeps its source in the page: the boxed warning of the label the knowledge base cites.
    cited = "BOTOX US label (2023) Boxed warning: Distant Spread of Toxin Effect (dysphagia); §5.1 [label]"
    assert f'data-cite="{cited}"' in page
    assert "decision support, not a prescriber" not in page
    assert "Ada" not in page
    assert "Lindqvist" not in page


def test_an_ended_diary_link_still_names_the_clinic_and_the_signs(clinic: dict[str, Any]) -> None:
    from django.test import Client

    response = Client(SERVER_NAME="localhost").get("/diary/no-such-diary-link/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "This diary link has ended" in page
    assert f"Ask {CLINIC_NAME} ({CLINIC_PHONE}) for a new link." in page
    assert "Trouble breathing" in page


def test_a_new_diary_link_is_a_printable_card_with_a_qr_code_of_the_link(clinic: dict[str, Any]) -> None:
    response = clinic["client"].post(f"/patients/{clinic['chart_key']}/diary-links/", {"kind": "bladder"})
    page = response.content.decode()
    assert response.status_code == 200
    found = re.search(r'<p class="diary-url">(http://localhost/diary/[A-Za-z0-9_-]+/)</p>', page)
    assert found is not None
    url = found.group(1)
    expected = segno.make(url, error="m").svg_inline(omitsize=True)
    drawn = re.search(r'<svg viewBox="[0-9 ]+" class="qr">.*?</svg>', page, re.DOTALL)
    assert drawn is not None
    assert re.search(r' d="([^"]+)"', expected).group(1) in drawn.group(0)  # type: ignore[union-attr]
    assert "Your bladder diary" in page
    assert "how many times you passed urine" in page
    assert CLINIC_NAME in page
    assert CLINIC_PHONE in page
    assert "Trouble swallowing" in page
    assert "this page is shown once" in page
    assert "Lindqvist" not in page.split('<article class="diary-card"', 1)[1]  # the card names no patient
    # The link opens the diary it printed.
    from django.test import Client

    assert Client(SERVER_NAME="localhost").get(url.removeprefix("http://localhost")).status_code == 200


def test_a_diary_link_of_no_kind_makes_no_card(clinic: dict[str, Any]) -> None:
    response = clinic["client"].post(f"/patients/{clinic['chart_key']}/diary-links/", {"kind": ""})
    assert response.status_code == 302
    assert "<svg" not in clinic["client"].get(response["Location"]).content.decode()


def test_a_clinic_telephone_number_of_words_is_refused() -> None:
    from bont.settings import BontSettings

    with pytest.raises(pydantic.ValidationError, match="BONT_CLINIC_PHONE"):
        BontSettings(clinic_phone="ring the front desk")


def test_the_demo_clinic_has_a_fictional_name_and_number_unless_the_clinic_sets_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bont.settings import DEMO_CLINIC_NAME, DEMO_CLINIC_PHONE, BontSettings

    monkeypatch.delenv("BONT_CLINIC_NAME", raising=False)
    monkeypatch.delenv("BONT_CLINIC_PHONE", raising=False)

    assert BontSettings().clinic(demo=False) == ("Your clinic", "")
    assert BontSettings().clinic(demo=True) == (DEMO_CLINIC_NAME, DEMO_CLINIC_PHONE)
    assert BontSettings(clinic_name="Northgate Clinic").clinic(demo=True) == ("Northgate Clinic", DEMO_CLINIC_PHONE)
