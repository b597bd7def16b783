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
    # One line per muscle, side and dose, with a box to tick for every site: the sheet stays on one page.
    rows = []
    for (muscle, optional, side, units, volume), sites in groupby(
        plan["sites"], key=lambda s: (s["muscle"], s["optional"], s["side"], s["units"], s["volume_ml"])
    ):
        count = len(list(sites))
        rows.append(
            {
                "name": names[muscle] + (" (optional)" if optional else ""),
                "side": side,
                "sites": count,
                "units": units,
                "volume_ml": volume,
                "total": round(units * count, 4),
            }
        )
    return _environment().get_template("procedure_sheet.html").render(plan=plan, rows=rows)
