"""The printable one-page procedure sheet for a plan: what a nurse pins beside the tray.

It names the patient (or, with none chosen, prints labelled lines to fill by hand and says so), and a plan
the safety check blocks carries a banner no one can miss."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("bont.interop", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def site_rows(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per muscle, side and dose with its number of sites (a plan document's sites grouped), so a
    sheet or a page stays short. Lines are numbered from 1: the anatomic canvas draws each site with the number
    of its line."""
    names = {muscle["muscle"]: muscle["name"] for muscle in plan["muscles"]}
    rows: list[dict[str, Any]] = []
    for (muscle, optional, side, units, volume), sites in groupby(
        plan["sites"], key=lambda s: (s["muscle"], s["optional"], s["side"], s["units"], s["volume_ml"])
    ):
        count = len(list(sites))
        rows.append(
            {
                "number": len(rows) + 1,
                "name": names[muscle] + (" (optional)" if optional else ""),
                "side": side,
                "sites": count,
                "units": units,
                "volume_ml": volume,
                "total": round(units * count, 4),
            }
        )
    return rows


def site_numbers(rows: list[dict[str, Any]]) -> list[int]:
    """The line number of each of the plan document's sites, in the document's order (``site_rows``' lines)."""
    return [row["number"] for row in rows for _ in range(row["sites"])]


def render_procedure_sheet(
    plan: dict[str, Any],
    header: dict[str, Any] | None = None,
    body_map: str = "",
    style_nonce: str | None = None,
) -> str:
    """HTML for a plan document (``bont.services.documents.plan_document``) with its header
    (``bont.services.report_documents.sheet_header_document``; without one, the identity is left to fill by
    hand). ``body_map`` is the plan's anatomic canvas, already rendered as HTML by the web app's own template
    (trusted markup, inserted as it is). ``style_nonce`` lets a page served under a strict content security
    policy keep the sheet's styles."""
    header = header or {}
    # A box to tick for every site, one line per muscle, side and dose: the sheet stays on one page.
    return (
        _environment()
        .get_template("procedure_sheet.html")
        .render(
            plan=plan,
            rows=site_rows(plan),
            indication=header.get("indication", plan["indication"]),
            patient=header.get("patient"),
            diagnoses=header.get("diagnoses", []),
            no_diagnosis=header.get("no_diagnosis", ""),
            clinician=header.get("clinician"),
            body_map=Markup(body_map),  # rendered and escaped by the web app's template
            style_nonce=style_nonce,
        )
    )
