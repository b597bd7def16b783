"""Reading the record-session form into a ``RecordSession`` command, with every refused field named.

The form posts the session's ``date``, when the injections were given (``given_at``, the clinic's wall-clock
time) and by whom (``given_by``, a clinician or nurse of the clinic), one row per injection site
(``site_muscle:N``, ``site_side:N``, ``site_units:N``; a blank or zero dose means the site was not injected)
and the vial rows shown, numbered from 1 up to ``MAXIMUM_VIAL_ROWS`` (``lot:N`` scanned or typed, ``vial:N``
chosen from the list, ``drawn:N`` units, ``opened_at:N`` and ``diluent:N`` for a sealed vial, ``discard:N`` to
discard what is left). Warnings are acknowledged with ``ack:<code>``; a block needs a clinician's
``override_reason``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.http import QueryDict

from bont.domain.canvas import SitePosition, on_its_side
from bont.domain.errors import FieldError
from bont.domain.safety import SessionSite
from bont.services.clock import Clock, FixedClock, read_moment
from bont.services.inventory import SEALED, Inventory, chosen_vial
from bont.services.records import RecordSession, VialOpening
from bont.web.plan_form import form_number

# More vial rows than any session draws from, few enough that a posted form stays small.
MAXIMUM_VIAL_ROWS = 12
VIAL_ROW_FIELDS = ("vial", "lot", "drawn", "opened_at", "diluent", "discard")
MAXIMUM_UNITS = Decimal(10000)
MILLILITRE_MARK = Decimal("0.01")


@dataclass
class SessionForm:
    command: RecordSession | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _units(params: QueryDict, name: str) -> Decimal | None:
    return form_number(params, name, zero_allowed=True, maximum=MAXIMUM_UNITS)


def _moment(params: QueryDict, name: str, clock: Clock) -> datetime:
    """The reconstitution time as typed: the clinic's wall-clock time (what the ``datetime-local`` field shows)."""
    text = params.get(name, "").strip()
    if not text:
        raise FieldError(name, "give the time the vial was reconstituted")
    return read_moment(text, name, clock)


def numbered(params: QueryDict, name: str) -> list[int]:
    """The numbers N of the posted fields ``name:N``, in order (other keys, however typed, are left out)."""
    numbers = set()
    for key in params:
        prefix, _, number = key.partition(":")
        if prefix == name and number.isdecimal() and len(number) <= 4:
            numbers.add(int(number))
    return sorted(numbers)


def vial_rows(params: QueryDict) -> list[int]:
    """The numbers of the vial rows the form posted, in order."""
    rows = {row for name in VIAL_ROW_FIELDS for row in numbered(params, name)}
    return sorted(row for row in rows if 1 <= row <= MAXIMUM_VIAL_ROWS)


def _given_at(params: QueryDict, on: date | None, clock: Clock) -> datetime:
    """When the injections were given: the clinic's wall-clock time, not in the future, on the session's date."""
    text = params.get("given_at", "").strip()
    if not text:
        raise FieldError("given_at", "give the time the injections were given")
    moment = read_moment(text, "given_at", clock)
    if on is not None and moment.date() != on:
        raise FieldError("given_at", f"is not on the date given ({on.isoformat()})")
    return moment


def _position(params: QueryDict, index: int, side: str) -> SitePosition | None:
    """Where the canvas drew the site (carried by the form), None when it was not drawn."""
    text = params.get(f"site_position:{index}", "").strip()
    if not text:
        return None
    try:
        position = SitePosition.parse(text)
    except ValueError as error:
        raise FieldError(f"site_position:{index}", str(error)) from None
    if not on_its_side(position, side):
        raise FieldError(f"site_position:{index}", "is on the patient's other side")
    return position


def _sites(params: QueryDict, units_per_ml: Decimal | None) -> tuple[SessionSite, ...]:
    sites = []
    indexes = numbered(params, "site_muscle")
    for index in indexes:
        units = _units(params, f"site_units:{index}")
        if not units:
            continue  # not injected at this site
        volume = (units / units_per_ml).quantize(MILLILITRE_MARK, ROUND_HALF_EVEN) if units_per_ml else None
        muscle, side = params.get(f"site_muscle:{index}", ""), params.get(f"site_side:{index}", "")
        sites.append(SessionSite(muscle, side or None, units, volume, _position(params, index, side)))
    if not sites:
        raise FieldError("sites", "enter the units given at one site at least")
    return tuple(sites)


def read_session_form(
    params: QueryDict,
    *,
    patient_id: int,
    clinician: str,
    indication: str,
    product: str,
    units_per_ml: Decimal | None,
    deviation_reason: str,
    variant: str | None,
    guidance: str,
    clock: Clock,
    stock: Inventory,
    injectors: Collection[str],
    draws_carried: bool = False,
) -> SessionForm:
    """The command the form describes, or every refused field. ``injectors`` are the usernames who may be named
    as having given it; ``draws_carried``: the session corrected drew from vials already, so this form need not
    name one."""
    # The whole form is read as of one moment: no reconstitution time it accepts is after the session's.
    now = clock.now()
    today, stopped = now.date(), FixedClock(now, clock.zone)
    form = SessionForm()
    errors = form.errors
    sites: tuple[SessionSite, ...] = ()
    try:
        sites = _sites(params, units_per_ml)
    except FieldError as error:
        errors[error.field] = error.problem
    on = today
    try:
        on = date.fromisoformat(params.get("date", ""))
    except ValueError:
        errors["date"] = "is not a date (YYYY-MM-DD)"
    if on > today:
        errors["date"] = "is in the future"
    given_at: datetime | None = None
    try:
        given_at = _given_at(params, None if "date" in errors else on, stopped)
    except FieldError as error:
        errors[error.field] = error.problem
    given_by = params.get("given_by", "").strip()
    if given_by not in injectors:
        errors["given_by"] = "choose the clinician or nurse of the clinic who gave the injections"
    draws: list[tuple[int, Decimal]] = []
    openings: list[VialOpening] = []
    discard: list[int] = []
    taken: set[int] = set()
    for row in vial_rows(params):
        try:
            choice, lot_number = params.get(f"vial:{row}", ""), params.get(f"lot:{row}", "").strip()
            units = _units(params, f"drawn:{row}")
            if not choice and not lot_number:
                if units:
                    raise FieldError(f"vial:{row}", "scan the lot or choose the vial these units came from")
                continue
            if not units:
                raise FieldError(f"drawn:{row}", "enter the units drawn from this vial")
            vial = chosen_vial(stock, product, choice, lot_number, units, taken, row)
            taken.add(vial.vial_id)
            draws.append((vial.vial_id, units))
            if vial.state == SEALED:
                diluent = _units(params, f"diluent:{row}")
                openings.append(
                    VialOpening(vial.vial_id, _moment(params, f"opened_at:{row}", stopped), diluent or None)
                )
            if params.get(f"discard:{row}") == "on":
                discard.append(vial.vial_id)
        except FieldError as error:
            errors[error.field] = error.problem
    if not draws and not draws_carried and not any(key.partition(":")[0] in VIAL_ROW_FIELDS for key in errors):
        errors["draws"] = "scan the lot or choose the vial the doses were drawn from"
    if errors:
        return form
    form.command = RecordSession(
        patient_id=patient_id,
        on=on,
        at=given_at,
        given_by=given_by,
        clinician=clinician,
        indication=indication,
        product=product,
        sites=sites,
        draws=tuple(draws),
        discard=tuple(discard),
        openings=tuple(openings),
        guidance=guidance,
        acknowledgements=tuple(
            (key.removeprefix("ack:"), params.get(key, "").strip())
            for key in params
            if key.startswith("ack:") and params.get(key, "").strip()
        ),
        override_reason=params.get("override_reason", "").strip(),
        deviation_reason=deviation_reason,
        variant=variant,
        recorded_at=clock.now(),
    )
    return form
