"""The printable one-page procedure sheet for a plan: what a nurse pins beside the tray."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("bont.interop", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_procedure_sheet(plan: dict[str, Any]) -> str:
    """HTML for a plan document (``bont.services.documents.plan_document``); patient fields are left blank."""
    names = {muscle["muscle"]: muscle["name"] for muscle in plan["muscles"]}
    groups = [
        {"name": names[muscle], "sites": list(sites)}
        for muscle, sites in groupby(plan["sites"], key=lambda site: site["muscle"])
    ]
    for group in groups:
        group["units"] = sum(site["units"] for site in group["sites"])
        group["volume_ml"] = round(sum(site["volume_ml"] for site in group["sites"]), 2)
    return _environment().get_template("procedure_sheet.html").render(plan=plan, groups=groups)
