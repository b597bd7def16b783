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


def site_rows(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per muscle, side and dose with its number of sites (a plan document's sites grouped), so a
    sheet or a page stays short."""
    names = {muscle["muscle"]: muscle["name"] for muscle in plan["muscles"]}
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
    return rows


def render_procedure_sheet(plan: dict[str, Any], style_nonce: str | None = None) -> str:
    """HTML for a plan document (``bont.services.documents.plan_document``); patient fields are left blank.
    ``style_nonce`` lets a page served under a strict content security policy keep the sheet's styles."""
    # A box to tick for every site, one line per muscle, side and dose: the sheet stays on one page.
    return (
        _environment()
        .get_template("procedure_sheet.html")
        .render(plan=plan, rows=site_rows(plan), style_nonce=style_nonce)
    )
