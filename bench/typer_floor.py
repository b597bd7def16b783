"""Not a benchmark: Typer's own floor for ``bench/cli_startup.py``. A Typer app with the operator option and one
command, ``plan``, that takes the options of ``bont plan`` (the same names, types and defaults) and does nothing:
what Typer alone costs to start, parse and coerce those options (it builds a pydantic adapter per option), with
no bont import, no knowledge base and no output. Keep its options in step with ``bont plan``'s.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Population(StrEnum):
    ADULT = "adult"
    PEDIATRIC = "pediatric"


class SideChoice(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


app = typer.Typer(name="bont", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def named_operator(as_user: Annotated[str | None, typer.Option("--as", envvar="BONT_OPERATOR")] = None) -> None:
    """The operator option of every ``bont`` command."""


@app.command("plan")
def plan(
    indication: Annotated[str, typer.Option()],
    product: Annotated[str, typer.Option()],
    on: Annotated[str | None, typer.Option("--date")] = None,
    population: Annotated[Population | None, typer.Option()] = None,
    variant: Annotated[str | None, typer.Option()] = None,
    age: Annotated[str | None, typer.Option()] = None,
    birth_date: Annotated[str | None, typer.Option()] = None,
    weight_kg: Annotated[str | None, typer.Option()] = None,
    side: Annotated[SideChoice | None, typer.Option()] = None,
    muscle: Annotated[list[str] | None, typer.Option()] = None,
    optional: Annotated[list[str] | None, typer.Option()] = None,
    deviation_reason: Annotated[str | None, typer.Option()] = None,
    vial_units: Annotated[str | None, typer.Option()] = None,
    diluent_ml: Annotated[str | None, typer.Option()] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    output: Annotated[Path | None, typer.Option()] = None,
    patient: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """Parse the options of ``bont plan``, then nothing."""


if __name__ == "__main__":
    app()
