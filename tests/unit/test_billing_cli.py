"""The NPI of a user (bont.services.users) and the ``bont user npi`` and ``bont billing`` commands, in process,
on the fakes."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bont.cli.app import app
from bont.domain.billing import VialUsed
from bont.services.users import AccountError, add_user, set_npi
from tests.fakes import FakeAccessLog, FakeBillingRecords, FakeRegistry, FakeSessionBook, FakeUserAccounts

RUNNER = CliRunner()
NPI = "1234567893"  # the worked example of CMS's check-digit document


# -- the service


def test_an_npi_is_kept_only_with_its_check_digit_and_for_an_existing_user() -> None:
    accounts = FakeUserAccounts(FakeRegistry())
    add_user(accounts, "dr-fictional", "clinician", npi=f" {NPI} ")
    assert accounts.npi("dr-fictional") == NPI
    for wrong, problem in (("1234567890", "check digit"), ("12345", "ten digits"), ("12345678AB", "ten digits")):
        with pytest.raises(AccountError) as refused:
            set_npi(accounts, "dr-fictional", wrong)
        assert (refused.value.field, problem in refused.value.problem) == ("npi", True)
    assert accounts.npi("dr-fictional") == NPI
    with pytest.raises(AccountError) as unknown:
        set_npi(accounts, "dr-nobody", NPI)
    assert unknown.value.field == "username"
    assert set_npi(accounts, "dr-fictional", None) == ""
    assert accounts.npi("dr-fictional") == ""
    with pytest.raises(AccountError):
        add_user(accounts, "dr-second", "clinician", npi="1234567890")
    assert not accounts.exists("dr-second")  # refused before the user was added


# -- bont user npi


@pytest.fixture
def users(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    from bont import bootstrap

    state = FakeRegistry()
    FakeUserAccounts(state).add("dr-fictional", "clinician", None)
    monkeypatch.setattr(bootstrap, "user_accounts", lambda: FakeUserAccounts(state))
    return state


def test_the_user_npi_command_sets_shows_and_removes_a_users_npi(users: FakeRegistry) -> None:
    kept = RUNNER.invoke(app, ["user", "npi", "dr-fictional", NPI, "--json"])
    assert kept.exit_code == 0, kept.output
    assert json.loads(kept.stdout) == {"username": "dr-fictional", "npi": NPI}
    shown = RUNNER.invoke(app, ["user", "npi", "dr-fictional"])
    assert shown.exit_code == 0, shown.output
    assert f"NPI: {NPI}" in shown.stdout
    wrong = RUNNER.invoke(app, ["user", "npi", "dr-fictional", "1234567890"])
    assert wrong.exit_code == 2
    assert "NPI: is not a valid NPI" in wrong.output
    unknown = RUNNER.invoke(app, ["user", "npi", "dr-nobody", NPI])
    assert (unknown.exit_code, "USERNAME: no such user" in unknown.output) == (2, True)
    removed = RUNNER.invoke(app, ["user", "npi", "dr-fictional", "--remove"])
    assert removed.exit_code == 0, removed.output
    assert users.npis["dr-fictional"] == ""
    both = RUNNER.invoke(app, ["user", "npi", "dr-fictional", NPI, "--remove"])
    assert both.exit_code == 2


def test_user_add_takes_an_npi_and_refuses_a_wrong_one(users: FakeRegistry) -> None:
    refused = RUNNER.invoke(app, ["user", "add", "dr-new", "--role", "clinician", "--npi", "1234567890"])
    assert refused.exit_code == 2
    assert "--npi: is not a valid NPI" in refused.output
    assert "dr-new" not in users.users
    added = RUNNER.invoke(app, ["user", "add", "dr-new", "--role", "clinician", "--npi", NPI])
    assert added.exit_code == 0, added.output
    assert users.npis["dr-new"] == NPI


# -- bont billing


@pytest.fixture
def book(monkeypatch: pytest.MonkeyPatch) -> FakeSessionBook:
    from bont import bootstrap

    book = FakeSessionBook(npis={"dr-fake": NPI})
    patient = book.add_patient("FICT-C1")
    book.conditions[patient.id] = ("G43.709",)
    session_id = book.add_session(
        patient,
        date(2026, 10, 5),
        "onabotulinumtoxinA",
        "chronic-migraine",
        (("frontalis", "left", Decimal("77.5")), ("frontalis", "right", Decimal("77.5"))),
        units_discarded=Decimal(45),
    )
    book.vials[session_id] = (VialUsed(Decimal(200), Decimal(155)),)
    monkeypatch.setattr(bootstrap, "billing_records", lambda: FakeBillingRecords(book))
    monkeypatch.setattr(bootstrap, "access_log", FakeAccessLog)  # the export's read, logged
    monkeypatch.delenv("BONT_PLACE_OF_SERVICE", raising=False)
    return book


def test_billing_session_shows_whole_units_with_the_exact_units_beside(book: FakeSessionBook) -> None:
    result = RUNNER.invoke(app, ["billing", "session", "1", "--json"])
    assert result.exit_code == 0, result.output
    lines = json.loads(result.stdout)["lines"]
    assert [(line["code"], line["modifier"], line["billing_units"]) for line in lines] == [
        ("64615", "", 1),
        ("J0585", "", 155),
        ("J0585", "JW", 45),
    ]
    assert lines[1] | {"note": ""} == {
        "kind": "drug",
        "code": "J0585",
        "modifier": "",
        "billing_units": 155,
        "exact_units": 155,
        "exact_billing_units": 155,
        "icd10_cm": ["G43.709"],
        "ndc_11": "00023-3921-02",
        "ndc_unit": "UN",
        "ndc_quantity": 0.775,
        "rendering_npi": NPI,
        "place_of_service": "11",
        "note": "",
    }
    table = RUNNER.invoke(app, ["billing", "session", "1"])
    assert table.exit_code == 0, table.output
    assert "rendering NPI 1234567893" in table.stdout
    missing = RUNNER.invoke(app, ["billing", "session", "99"])
    assert (missing.exit_code, "SESSION: no session with this id" in missing.output) == (2, True)


def test_billing_export_writes_the_claim_csv_with_the_clinics_place_of_service(
    book: FakeSessionBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BONT_PLACE_OF_SERVICE", "22")
    shown = RUNNER.invoke(app, ["billing", "export", "--from", "2026-10-01", "--to", "2026-10-31"])
    assert shown.exit_code == 0, shown.output
    rows = list(csv.DictReader(shown.stdout.splitlines()))
    assert [(r["code"], r["modifier"], r["billing_units"], r["place_of_service"]) for r in rows] == [
        ("64615", "", "1", "22"),
        ("J0585", "", "155", "22"),
        ("J0585", "JW", "45", "22"),
    ]
    target = tmp_path / "claims.csv"
    written = RUNNER.invoke(
        app, ["billing", "export", "--from", "2026-10-01", "--to", "2026-10-31", "--output", str(target)]
    )
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8").splitlines() == shown.stdout.splitlines()
    monkeypatch.setenv("BONT_PLACE_OF_SERVICE", "office")
    refused = RUNNER.invoke(app, ["billing", "export", "--from", "2026-10-01", "--to", "2026-10-31"])
    assert refused.exit_code == 2
    assert "BONT_PLACE_OF_SERVICE: is not a place-of-service code" in refused.output
