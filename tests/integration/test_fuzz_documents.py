"""Fuzzing the JSON documents bont reads (the check document, the session document and the patient file) with
hypothesis: whatever the bytes, each reader returns a value or raises ``FieldError`` naming where, never
anything else (a traceback on the command line, a 500 from the API). The examples are few and derandomized, so
that the run takes seconds and fails the same way twice; the cases are shaped after the valid documents in
``examples/``, so that most of them get past the JSON and into the fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.interop.check_document import read_check, read_patient_file
from bont.interop.session_document import read_session
from bont.services.clock import FixedClock

EXAMPLES = Path(__file__).parents[2] / "examples"
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CLOCK = FixedClock.on(date(2026, 11, 29))

# Values chosen because each broke a reader once somewhere: ids and numbers past 64 bits, dates at the ends of
# the calendar (a time zone moves them past year 9999), NUL, lone surrogates, NaN written as a string.
AWKWARD_VALUES = [
    2**63,
    -(2**63) - 1,
    10**30,
    "1e999999",
    "NaN",
    "-Infinity",
    "\x00",
    "\ud800",
    "",
    " ",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30",
    "x" * 3000,
]
AWKWARD = st.sampled_from(AWKWARD_VALUES)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**35), max_value=10**35)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.dates().map(date.isoformat)
    | st.datetimes().map(lambda moment: moment.isoformat())
    | AWKWARD
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=6,
)


def _example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return document


CHECK = _example("check-prior-adverse-event.json")
PATIENT_FILE = _example("patient-child.json")
SESSION = {
    **_example("session-given-by-nurse.json"),
    "draws": [{"vial": 1, "units": 40}],
    "openings": [{"vial": 1, "at": "2026-11-21T09:00", "diluent_ml": 4}],
    "discard": [1],
    "override_reason": "",
}


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """The document with a few of its values, at any depth, replaced, removed or joined by unknown keys."""
    result = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        holder: Any = result
        while True:
            keys = list(holder) if isinstance(holder, dict) else list(range(len(holder)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            inner = holder[key]
            if isinstance(inner, dict | list) and inner and draw(st.booleans()):
                holder = inner
                continue
            action = draw(st.sampled_from(["replace", "remove", "add"]))
            if action == "replace":
                holder[key] = draw(AWKWARD | VALUES)
            elif action == "remove" and isinstance(holder, dict):
                del holder[key]
            elif isinstance(holder, dict):
                holder[draw(st.text(max_size=12))] = draw(VALUES)
            break
    return result


def _encoded(value: Any) -> bytes:
    return json.dumps(value, default=str).encode("utf-8", "surrogatepass")


@st.composite
def documents(draw: st.DrawFn, document: dict[str, Any]) -> bytes:
    """The bytes of a mutated document, sometimes with a byte changed, a key repeated or a number lengthened;
    now and then, bytes of any kind."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "byte", "repeated", "digits", "any"]))
    if kind == "any":
        return draw(st.binary(max_size=200))
    encoded = _encoded(draw(mutated(document)))
    if kind == "byte" and encoded:
        at = draw(st.integers(min_value=0, max_value=len(encoded) - 1))
        return encoded[:at] + bytes([draw(st.integers(min_value=0, max_value=255))]) + encoded[at + 1 :]
    if kind == "repeated" and encoded.startswith(b"{") and len(encoded) > 2:
        first_key = next(iter(document))
        return b"{" + json.dumps(first_key).encode() + b": 1, " + encoded[1:]
    if kind == "digits":
        return encoded.replace(b"20", b"2" + b"0" * draw(st.integers(min_value=1, max_value=5000)), 1)
    return encoded


def _reads_or_names_a_field(read: Callable[[], object]) -> None:
    """Any exception but a ``FieldError`` naming a field fails the test with its traceback."""
    refusal: FieldError | None = None
    try:
        read()
    except FieldError as error:
        refusal = error
    assert refusal is None or refusal.field, "a refusal names the field"


def test_the_examples_read_as_they_are(knowledge: KnowledgeBase) -> None:
    read_check(_encoded(CHECK), CLOCK, knowledge)
    read_patient_file(_encoded(PATIENT_FILE), knowledge)
    read_session(_encoded(SESSION))


@FUZZ
@given(document=documents(CHECK))
def test_any_check_document_is_read_or_refused_naming_a_field(knowledge: KnowledgeBase, document: bytes) -> None:
    _reads_or_names_a_field(lambda: read_check(document, CLOCK, knowledge))


@FUZZ
@given(document=documents(PATIENT_FILE))
def test_any_patient_file_is_read_or_refused_naming_a_field(knowledge: KnowledgeBase, document: bytes) -> None:
    _reads_or_names_a_field(lambda: read_patient_file(document, knowledge))


@FUZZ
@given(document=documents(SESSION))
def test_any_session_document_is_read_or_refused_naming_a_field(document: bytes) -> None:
    _reads_or_names_a_field(lambda: read_session(document).to_command(1, CLOCK))


@pytest.mark.parametrize(
    "read",
    [
        lambda text, knowledge: read_check(text, CLOCK, knowledge),
        lambda text, knowledge: read_patient_file(text, knowledge),
        lambda text, knowledge: read_session(text),
    ],
    ids=["check", "patient-file", "session"],
)
def test_a_document_that_is_not_an_object_is_refused_as_a_whole(
    knowledge: KnowledgeBase, read: Callable[[bytes, KnowledgeBase], object]
) -> None:
    for document in (b"[]", b"1", b'"text"', b"null", b""):
        with pytest.raises(FieldError):
            read(document, knowledge)


def _places(value: Any, place: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every place in a document: each key of each object and each item of each list, at any depth."""
    inner: list[tuple[str | int, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            inner += [(*place, key), *_places(item, (*place, key))]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner += [(*place, index), *_places(item, (*place, index))]
    return inner


def _with(document: dict[str, Any], place: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(document))
    holder: Any = changed
    for step in place[:-1]:
        holder = holder[step]
    holder[place[-1]] = value
    return changed


def test_every_awkward_value_in_every_place_is_read_or_refused_naming_a_field(knowledge: KnowledgeBase) -> None:
    """Not left to chance: each awkward value put in each place of each document, one at a time."""
    readers: list[tuple[dict[str, Any], Callable[[bytes], object]]] = [
        (CHECK, lambda text: read_check(text, CLOCK, knowledge)),
        (PATIENT_FILE, lambda text: read_patient_file(text, knowledge)),
        (SESSION, lambda text: read_session(text).to_command(1, CLOCK)),
    ]
    for document, read in readers:
        for place in _places(document):
            for value in AWKWARD_VALUES:
                _reads_or_names_a_field(lambda: read(_encoded(_with(document, place, value))))  # noqa: B023
