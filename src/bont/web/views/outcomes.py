"""Outcomes: entering, correcting and withdrawing a scale, the follow-up list, and the patient's own diary page
reached by a personal link, with the printable card that gives the link (the continuation report is in
``bont.web.views.documents``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from bont.bootstrap import build_knowledge, clock, follow_up_records, outcome_records
from bont.domain.adverse_events import ReactionKind
from bont.domain.errors import FieldError, UnknownIdError
from bont.domain.evidence import Citation
from bont.domain.knowledge import KnowledgeBase
from bont.domain.outcomes import GoalRating, Instrument, InstrumentKind, Score
from bont.services.follow_up import follow_up_page
from bont.services.outcomes import (
    DIARY_LINK_DAYS,
    DiaryDayTaken,
    IndicationOutcomes,
    correct_outcome,
    create_diary_link,
    diary_page,
    outcome_entry,
    outcome_form,
    record_outcome,
    save_diary_entry,
    withdraw_outcome,
)
from bont.services.ports import UnknownPatientError
from bont.settings import BontSettings
from bont.web.access import CORRECTING, IDENTIFIED, RECORDING, require_role
from bont.web.audit_reads import log_read
from bont.web.pages import Pages, page_number
from bont.web.patient_banner import patient_banner
from bont.web.plots import outcome_plot

GOAL_ROWS = 5


def outcome_sections(outcomes: IndicationOutcomes) -> list[dict[str, Any]]:
    """Each instrument's series with its plot, verdicts and continuation advice, for a template."""
    return [
        {
            "series": series,
            "plot": outcome_plot(series, outcomes.sessions),
            "verdict": series.latest_verdict,
            "judgements": series.judgements,
        }
        for series in outcomes.series
    ]


def _raw(instrument: Instrument, values: Any) -> object:
    """What the form posted, in the shape ``score`` takes for this kind of instrument."""
    if instrument.kind is InstrumentKind.ITEMS:
        return {item.key: values.get(f"item:{item.key}", "").strip() for item in instrument.items}
    if instrument.kind is InstrumentKind.ANGLES:
        return {"r1": values.get("r1", "").strip(), "r2": values.get("r2", "").strip()}
    if instrument.kind is InstrumentKind.GOALS:
        goals = []
        for row in range(1, GOAL_ROWS + 1):
            attainment = values.get(f"goal:{row}", "").strip()
            if not attainment:
                continue
            try:
                weight = Decimal(values.get(f"weight:{row}", "").strip() or "1")
                if not weight.is_finite():  # NaN parses, and fails later where it is compared
                    raise ValueError(weight)
                goals.append(GoalRating(int(attainment), weight))
            except (ValueError, ArithmeticError):
                raise FieldError(f"goal:{row}", "rate the goal from −2 to +2, with a weight of 1 or more") from None
        return goals
    if instrument.kind is InstrumentKind.BINARY:
        return values.get("value", "")
    return values.get("value", "").strip()


def _form_values(instrument: Instrument, scored: Score) -> dict[str, str]:
    """A stored score as the outcome form's fields, so that a correction starts from what was entered."""
    kind = instrument.kind
    if kind is InstrumentKind.ITEMS:
        return {f"item:{key}": str(value) for key, value in scored.items}
    if kind is InstrumentKind.ANGLES:
        return {key: f"{value.normalize():f}" for key, value in scored.parts}
    if kind is InstrumentKind.GOALS:
        goals = {f"goal:{key.removeprefix('goal-')}": str(value) for key, value in scored.items}
        weights = {f"weight:{key.removeprefix('weight-')}": f"{value.normalize():f}" for key, value in scored.parts}
        return goals | weights
    if kind is InstrumentKind.BINARY:
        return {"value": "yes" if scored.grade == instrument.grades[-1] else "no"}
    if scored.grade is not None:
        return {"value": scored.grade}
    return {"value": f"{scored.value.normalize():f}" if scored.value is not None else ""}


ATTAINMENTS = ("-2", "-1", "0", "1", "2")  # GAS: much less than expected … much more than expected


def _form_rows(instrument: Instrument, values: Any) -> dict[str, Any]:
    """The item and goal rows of the form with what was typed (or entered before), so nothing is lost."""
    return {
        "item_rows": [(item, values.get(f"item:{item.key}", "")) for item in instrument.items],
        "goal_rows": [
            (row, values.get(f"goal:{row}", ""), values.get(f"weight:{row}", "") or "1")
            for row in range(1, GOAL_ROWS + 1)
        ],
        "attainments": ATTAINMENTS,
    }


def _measured_on(values: Any, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(values.get("measured_on", "").strip())
    except ValueError:
        errors["measured_on"] = "is not a date (YYYY-MM-DD)"
        return None


@require_role(*RECORDING)
def outcome_new(request: HttpRequest, mrn: str) -> HttpResponse:
    """Enter one outcome measurement for an indication the patient is treated for; validated by its scale."""
    knowledge = build_knowledge()
    records = outcome_records()
    values = request.POST if request.method == "POST" else request.GET
    indication_id = values.get("indication", "")
    try:
        form = outcome_form(records, knowledge, mrn, indication_id, values.get("instrument"))
    except UnknownPatientError:
        raise Http404("no patient has this MRN") from None
    except UnknownIdError:
        raise Http404("unknown indication") from None
    instrument = form.instrument
    errors: dict[str, str] = {}
    if request.method == "POST":
        on = _measured_on(values, errors)
        if on is not None:
            try:
                record_outcome(
                    records,
                    knowledge,
                    mrn,
                    indication_id,
                    instrument.id,
                    on,
                    _raw(instrument, values),
                    request.user.get_username(),
                    clock().today(),
                )
            except (FieldError, UnknownIdError) as error:
                errors[getattr(error, "field", "instrument")] = getattr(error, "problem", str(error))
            else:
                messages.success(request, f"{instrument.name} recorded.")
                return redirect(f"{reverse('chart', args=[mrn])}#outcomes")
    return render(
        request,
        "web/outcome_new.html",
        {
            "banner": patient_banner(knowledge, mrn, clock().today()),
            "patient": form.patient,
            "indication": form.indication,
            "instruments": form.instruments,
            "instrument": instrument,
            "values": values,
            "errors": errors,
            **_form_rows(instrument, values),
            "measured_on": values.get("measured_on") or clock().today().isoformat(),
        },
        status=400 if errors else 200,
    )


REASON_LENGTH = 2000  # a withdrawal's or correction's reason, as the form states


@require_role(*CORRECTING)
def outcome_correct(request: HttpRequest, outcome_id: int) -> HttpResponse:
    """Correct a measurement entered wrongly: the outcome form, filled in with what was entered, and a required
    reason; the wrong version stays on the chart, withdrawn with who corrected it and why."""
    knowledge, records, today = build_knowledge(), outcome_records(), clock().today()
    try:
        patient, entry = outcome_entry(records, knowledge, outcome_id)
        form = outcome_form(records, knowledge, patient.mrn, entry.indication_id, entry.instrument_id)
    except (FieldError, UnknownIdError):
        raise Http404("no outcome measurement with this id") from None
    instrument = form.instrument
    errors: dict[str, str] = {}
    values: Any = {**_form_values(instrument, entry.score), "measured_on": entry.measured_on.isoformat()}
    reason = ""
    if request.method == "POST" and not entry.withdrawn:
        values = request.POST
        reason = values.get("reason", "")
        if not reason.strip():
            errors["reason"] = "give the reason for the correction"
        elif len(reason) > REASON_LENGTH:
            errors["reason"] = f"at most {REASON_LENGTH} characters"
        on = _measured_on(values, errors)
        if on is not None and not errors:
            try:
                correct_outcome(
                    records,
                    knowledge,
                    outcome_id,
                    on,
                    _raw(instrument, values),
                    reason,
                    request.user.get_username(),
                    today,
                )
            except FieldError as error:
                errors[error.field] = error.problem
            else:
                messages.success(
                    request,
                    f"{entry.instrument} corrected; the entry before is kept, withdrawn, with your reason.",
                )
                return redirect(f"{reverse('chart', args=[patient.mrn])}#outcomes")
    return render(
        request,
        "web/outcome_new.html",
        {
            "banner": patient_banner(knowledge, patient.mrn, today),
            "patient": patient,
            "indication": form.indication,
            "instruments": (instrument,),
            "instrument": instrument,
            "values": values,
            "errors": errors,
            **_form_rows(instrument, values),
            "measured_on": values.get("measured_on", ""),
            "correcting": entry,
            "reason": reason,
            "reason_length": REASON_LENGTH,
        },
        status=400 if errors else 200,
    )


@require_role(*CORRECTING)
def outcome_withdraw(request: HttpRequest, outcome_id: int) -> HttpResponse:
    """Withdraw a measurement entered in error (with a reason and a confirmation): it stays on the chart, struck
    through with who and why, and no longer counts toward responders, continuation, follow-up or research."""
    records = outcome_records()
    try:
        patient, entry = outcome_entry(records, build_knowledge(), outcome_id)
    except FieldError:
        raise Http404("no outcome measurement with this id") from None
    errors: dict[str, str] = {}
    reason = request.POST.get("reason", "") if request.method == "POST" else ""
    if request.method == "POST" and not entry.withdrawn:
        if not reason.strip():
            errors["reason"] = "give the reason the measurement is withdrawn"
        elif len(reason) > REASON_LENGTH:
            errors["reason"] = f"at most {REASON_LENGTH} characters"
        if request.POST.get("confirm") != "yes":
            errors["confirm"] = "tick to confirm that this measurement was entered in error"
        if not errors:
            try:
                withdraw_outcome(records, outcome_id, reason, request.user.get_username())
            except FieldError as error:
                errors["reason" if error.field == "reason" else "withdraw"] = error.problem
            else:
                messages.success(request, f"{entry.instrument} of {entry.measured_on:%Y-%m-%d} withdrawn.")
                return redirect(f"{reverse('chart', args=[patient.mrn])}#outcomes")
    return render(
        request,
        "web/outcome_withdraw.html",
        {"patient": patient, "entry": entry, "errors": errors, "reason": reason, "reason_length": REASON_LENGTH},
        status=400 if errors else 200,
    )


@require_role(*IDENTIFIED)
def follow_up(request: HttpRequest) -> HttpResponse:
    """Patients due or overdue for a follow-up assessment, and patients whose next session is allowed."""
    found = follow_up_page(follow_up_records(), build_knowledge(), clock().today(), page_number(request))
    log_read(request, "follow-up-list")
    pages = Pages.numbered(request, found.page, max(found.assessments_total, found.treated_total), found.per_page)
    return render(request, "web/follow_up.html", {"found": found, "pages": pages})


@dataclass(frozen=True)
class WarningSign:
    """A sign of distant spread of toxin effect in the patient's words, with the knowledge it rests on."""

    words: str
    citations: tuple[Citation, ...]


# The signs of distant spread of toxin effect (adverse-events.yaml, kind distant-spread) for which a patient
# seeks medical care at once, in the patient's words, each naming the terms it stands for. Loss of bladder
# control, also a sign in the boxed warning, is what a bladder diary counts day by day: not a reason given here
# to call emergency services.
SEEK_CARE_NOW = (
    ("Trouble swallowing", ("dysphagia",)),
    ("Trouble speaking: slurred speech, a hoarse or lost voice", ("dysarthria", "dysphonia")),
    ("Trouble breathing", ("breathing-difficulty",)),
    ("Weakness all over your body", ("generalised-weakness",)),
)


def warning_signs(knowledge: KnowledgeBase) -> tuple[WarningSign, ...]:
    """The signs a patient's pages tell them to seek care for now: each shown while the knowledge base holds
    its terms as signs of distant spread, with their citations."""
    terms = knowledge.adverse_event_terms
    signs = []
    for words, ids in SEEK_CARE_NOW:
        cited = tuple(
            terms[term].citation for term in ids if term in terms and terms[term].kind is ReactionKind.DISTANT_SPREAD
        )
        if cited:
            signs.append(WarningSign(words, cited))
    return tuple(signs)


def _for_the_patient() -> dict[str, Any]:
    """What every page a patient sees from their link shows: their clinic's name and telephone number, and the
    warning signs with the products' boxed warnings they rest on."""
    knowledge = build_knowledge()
    name, phone = BontSettings().clinic(bool(getattr(settings, "BONT_DEMO", False)))
    return {
        "clinic_name": name,
        "clinic_phone": phone,
        "warning_signs": warning_signs(knowledge),
        "boxed_warnings": [(product.brand, product.boxed_warning) for product in knowledge.products.values()],
    }


def diary_qr_code(url: str) -> SafeString:
    """The diary link as a QR code, inline SVG; error correction M (15 %) survives a worn or creased card."""
    svg = segno.make(url, error="m").svg_inline(title="QR code of the diary link", svgclass="qr", omitsize=True)
    return mark_safe(svg)  # segno's own markup: the URL is drawn as modules, never written into it as text


WHAT_TO_RECORD = {
    "headache": "Every day, including days without headache: the hours of headache, what it was like and any "
    "medicine you took for it.",
    "bladder": "Every day: how many times you passed urine and how many leaks (accidents) you had.",
}


@require_POST
@require_role(*RECORDING)
def diary_link_new(request: HttpRequest, mrn: str) -> HttpResponse:
    """A personal diary link for the patient, as a QR code and a printable card. Shown once: only the link's
    hash is kept, so the card cannot be opened again later; a lost card is replaced by a new link."""
    kind = request.POST.get("kind", "")
    today = clock().today()
    try:
        token = create_diary_link(outcome_records(), mrn, kind, today)
    except FieldError as error:
        messages.error(request, f"{error.field}: {error.problem}")
        return redirect("chart", mrn=mrn)
    url = request.build_absolute_uri(reverse("diary", args=[token]))
    messages.success(request, f"Give the patient this diary link (shown once): {url}")
    return render(
        request,
        "web/diary_card.html",
        {
            **_for_the_patient(),
            "mrn": mrn,
            "kind": kind,
            "url": url,
            "qr_code": diary_qr_code(url),
            "what_to_record": WHAT_TO_RECORD[kind],
            "ends_on": today + timedelta(days=DIARY_LINK_DAYS),
        },
    )


# The diary's words for the patient: each stored value as the form asks for it.
PAIN_FEATURES = (
    ("unilateral", "on one side"),
    ("pulsating", "throbbing"),
    ("moderate-or-severe", "moderate or severe"),
    ("aggravated-by-activity", "worse with activity"),
)
WITH_IT = (
    ("nausea_or_vomiting", "nausea or vomiting"),
    ("photophobia", "trouble with light"),
    ("phonophobia", "trouble with noise"),
)
MEDICINES = (("none", "none"), ("migraine-specific", "a triptan or ergot"), ("other", "another painkiller"))
DIARY_FIELDS = {
    "day": "Day",
    "replace": "Day already filled in",
    "headache_hours": "Hours of headache",
    "features": "The headache was…",
    "voids": "Times you passed urine",
    "incontinence_episodes": "Leaks",
}
HOURS_IN_A_DAY = Decimal(24)


def _headache_minutes(text: str) -> str:
    """The hours of headache typed (0 when left empty), as the whole minutes the diary stores."""
    try:
        hours = Decimal(text.strip() or "0")
    except ArithmeticError:
        raise FieldError("headache_hours", "is not a number of hours") from None
    if not hours.is_finite() or not 0 <= hours <= HOURS_IN_A_DAY:  # NaN parses but is no number of hours
        raise FieldError("headache_hours", "must be a number of hours from 0 to 24")
    return str(round(hours * 60))


def _diary_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FieldError("day", "is not a date") from None


def _in_words(kind: str, stored: Any) -> str:
    """A stored diary day as the patient would say it, for the question whether to replace it."""
    if kind != "headache":
        leaks = stored.get("incontinence_episodes", "0")
        return f"passed urine {stored.get('voids', '0')} times · {leaks} leak{'' if leaks == '1' else 's'}"
    minutes = int(stored.get("headache_minutes") or 0)
    if not minutes:
        return "no headache"
    words = [f"{Decimal(minutes) / 60:.4g} hours of headache"]
    words += [said for value, said in PAIN_FEATURES if value in stored.get("features", ())]
    words += [said for key, said in WITH_IT if stored.get(key) == "True"]
    medicine = dict(MEDICINES).get(stored.get("acute_medication", "none"), "none")
    return " · ".join([*words, f"medicine: {medicine}"])


def diary(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's diary page: no sign-in, the link is the key, so the page shows no identifier at all. A day
    before the link was made or after today is refused; a day already filled in is shown, and replaced only when
    the patient ticks that they mean to."""
    records, today = outcome_records(), clock().today()
    page = diary_page(records, token, today)
    if page is None:
        return render(request, "web/diary_closed.html", _for_the_patient(), status=404)
    errors: dict[str, str] = {}
    taken = ""
    values = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        entry: dict[str, Any] = {key: values.get(key) for key in ("voids", "incontinence_episodes", "acute_medication")}
        entry |= {key: values.get(key) for key, _ in WITH_IT}
        entry["features"] = values.getlist("features")
        try:
            day = _diary_day(values.get("day", ""))
            if page.kind == "headache":
                entry["headache_minutes"] = _headache_minutes(values.get("headache_hours", ""))
            saved = save_diary_entry(
                records, token, day, entry, today, replace_entry=values.get("replace") == day.isoformat()
            )
        except DiaryDayTaken as existing:
            errors["replace"] = existing.problem
            taken = _in_words(page.kind, existing.stored)
        except FieldError as error:
            errors["headache_hours" if error.field == "headache_minutes" else error.field] = error.problem
        else:
            if not saved:
                return render(request, "web/diary_closed.html", _for_the_patient(), status=404)
            messages.success(request, f"Saved {day:%A %d %B}. Thank you.")
            return redirect("diary", token=token)
    return render(
        request,
        "web/diary.html",
        {
            **_for_the_patient(),
            "link": page,
            "errors": errors,
            "summary": {DIARY_FIELDS.get(field, field): problem for field, problem in errors.items()},
            "taken": taken,
            "values": values,
            "features": values.getlist("features"),
            "pain_features": PAIN_FEATURES,
            "with_it": WITH_IT,
            "medicines": MEDICINES,
            "recent": page.recent,
            "today": today,
            "day": values.get("day") or today.isoformat(),
        },
        status=400 if errors else 200,
    )
