"""Printed documents: the procedure sheet of the plan builder's plan and the continuation report (page and
PDF). What they say is assembled by ``bont.services.report_documents``; these views translate HTTP."""

from __future__ import annotations

from csp.constants import NONCE
from csp.decorators import csp_update
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from bont.bootstrap import build_knowledge, clock, outcome_records, patient_registry, user_accounts
from bont.domain.errors import UnknownIdError
from bont.interop.continuation_pdf import render_continuation_pdf
from bont.interop.procedure_sheet import render_procedure_sheet, site_numbers, site_rows
from bont.services.documents import plan_document
from bont.services.ports import UnknownPatientError
from bont.services.report_documents import (
    continuation_pdf_values,
    continuation_report_document,
    procedure_sheet_header,
    sheet_header_document,
)
from bont.web.access import IDENTIFIED, require_role, roles_of
from bont.web.audit_reads import Action, log_read
from bont.web.canvas import canvas, plan_sites
from bont.web.patient_banner import patient_banner
from bont.web.plan_form import read_plan_form
from bont.web.plots import outcome_plot


@require_role(*IDENTIFIED)
@csp_update({"style-src": [NONCE]})
def procedure_sheet(request: HttpRequest) -> HttpResponse:
    """The one-page procedure sheet of the plan builder's current plan, for printing: the patient's identity
    when an MRN was chosen, the anatomic canvas, and a banner when the safety check blocks the plan."""
    knowledge = build_knowledge()
    form = read_plan_form(knowledge, request.POST, clock().today())  # posted by the builder: no MRN in a URL
    if form.plan is None:  # nothing to print: back to the builder
        return redirect("plan")
    document = plan_document(form.plan, knowledge)
    header = procedure_sheet_header(
        knowledge,
        user_accounts(),
        form.plan.plan.indication,
        form.patient_row,
        form.patient.conditions if form.patient is not None else (),
        request.user.get_username() if "clinician" in roles_of(request) else None,
    )
    if form.patient_row is not None:  # a sheet without a patient holds no patient data
        log_read(request, "procedure-sheet", form.patient_row.mrn, action=Action.PRINT)
    numbers = site_numbers(site_rows(document))
    sites = plan_sites(knowledge, form.plan.plan.indication, document["sites"], numbers, form.placed)
    drawn = render_to_string("web/canvas.html", {"views": canvas(knowledge, sites)})
    nonce = str(request.csp_nonce)  # type: ignore[attr-defined]  # set by django-csp's middleware
    return HttpResponse(render_procedure_sheet(document, sheet_header_document(header), drawn, style_nonce=nonce))


@require_role(*IDENTIFIED)
def continuation(request: HttpRequest, mrn: str, indication: str) -> HttpResponse:
    """The continuation report of one patient and indication; ``?format=pdf`` for the PDF to sign and send."""
    knowledge = build_knowledge()
    pdf = request.GET.get("format") == "pdf"
    try:
        document = continuation_report_document(
            outcome_records(), patient_registry(), user_accounts(), knowledge, mrn, indication, clock().today()
        )
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    except UnknownIdError:
        raise Http404("unknown indication") from None
    log_read(request, "continuation-report", mrn, indication, Action.PRINT if pdf else Action.READ)
    if pdf:
        response = HttpResponse(
            render_continuation_pdf(continuation_pdf_values(document)), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="continuation-{indication}.pdf"'
        return response
    sessions = document.report.sessions
    measures = [{"cycles": c, "plot": outcome_plot(c.measure.series, sessions)} for c in document.measures]
    banner = patient_banner(knowledge, mrn, clock().today())
    return render(
        request, "web/continuation_report.html", {"banner": banner, "document": document, "measures": measures}
    )
