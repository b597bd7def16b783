"""Fuzzing the JSON API with schemathesis: requests generated from the server's own OpenAPI schema, valid and
invalid (wrong types, missing fields, huge numbers, odd strings), sent with a clinician's bearer token to a
server of its own (the fuzzer records, corrects and withdraws; the shared demo clinic stays as the other
modules expect it). Every answer must be something other than a 5xx. A few examples per operation, derandomized,
keep the run to seconds and make a failure repeat."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import NamedTuple

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from tests.databases import migrated_sqlite_database
from tests.e2e.browser import api, run_bont, serving, token_for

CLINICIAN = "fuzz-clinician"


class FuzzedClinic(NamedTuple):
    url: str
    token: str  # the clinician's bearer token
    vials: list[int]  # sealed vials of BOTOX


@pytest.fixture(scope="module")
def fuzzed_clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzedClinic]:
    """A server on a clinic of its own: a clinician, a fictional patient and a lot of sealed vials, so that
    some generated ids and MRNs name something that is there."""
    env = {**os.environ, "DATABASE_URL": migrated_sqlite_database(tmp_path_factory.mktemp("fuzz"))}
    for command in (  # on a migrated copy: nothing to migrate
        f"user add {CLINICIAN} --role clinician --password fuzz-password-of-a-test-only",
        "patient add --mrn FICT-FUZZ-1 --given-name Fuzz --family-name Fictional --birth-date 1970-05-06 --sex female"
        " --weight-kg 70",
    ):
        done = run_bont(env, *command.split())
        assert done.returncode == 0, (command, done.stderr)
    lot = "lot add --product BOTOX --lot FICT-FUZZ-LOT --expiry 2030-01-31 --quantity 3 --vial-units 100 --json"
    received = run_bont(env, *lot.split())
    assert received.returncode == 0, received.stderr
    token = token_for(env, CLINICIAN)
    with serving(env) as url:
        yield FuzzedClinic(url, token, list(json.loads(received.stdout)["vials"]))


@pytest.fixture(scope="module")
def api_schema(fuzzed_clinic: FuzzedClinic) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed_clinic.url}/api/openapi.json")


def test_a_key_given_twice_or_a_huge_id_is_a_client_error_naming_it(fuzzed_clinic: FuzzedClinic) -> None:
    url, token, _ = fuzzed_clinic
    # An id no database row can have is an id that is not there (the route's converter refuses it).
    for too_large in (str(2**63), "9" * 30):
        assert _status(url, f"/sessions/{too_large}", token) == 404
    assert api(url, f"/sessions/{2**63 - 1}", token) == (404, {"detail": "no session with this id"})
    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(f"{url}/sessions/{2**63}/", timeout=30)  # the page's route, before signing in
    assert page.value.code == 404
    request = (
        '{"patient_mrn": "FICT-FUZZ-1", "patient_mrn": "FICT-FUZZ-2", "date": "2026-11-21", '
        '"clinician": "fuzz-clinician", "indication": "cervical-dystonia", "product": "BOTOX", "sites": []}'
    )
    status, answer = _post_raw(url, "/sessions", token, request.encode())
    assert (status, answer) == (400, {"detail": "patient_mrn: given twice"})
    status, answer = _post_raw(url, "/sessions", token, b'{"patient_mrn": "FICT-\xff"}')
    assert status == 400
    assert answer == {"detail": "(document): is not valid UTF-8 (byte 23)"}


def _session(**fields: object) -> dict[str, object]:
    return {
        "patient_mrn": "FICT-FUZZ-1",
        "date": date.today().isoformat(),
        "clinician": CLINICIAN,
        "indication": "cervical-dystonia",
        "product": "BOTOX",
        "sites": [{"muscle": "splenius-capitis", "side": side, "units": 20} for side in ("left", "right")],
        "acknowledgements": dict.fromkeys(("unrecognized-term", "bilateral-neck-injection"), "reviewed"),
        **fields,
    }


def test_a_draw_from_a_sealed_vial_without_its_opening_is_refused_naming_the_draws(
    fuzzed_clinic: FuzzedClinic,
) -> None:
    url, token, vials = fuzzed_clinic
    status, answer = api(url, "/sessions", token, _session(draws=[{"vial": vials[0], "units": 40}]))
    assert status == 400
    assert answer == {
        "detail": f"draws: vial {vials[0]} is sealed; record its reconstitution (openings) in the same session"
    }


def test_a_session_dated_tomorrow_is_refused_naming_the_date(fuzzed_clinic: FuzzedClinic) -> None:
    url, token, _ = fuzzed_clinic
    tomorrow = (date.today() + timedelta(days=2)).isoformat()  # two days: whatever the clinic's time zone
    status, answer = api(url, "/sessions", token, _session(date=tomorrow))
    assert (status, answer) == (400, {"detail": "date: is in the future; record a session once it is given"})


def test_a_nul_character_in_a_query_or_an_address_is_refused_naming_it(fuzzed_clinic: FuzzedClinic) -> None:
    url, token, _ = fuzzed_clinic
    assert _status(url, "/patients?q=FICT%00", token) == 400
    assert _status(url, "/patients/FICT%00-FUZZ-1", token) == 400


def _status(url: str, path: str, token: str) -> int:
    request = urllib.request.Request(f"{url}/api{path}", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def _post_raw(url: str, path: str, token: str, body: bytes) -> tuple[int, object]:
    request = urllib.request.Request(
        f"{url}/api{path}",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


FUZZ = settings(max_examples=3, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def test_no_request_gets_a_server_error(api_schema: schemathesis.BaseSchema, fuzzed_clinic: FuzzedClinic) -> None:
    """Each operation in turn, with requests that fit its schema and requests that do not."""
    url, token, _ = fuzzed_clinic
    operations = [found.ok() for found in api_schema.get_all_operations()]
    # Every route of the API is fuzzed: one added is fuzzed without a change here.
    fuzzed = {f"{operation.method.upper()} {operation.path}" for operation in operations}
    assert {
        "POST /api/sessions",
        "POST /api/sessions/{session_id}/correction",
        "GET /api/patients/{chart_key}",
    } <= fuzzed
    answers: Counter[int] = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def answered_without_a_server_error(case: schemathesis.Case) -> None:
                response = case.call_and_validate(
                    base_url=url,
                    headers={"Authorization": f"Bearer {token}"},
                    checks=[not_a_server_error],
                    timeout=30,
                )
                answers[response.status_code] += 1

            answered_without_a_server_error()
    # The requests reached the views, signed in: some were answered, some refused for what they held.
    assert answers[200], answers
    assert answers[400] + answers[422], answers
    assert answers[401] == 0, answers
