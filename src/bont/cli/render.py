"""Readable Rich tables of the documents the services produce.

Figures whose grade is ``unverified`` are marked with a dagger so that nobody mistakes them for label facts.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bont.domain.evidence import Grade
from bont.services.audit import AuditRow
from bont.services.documents import DECISION_SUPPORT_NOTICE

UNVERIFIED_MARK = "†"


def _cells(*values: str) -> list[str]:
    """Table cells hold data, never Rich markup: "[label]" in a citation must print as written."""
    return [escape(value) for value in values]


def _say(console: Console, text: str, style: str | None = None) -> None:
    console.print(text, markup=False, highlight=False, style=style)


def _amount(value: Any, unit: str = "U") -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        if "units_per_kg" in value:
            return f"lesser of {value['units_per_kg']} U/kg or {value['cap']} U"
        return f"{value['min']}–{value['max']} {unit}".strip()
    return f"{value} {unit}".strip()


def _mark(source: dict[str, Any] | None) -> str:
    return f" {UNVERIFIED_MARK}" if source and source["grade"] == Grade.UNVERIFIED else ""


def _cite(source: dict[str, Any] | None) -> str:
    if source is None:
        return ""
    where = f" {source['locator']}" if source["locator"] else ""
    said = f": “{source['wording']}”" if source.get("wording") else ""
    return f"{source['id']}{where} [{source['grade']}]{said}"


def _notice(console: Console) -> None:
    console.print(
        f"\n[dim]{UNVERIFIED_MARK} unverified: shown for reference, never a hard limit. {DECISION_SUPPORT_NOTICE}[/]"
    )


def products_table(console: Console, products: list[dict[str, Any]]) -> None:
    table = Table(title="Botulinum toxin products (units are not interchangeable between products)")
    for column in ("id", "brand", "serotype", "vials (U)", "HCPCS", "approved indications"):
        table.add_column(column)
    for p in products:
        table.add_row(
            *_cells(
                p["id"],
                p["brand"],
                p["serotype"],
                ", ".join(str(v) for v in p["vial_sizes_units"]),
                p["hcpcs"],
                ", ".join(p["approved_indications"]),
            )
        )
    console.print(table)


def product(console: Console, p: dict[str, Any]) -> None:
    _say(
        console,
        f"{p['brand']} ({p['established_name']}), {p['manufacturer']}; serotype {p['serotype']}, {p['formulation']}",
        "bold",
    )
    _say(console, f"Label: {p['label']['reference']}")
    _say(console, f"Boxed warning: {p['boxed_warning']}", "red")
    vials = Table(title="Vials")
    for column in ("units", "fill", "NDC", "source"):
        vials.add_column(column)
    for vial in p["vials"]:
        fill = f"{vial['solution_ml']} mL solution" if vial["solution_ml"] else "powder"
        vials.add_row(
            *_cells(
                str(vial["units"]),
                fill,
                (vial["ndc"] or "not recorded") + _mark(vial["ndc_source"]),
                _cite(vial["ndc_source"]),
            )
        )
    console.print(vials)
    _say(console, f"Diluent: {p['diluent']}{_mark(p['figure_sources'].get('diluent'))}")
    if p["reconstitution"]:
        table = Table(title="Reconstitution")
        for column in ("vial (U)", "diluent (mL)", "U/mL", "U per 0.1 mL", "source"):
            table.add_column(column)
        for row in p["reconstitution"]:
            table.add_row(
                *_cells(
                    str(row["vial_units"]),
                    str(row["diluent_ml"]),
                    str(row["units_per_ml"]),
                    f"{row['units_per_0_1_ml']}{_mark(row['source'])}",
                    _cite(row["source"]),
                )
            )
        console.print(table)
    sources = p["figure_sources"]
    _say(console, f"Unopened storage: {p['storage_unopened']}{_mark(sources.get('storage_unopened'))}")
    hours = p["beyond_use_hours"]
    _say(
        console,
        "Beyond-use time after reconstitution: "
        + (f"{hours} h{_mark(sources.get('beyond_use_hours'))}" if hours is not None else "not recorded")
        + (f"; {p['beyond_use_storage']}" if p["beyond_use_storage"] else ""),
    )
    _say(console, f"Excipients: {', '.join(e['allergen'] + _mark(e['source']) for e in p['excipients'])}")
    hcpcs = p["hcpcs"]
    _say(console, f"Billing: HCPCS {hcpcs['code']}, 1 billing unit = {hcpcs['units_per_billing_unit']} U")
    approvals = Table(title="FDA-approved indications")
    for column in ("indication", "population", "ages", "source"):
        approvals.add_column(column)
    for a in p["approvals"]:
        approvals.add_row(*_cells(a["indication"], a["population"], a["ages"]["text"], _cite(a["source"])))
    console.print(approvals)
    if p["limits"]:
        limits = Table(title="Product-wide dose limits")
        for column in ("population", "maximum", "per", "scope", "source"):
            limits.add_column(column)
        for limit in p["limits"]:
            scope = limit["scope"] if not limit["indications"] else ", ".join(limit["indications"])
            limits.add_row(
                *_cells(
                    limit["population"],
                    _amount(limit["maximum_units"]) + _mark(limit["source"]),
                    limit["window"] or "session",
                    scope,
                    _cite(limit["source"]),
                )
            )
        console.print(limits)
    _notice(console)


def indications_table(console: Console, indications: list[dict[str, Any]]) -> None:
    table = Table(title="Indications")
    table.add_column("id", no_wrap=True)
    for column in ("populations", "ICD-10-CM", "approved for"):
        table.add_column(column)
    for i in indications:
        table.add_row(
            *_cells(
                i["id"],
                ", ".join(i["populations"]),
                ", ".join(i["icd10"][:2]) + (" …" if len(i["icd10"]) > 2 else ""),
                ", ".join(i["approved_brands"]) or "off-label only",
            )
        )
    console.print(table)


def indication(console: Console, i: dict[str, Any]) -> None:
    _say(console, f"{i['name']} ({i['id']})", "bold")
    _say(console, i["summary"])
    _say(
        console,
        "ICD-10-CM: " + "; ".join(f"{c['code']} {c['description']}{_mark(c['source'])}" for c in i["icd10_detail"]),
    )
    if i["cpt"]:
        _say(
            console,
            "CPT: " + "; ".join(f"{c['code']} {c['description']}{_mark(c['source'])}" for c in i["cpt"]),
        )
    statuses = Table(title="US label status")
    for column in ("product", "status", "populations", "basis"):
        statuses.add_column(column)
    for s in i["statuses"]:
        statuses.add_row(
            *_cells(f"{s['brand']} ({s['product']})", s["status"], ", ".join(s["populations"]), s["explanation"])
        )
    console.print(statuses)
    for p in i["protocols"]:
        _protocol(console, p)
    if not i["protocols"]:
        console.print("[yellow]No dosing protocol is recorded for this indication (see the evidence below).[/]")
    if i["evidence"]:
        console.print("[bold]Evidence[/]")
        for e in i["evidence"]:
            level = f" ({e['level']})" if e["level"] else ""
            _say(console, f" • {e['source']['reference']}{level}: {e['summary']}")
    _notice(console)


def _protocol(console: Console, p: dict[str, Any]) -> None:
    sources = p["figure_sources"]
    status = "[green]approved[/]" if p["status"] == "approved" else "[yellow]off-label[/]"
    total = p["total_units"]
    per_kg = p["total_units_per_kg"]
    dose = _amount(total) + _mark(sources.get("total_units")) if total is not None else ""
    if per_kg is not None:
        dose = (dose + "; " if dose else "") + _amount(per_kg, "U/kg") + _mark(sources.get("total_units_per_kg"))
    table = Table(
        title=f"{p['product']} · {p['population']}{' · ' + p['variant'] if p['variant'] else ''} · {p['title']}",
        caption=f"{status}; {p['route']}; guidance: {', '.join(p['guidance'])}; ages {p['ages']['text']}",
    )
    for column in ("muscle", "side", "units", "U/kg", "sites", "note"):
        table.add_column(column)
    for m in p["muscles"]:
        table.add_row(
            *_cells(
                m["name"] + (" (optional)" if m["optional"] else ""),
                m["side"],
                (_amount(m["units"], "") if m["units"] is not None else "—") + _mark(m["source"]),
                _amount(m["units_per_kg"], "") if m["units_per_kg"] is not None else "—",
                _amount(m["sites"], "") if m["sites"] is not None else "—",
                m["note"] or "",
            )
        )
    console.print(table)
    facts = [f"total {dose}" if dose else "total: not fixed by the source"]
    if p["sites"] is not None:
        facts.append(f"{_amount(p['sites'], 'sites')}")
    maxima = p["maxima"]
    if maxima["session"] is not None:
        facts.append(f"session maximum {_amount(maxima['session'])}{_mark(sources.get('session_maximum'))}")
    if maxima["per_site_units"] is not None:
        facts.append(f"≤{maxima['per_site_units']} U per site")
    if maxima["per_site_volume_ml"] is not None:
        facts.append(f"≤{maxima['per_site_volume_ml']} mL per site")
    if maxima["cumulative"] is not None:
        facts.append(f"≤{maxima['cumulative']['units']} U in any {maxima['cumulative']['window']}")
    interval = p["min_interval_days"]
    facts.append(
        f"retreat no sooner than {interval} days{_mark(sources.get('min_interval_days'))}"
        if interval is not None
        else "no minimum retreatment interval recorded"
    )
    _say(console, "  " + "; ".join(facts))
    for band in p["weight_bands"]:
        below = f"<{band['below_kg']}" if band["below_kg"] is not None else "and over"
        split = ", ".join(f"{m} {u} U/side" for m, u in band["muscle_units_per_side"].items())
        _say(
            console,
            f"  {band['min_kg']} kg {below}: {band['total_units']} U{(' (' + split + ')') if split else ''}",
        )
    for d in p["dilutions"]:
        _say(
            console,
            f"  dilution: {d['vial_units']} U in {d['diluent_ml']} mL = {d['units_per_0_1_ml']} U per 0.1 mL",
        )
    for note in p["notes"]:
        _say(console, f"  note: {note['text']}{_mark(note['source'])}")
    _say(console, "  sources: " + "; ".join(_cite(s) for s in p["sources"]), "dim")


def muscles_table(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="Injection targets")
    for column in ("id", "name", "region", "kind", "paired"):
        table.add_column(column)
    for r in rows:
        table.add_row(*_cells(r["id"], r["name"], r["region"], r["kind"], "yes" if r["paired"] else "no"))
    console.print(table)


def audit(console: Console, rows: list[AuditRow], counts: Counter[Grade]) -> None:
    summary = Table(title="Cited figures by grade")
    summary.add_column("grade")
    summary.add_column("figures", justify="right")
    summary.add_column("may drive a blocking rule")
    for grade in Grade:
        summary.add_row(*_cells(str(grade), str(counts.get(grade, 0)), "yes" if grade.may_block else "no"))
    console.print(summary)
    table = Table(title="Figures")
    for column in ("grade", "kind", "figure", "value", "wording", "source", "note"):
        table.add_column(column, overflow="fold")
    for row in rows:
        source = row.source + (f" {row.locator}" if row.locator else "")
        kind = f"{row.kind}{' (blocks)' if row.blocks else ''}" if row.kind else ""
        wording = f"“{row.wording}”" if row.wording else ""
        table.add_row(*_cells(str(row.grade), kind, row.path, row.value, wording, source, row.note or ""))
    console.print(table)


VERDICT_STYLES = {"ok": "bold green", "warn": "bold yellow", "block": "bold red"}


def _findings(console: Console, findings: list[dict[str, Any]], title: str = "Findings") -> None:
    if not findings:
        return
    table = Table(title=title)
    for column in ("severity", "code", "message", "source"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(*_cells(f["severity"], f["code"], f["message"], _cite(f["source"])))
    console.print(table)
    explicit = [f["acknowledgement"] for f in findings if f.get("acknowledgement")]
    if explicit:
        # An unverified limit exceeded: said apart from the table so that nobody misses it.
        console.print("[bold yellow]Needs an explicit acknowledgement before recording:[/]")
        for text in explicit:
            console.print(f"  † {escape(text)}")


def plan(console: Console, p: dict[str, Any]) -> None:
    who = ", ".join(
        part
        for part in (
            p["population"],
            f"{p['age_years']} years" if p["age_years"] is not None else "",
            f"{p['weight_kg']} kg" if p["weight_kg"] is not None else "",
        )
        if part
    )
    _say(console, f"Plan: {p['brand']} ({p['product']}) for {p['indication']}, {who}, {p['date']}", "bold")
    _say(
        console,
        f"{p['protocol']['title']} [{p['protocol']['status']}]; {p['route']}; guidance: {', '.join(p['guidance'])}",
    )
    names = {m["muscle"]: m["name"] for m in p["muscles"]}
    table = Table(title=f"{p['total_units']} U in {len(p['sites'])} sites")
    for column in ("muscle", "side", "sites", "units per site", "mL per site", "units"):
        table.add_column(column, justify="left" if column in ("muscle", "side") else "right")
    # Consecutive identical sites print as one row, as a nurse reads the plan.
    for (muscle, side, units, volume, exact), group in groupby(
        p["sites"], key=lambda s: (s["muscle"], s["side"], s["units"], s["volume_ml"], s["exact_volume_ml"])
    ):
        count = len(list(group))
        shown = str(volume) if volume == exact else f"{volume} (≈{round(exact, 4)})"
        table.add_row(*_cells(names[muscle], side, str(count), str(units), shown, str(round(units * count, 4))))
    console.print(table)
    vials = Table(title=f"Reconstitution: {p['concentration']['units_per_0_1_ml']} U per 0.1 mL")
    for column in ("vial (U)", "diluent (mL)", "drawn (U)", "left (U)"):
        vials.add_column(column, justify="right")
    for vial in p["vials"]:
        diluent = "ready to use" if vial["diluent_ml"] is None else str(vial["diluent_ml"])
        vials.add_row(*_cells(str(vial["vial_units"]), diluent, str(vial["units_drawn"]), str(vial["units_left"])))
    console.print(vials)
    prepared = p.get("preparation")
    if prepared:
        _preparation(console, prepared)
    syringes = "" if prepared else f"{p['syringes_1_ml']} syringe(s) of 1 mL; "
    _say(
        console,
        f"Units drawn {p['units_drawn']} U; waste {p['waste_units']} U; {syringes}"
        f"HCPCS {p['billing']['hcpcs']} (1 billing unit = {p['billing']['units_per_billing_unit']} U)",
    )
    _findings(console, p["notes"], "Planning notes")
    _say(console, f"safety check: {p['verdict']}", VERDICT_STYLES[p["verdict"]])
    _findings(console, p["findings"])
    _say(console, "sources: " + "; ".join(_cite(s) for s in p["sources"]), "dim")
    _notice(console)


def _preparation(console: Console, prep: dict[str, Any]) -> None:
    """The label's two-step preparation as numbered steps, in the order a nurse carries them out."""
    vials = (
        f"each of {prep['vials']} vials of {prep['vial_units']} U"
        if prep["vials"] > 1
        else f"the {prep['vial_units']} U vial"
    )
    steps = [
        f"Reconstitute {vials} with {prep['vial_diluent_ml']} mL of diluent.",
        f"Draw {prep['draw_ml']} mL of it into each of {prep['syringes']} syringe(s) of {prep['syringe_ml']} mL"
        + (f", then add {prep['saline_ml']} mL of saline to each." if prep["saline_ml"] else "; no saline is added."),
        f"Each syringe holds {prep['syringe_ml']} mL with {round(prep['units_per_syringe'], 2)} U; "
        f"in all {prep['final_volume_ml']} mL at {round(prep['units_per_ml'], 2)} U per mL.",
    ]
    if prep["injection_ml"] is not None:
        steps.append(
            f"Inject {prep['injections']} × {prep['injection_ml']} mL, about {round(prep['units_per_injection'], 2)} U "
            "each."
        )
    _say(console, "Preparation", "bold")
    for number, step in enumerate(steps, start=1):
        _say(console, f"  {number}. {step}")
    _say(console, f"  source: {_cite(prep['source'])}", "dim")


def dilution(console: Console, d: dict[str, Any]) -> None:
    _say(
        console,
        f"{d['vial_units']} U in {d['diluent_ml']} mL = {d['units_per_ml']} U/mL "
        f"= {d['units_per_0_1_ml']} U per 0.1 mL",
        "bold",
    )
    _say(console, "listed in the label" if d["in_label"] else "not a verified label dilution")
    if d["source"]:
        _say(console, f"source: {_cite(d['source'])}", "dim")
    _findings(console, d["findings"])
    _notice(console)


def safety(console: Console, report: dict[str, Any]) -> None:
    _say(console, f"verdict: {report['verdict']}", VERDICT_STYLES[report["verdict"]])
    if report["protocol"]:
        _say(console, f"checked against {report['protocol']}", "dim")
    _findings(console, report["findings"])
    _notice(console)


def next_sessions(console: Console, rows: list[dict[str, Any]]) -> None:
    """When each indication's next session is allowed (the check does not block repeating the last one) and
    recommended (no interval or cumulative finding)."""
    if not rows:
        _say(console, "no session recorded")
        return
    table = Table(title="Next session")
    for column in ("indication", "product", "last", "last units", "earliest", "recommended", "limited by"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            *_cells(
                row["indication"],
                row["product"],
                row["last"],
                str(row["last_units"]),
                row["earliest"] or "blocked (18 months)",
                row["recommended"] or "not within 18 months",
                ", ".join(row["limited_by"]),
            )
        )
    console.print(table)
    _notice(console)
