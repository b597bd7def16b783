"""What every command shares: the consoles, the --json option, and input parsing that names the option
and never repeats its value (it may be a patient's weight, age or birth date)."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from bont.domain.planning import MuscleChoice
from bont.interop.plan_options import OptionError, parse_date, parse_decimal, parse_muscles

stdout = Console()
stderr = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr and the exit code: 2 bad input, 1 the knowledge base failed to load."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")


def decimal_option(option: str, text: str | None, *, positive: bool = True) -> Decimal | None:
    try:
        return parse_decimal(option, text, positive=positive)
    except OptionError as error:
        fail(f"{error.field}: {error.problem}")


def date_option(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    return required_date(option, text)


def required_date(option: str, text: str) -> date:
    try:
        parsed = parse_date(option, text)
    except OptionError as error:
        fail(f"{error.field}: {error.problem}")
    assert parsed is not None
    return parsed


def read_text(option: str, path: Path) -> str:
    """A file's text, or standard input for "-"; the message never names the file (it may carry a name)."""
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"{option}: cannot read the file ({error.strerror})")
    except UnicodeDecodeError:
        fail(f"{option}: the file is not UTF-8 text")


def muscle_choices(option: str, specs: list[str]) -> tuple[MuscleChoice, ...]:
    """``--muscle MUSCLE[:left|right|both][=UNITS][/SITES]`` choices, each validated (exit 2 naming the option)."""
    try:
        return parse_muscles(option, specs)
    except OptionError as error:
        fail(f"{error.field}: {error.problem}")
