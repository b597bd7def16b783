"""What every command shares: the consoles, the --json option, and input parsing that names the option
and never repeats its value (it may be a patient's weight, age or birth date)."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from bont.domain.planning import MuscleChoice, SideChoice

stdout = Console()
stderr = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]

MAXIMUM_NUMBER = Decimal(1_000_000)


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr and the exit code: 2 bad input, 1 the knowledge base failed to load."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def decimal_option(option: str, text: str | None, *, positive: bool = True) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"{option}: is not a number")
    if not value.is_finite() or value > MAXIMUM_NUMBER or value < 0 or (positive and value <= 0):
        fail(f"{option}: must be a number more than 0 and at most 1000000")
    return value


def date_option(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    return required_date(option, text)


def required_date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: is not a date (YYYY-MM-DD)")


def read_text(option: str, path: Path) -> str:
    """A file's text, or standard input for "-"; the message never names the file (it may carry a name)."""
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"{option}: cannot read the file ({error.strerror})")
    except UnicodeDecodeError:
        fail(f"{option}: the file is not UTF-8 text")


MUSCLE_SPEC = re.compile(
    r"^(?P<muscle>[^:=/]+?)(?::(?P<side>left|right|both))?(?:=(?P<units>[^/]+))?(?:/(?P<sites>[^/]+))?$"
)


def muscle_choices(option: str, specs: list[str]) -> tuple[MuscleChoice, ...]:
    """``--muscle MUSCLE[:left|right|both][=UNITS][/SITES]`` choices, each validated (exit 2 naming the option)."""
    choices = []
    for spec in specs:
        match = MUSCLE_SPEC.match(spec.strip())
        if match is None:
            fail(f"{option}: '{spec}' is not MUSCLE:SIDE=UNITS/SITES (e.g. biceps-brachii:left=100/4)", 2)
        sites_text = match["sites"]
        if sites_text is not None and not sites_text.isdigit():
            fail(f"{option}: sites must be a whole number, got '{sites_text}'", 2)
        sites = int(sites_text) if sites_text is not None else None
        if sites == 0:
            fail(f"{option}: {match['muscle']} needs at least 1 site", 2)
        choices.append(
            MuscleChoice(
                muscle=match["muscle"].strip(),
                side=SideChoice(match["side"]) if match["side"] else None,
                units=decimal_option(option, match["units"]),
                sites=sites,
            )
        )
    return tuple(choices)
