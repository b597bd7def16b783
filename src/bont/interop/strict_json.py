"""Strict JSON: the one reader of every JSON document bont takes in, the command line's documents (check,
session, patient file) and the API's request bodies alike.

Python's ``json`` is lenient where a clinical record must not be: a key given twice silently keeps the last
value (``patient_mrn`` twice would record the session for the second patient), ``NaN`` and ``Infinity`` are
accepted, a 5,000-digit number is converted and reaches arithmetic, and strings may hold NUL characters and
lone surrogates that no database stores. Here each of these is refused with a ``FieldError`` naming the key or
the place (``(document)`` for the document as a whole); the message never repeats a value, which may be patient
data.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from bont.domain.errors import FieldError

DOCUMENT = "(document)"
MAX_DOCUMENT_BYTES = 5_000_000
MAX_DEPTH = 32  # the deepest bont document (check → plan → sites → one site) is about five levels deep
MAX_NUMBER_DIGITS = 30  # more than any dose, volume or id needs, far fewer than slow arithmetic down
MAX_KEY_SHOWN = 80
MAX_ID = 2**63 - 1  # the largest id a database row has: a signed 64-bit integer

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates left unpaired by the decoder


class JsonDocumentError(FieldError):
    """The document is not strict JSON; ``field`` names the key or ``(document)``."""


def loads(document: bytes | str) -> Any:
    """The value of a JSON document (numbers with a fraction or exponent as ``Decimal``); raises
    ``JsonDocumentError`` for invalid UTF-8, a document over 5 MB, invalid JSON, ``NaN`` or ``Infinity``, a key
    given twice in one object, a number of more than 30 digits, nesting deeper than 32, or a string (key or
    value) holding a NUL character or a lone surrogate."""
    text = _text(document)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_decimal,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as error:
        raise JsonDocumentError(DOCUMENT, f"is not valid JSON (line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise JsonDocumentError(DOCUMENT, f"is nested more than {MAX_DEPTH} levels deep") from None
    if "\\u" in text or _UNSTORABLE.search(text):
        _check_strings_and_depth(value)
    else:
        # Without an escape such as \u0000 or \ud800, no string can hold a NUL or a lone surrogate (the text
        # itself holds neither, and JSON refuses raw control characters): only the depth is left to check.
        _check_depth(value)
    return value


def _text(document: bytes | str) -> str:
    if isinstance(document, str):
        if len(document) > MAX_DOCUMENT_BYTES:
            raise JsonDocumentError(DOCUMENT, "is larger than 5 MB")
        return document
    if len(document) > MAX_DOCUMENT_BYTES:
        raise JsonDocumentError(DOCUMENT, "is larger than 5 MB")
    try:
        return document.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonDocumentError(DOCUMENT, f"is not valid UTF-8 (byte {error.start + 1})") from None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # built at C speed; the pairs are walked again only when a key was given twice
    if len(result) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonDocumentError(_shown(key), "given twice")
            seen.add(key)
    return result


def _shown(key: str) -> str:
    """A key as an error names it: keys are field names, but a document may put anything there."""
    printable = key.encode("unicode_escape", "backslashreplace").decode("ascii")
    return printable if len(printable) <= MAX_KEY_SHOWN else printable[:MAX_KEY_SHOWN] + "…"


def _digits(number: str) -> str:
    if len(number) > MAX_NUMBER_DIGITS and sum(character.isdigit() for character in number) > MAX_NUMBER_DIGITS:
        raise JsonDocumentError(DOCUMENT, f"holds a number of more than {MAX_NUMBER_DIGITS} digits")
    return number


def _integer(number: str) -> int:
    return int(_digits(number))


def _decimal(number: str) -> Decimal:
    return Decimal(_digits(number))


def _constant(name: str) -> Any:
    raise JsonDocumentError(DOCUMENT, f"holds {name}, which is not a JSON number")


def _check_strings_and_depth(value: Any) -> None:
    """Walk the parsed value without recursion, naming the place of the first string no database can store.
    The walk keeps each item's path (keys and indexes) and spells out only a refused item's place: an API body
    has hundreds of keys, and naming each cost more than reading the document."""
    pending: list[tuple[Any, tuple[str | int, ...], int]] = [(value, (), 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise JsonDocumentError(DOCUMENT, f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                _check_string(item, _place(path))
        elif isinstance(item, dict):
            for key, inner in item.items():
                if _UNSTORABLE.search(key):
                    _check_string(key, _place((*path, key)))
                pending.append((inner, (*path, key), depth + 1))
        elif isinstance(item, list):
            for index, inner in enumerate(item):
                pending.append((inner, (*path, index), depth + 1))


def _check_depth(value: Any) -> None:
    """As ``_check_strings_and_depth``, for the depth alone: the walk goes down containers only, a level at a
    time (a list per level costs less than an entry per item)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [
            inner
            for item in level
            for inner in (item.values() if isinstance(item, dict) else item)
            if isinstance(inner, dict | list)
        ]
    if any(level):  # a container at depth MAX_DEPTH that holds anything
        raise JsonDocumentError(DOCUMENT, f"is nested more than {MAX_DEPTH} levels deep")


def _place(path: tuple[str | int, ...]) -> str:
    """The place an error names for an item at ``path``: ``plan.sites.3.muscle``, each key shown as
    ``_shown`` shows it."""
    place = DOCUMENT
    for step in path:
        if isinstance(step, int):
            place = str(step) if place == DOCUMENT else f"{place}.{step}"
        else:
            place = _shown(step if place == DOCUMENT else f"{place}.{step}")
    return place


def _check_string(text: str, place: str) -> None:
    found = _UNSTORABLE.search(text)
    if found is not None:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate (not valid Unicode)"
        raise JsonDocumentError(place, f"contains {what}")
