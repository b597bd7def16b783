"""The ``bont`` command line.

Every command prints a readable table, or with ``--json`` exactly one JSON document on stdout.
Exit codes: 0 success, 1 the knowledge base failed to load, 2 bad input (an unknown id, a bad option).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from bont.bootstrap import build_knowledge
from bont.cli import render
from bont.domain.errors import KnowledgeError, UnknownIdError
from bont.domain.evidence import Grade
from bont.domain.knowledge import KnowledgeBase
from bont.services import documents
from bont.services.audit import audit

app = typer.Typer(
    name="bont",
    help="Decision support for the therapeutic use of botulinum toxin. Not a prescriber: the clinician decides.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
product_app = typer.Typer(help="One product in detail.", no_args_is_help=True)
indication_app = typer.Typer(help="One indication in detail.", no_args_is_help=True)
knowledge_app = typer.Typer(help="The knowledge base itself: audit and validation.", no_args_is_help=True)
app.add_typer(product_app, name="product")
app.add_typer(indication_app, name="indication")
app.add_typer(knowledge_app, name="knowledge")

stdout = Console()
stderr = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]


def _fail(message: str, code: int) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _knowledge() -> KnowledgeBase:
    try:
        return build_knowledge()
    except KnowledgeError as error:
        _fail(f"the knowledge base failed to load: {error}", 1)


def _emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


@app.command("products")
def list_products(as_json: JsonOption = False) -> None:
    """List the botulinum toxin products."""
    knowledge = _knowledge()
    summaries = [documents.product_summary(product) for product in knowledge.products.values()]
    if as_json:
        _emit_json(summaries)
    else:
        render.products_table(stdout, summaries)


@product_app.command("show")
def show_product(product_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOption = False) -> None:
    """Show one product: vials, NDCs, reconstitution, storage, billing, approvals and limits."""
    knowledge = _knowledge()
    try:
        product = knowledge.product(product_id)
    except UnknownIdError as error:
        _fail(str(error), 2)
    document = documents.product_document(product)
    if as_json:
        _emit_json(document)
    else:
        render.product(stdout, document)


@app.command("indications")
def list_indications(as_json: JsonOption = False) -> None:
    """List the indications with their codes and approved products."""
    knowledge = _knowledge()
    summaries = [documents.indication_summary(i, knowledge) for i in knowledge.indications.values()]
    if as_json:
        _emit_json(summaries)
    else:
        render.indications_table(stdout, summaries)


@indication_app.command("show")
def show_indication(indication_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOption = False) -> None:
    """Show one indication: codes, label status per product, and every protocol with its sources."""
    knowledge = _knowledge()
    try:
        indication = knowledge.indication(indication_id)
    except UnknownIdError as error:
        _fail(str(error), 2)
    document = documents.indication_document(indication, knowledge)
    if as_json:
        _emit_json(document)
    else:
        render.indication(stdout, document)


@app.command("muscles")
def list_muscles(as_json: JsonOption = False) -> None:
    """List the injection targets (muscles, glands, skin areas) with their body regions."""
    knowledge = _knowledge()
    rows = [
        {
            "id": target.id,
            "name": target.name,
            "region": str(target.region),
            "kind": str(target.kind),
            "paired": target.paired,
            "aliases": list(target.aliases),
            "diagram": [
                {"view": str(p.view), "x": documents.number(p.x), "y": documents.number(p.y)} for p in target.diagram
            ],
        }
        for target in knowledge.targets.values()
    ]
    if as_json:
        _emit_json(rows)
    else:
        render.muscles_table(stdout, rows)


@knowledge_app.command("audit")
def audit_knowledge(
    grade: Annotated[Grade | None, typer.Option(help="Only figures of this grade.", case_sensitive=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """List every cited figure by grade: what rests on the label, on a summary, a study, or nothing verified."""
    knowledge = _knowledge()
    rows, counts = audit(knowledge, grade)
    if as_json:
        _emit_json(
            {
                "counts": {str(g): counts.get(g, 0) for g in Grade},
                "figures": [
                    {
                        "path": row.path,
                        "value": row.value,
                        "grade": str(row.grade),
                        "source": row.source,
                        "locator": row.locator,
                        "note": row.note,
                    }
                    for row in rows
                ],
            }
        )
    else:
        render.audit(stdout, rows, counts)


@knowledge_app.command("validate")
def validate_knowledge(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="A folder of knowledge files to validate instead of the one in use.", file_okay=False),
    ] = None,
) -> None:
    """Load and validate every knowledge file; on a problem, name the file and the field and exit 1."""
    try:
        knowledge = build_knowledge(data_dir)
    except KnowledgeError as error:
        _fail(str(error), 1)
    protocols = sum(1 for _ in knowledge.protocols())
    figures = sum(1 for _ in knowledge.figures())
    stdout.print(
        f"ok: {len(knowledge.products)} products, {len(knowledge.indications)} indications, "
        f"{protocols} protocols, {len(knowledge.targets)} targets, {figures} cited figures"
    )


def main() -> None:
    app()
