"""Reading the register-patient and edit-patient forms into the patient service's commands, with every refused
field named by its input's name (the template shows each message beside its field).

Both forms post ``given_name``, ``family_name``, ``birth_date``, ``sex``, ``weight_kg``, up to
``CONDITION_ROWS`` new conditions (``condition:N``, an ICD-10-CM code or a name), medicines and allergies one
per line (``medications``, ``allergies``) and the ``pregnant``, ``breastfeeding`` and ``catheterizes`` ticks.
Registering adds ``mrn`` and ``weighed_on``; editing adds ``on`` (the date of the changes and of the new
weight) and the ticks ``resolve`` (a condition now resolved), ``stop`` (a medicine stopped) and
``remove_allergy`` (an allergy recorded in error or outgrown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils.datastructures import MultiValueDict

from bont.services.patients import SEXES, NewPatient, PatientUpdate

CONDITION_ROWS = 4
MRN_LENGTH = 40  # the clinic model's limits
NAME_LENGTH = 100
TERM_LENGTH = 120
LIST_LINES = 20
MAXIMUM_WEIGHT_KG = Decimal(500)
EARLIEST_BIRTH = date(1900, 1, 1)
TENTH = Decimal("0.1")

Form = MultiValueDict[str, str]  # a posted form (a QueryDict), read with get and getlist

# The service's field names (for example ``conditions.2``) as the inputs that hold them.
_SERVICE_FIELDS = {"resolve-condition": "resolve", "stop-medication": "stop", "remove-allergy": "remove_allergy"}


@dataclass
class PatientForm:
    errors: dict[str, str] = field(default_factory=dict)
    new: NewPatient | None = None
    update: PatientUpdate | None = None
    condition_rows: tuple[int, ...] = ()  # the row of each condition given, in order

    def field_of(self, service_field: str) -> str:
        """The input that holds a field the patient service refused (``add_conditions.1`` → the row of the
        second condition given)."""
        head, _, index = service_field.partition(".")
        if head in ("conditions", "add_conditions") and index.isdigit() and int(index) < len(self.condition_rows):
            return f"condition:{self.condition_rows[int(index)]}"
        return _SERVICE_FIELDS.get(service_field, service_field)


def _text(params: Form, name: str, limit: int, errors: dict[str, str], *, required: bool = True) -> str:
    value = params.get(name, "").strip()
    if required and not value:
        errors[name] = "is required"
    elif "\x00" in value:  # PostgreSQL stores no NUL in text
        errors[name] = "contains a character that cannot be stored"
    elif len(value) > limit:
        errors[name] = f"at most {limit} characters"
    return value


def _date(params: Form, name: str, errors: dict[str, str], *, required: bool = True) -> date | None:
    text = params.get(name, "").strip()
    if not text:
        if required:
            errors[name] = "is required (YYYY-MM-DD)"
        return None
    try:
        if len(text) != len("YYYY-MM-DD"):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = "is not a date (YYYY-MM-DD)"
        return None


def _weight(params: Form, errors: dict[str, str]) -> Decimal | None:
    text = params.get("weight_kg", "").strip()
    if not text:
        return None
    try:
        weight = Decimal(text)
    except InvalidOperation:
        errors["weight_kg"] = "is not a number (kg)"
        return None
    # Stored to 0.1 kg: a weight that rounds to 0 is refused like 0 itself.
    if not weight.is_finite() or not TENTH / 2 < weight <= MAXIMUM_WEIGHT_KG:
        errors["weight_kg"] = f"must be a number more than 0 up to {MAXIMUM_WEIGHT_KG} (kg)"
        return None
    return weight.quantize(TENTH, ROUND_HALF_EVEN)


def _lines(params: Form, name: str, errors: dict[str, str]) -> tuple[str, ...]:
    lines = tuple(dict.fromkeys(line.strip() for line in params.get(name, "").splitlines() if line.strip()))
    if any("\x00" in line for line in lines):
        errors[name] = "contains a character that cannot be stored"
    elif len(lines) > LIST_LINES:
        errors[name] = f"at most {LIST_LINES} lines"
    elif any(len(line) > TERM_LENGTH for line in lines):
        errors[name] = f"at most {TERM_LENGTH} characters a line"
    return lines


def _conditions(params: Form, form: PatientForm) -> tuple[str, ...]:
    """The new conditions; a blank row is skipped, and ``form.condition_rows`` keeps the row of each."""
    terms = []
    for index in range(CONDITION_ROWS):
        term = _text(params, f"condition:{index}", TERM_LENGTH, form.errors, required=False)
        if term:
            terms.append((index, term))
    form.condition_rows = tuple(index for index, _ in terms)
    return tuple(term for _, term in terms)


def _sex(params: Form, errors: dict[str, str]) -> str:
    sex = params.get("sex", "unknown")
    if sex not in SEXES:
        errors["sex"] = f"must be one of {', '.join(SEXES)}"
    return sex


def _birth_date(params: Form, today: date, errors: dict[str, str]) -> date | None:
    birth = _date(params, "birth_date", errors)
    if birth is not None and not EARLIEST_BIRTH <= birth <= today:
        errors["birth_date"] = f"must lie between {EARLIEST_BIRTH:%Y-%m-%d} and today"
        return None
    return birth


def read_new_patient(params: Form, today: date) -> PatientForm:
    """The register form as a ``NewPatient`` recorded today, or the refused fields."""
    form = PatientForm()
    errors = form.errors
    mrn = _text(params, "mrn", MRN_LENGTH, errors)
    if "mrn" not in errors and ("/" in mrn or not mrn.isprintable()):
        errors["mrn"] = "may not hold a slash or a control character"  # it is part of the chart's address
    given = _text(params, "given_name", NAME_LENGTH, errors)
    family = _text(params, "family_name", NAME_LENGTH, errors)
    birth = _birth_date(params, today, errors)
    sex = _sex(params, errors)
    weight = _weight(params, errors)
    weighed_on = _date(params, "weighed_on", errors, required=False) or today
    if weight is not None and birth is not None and "weighed_on" not in errors and not birth <= weighed_on <= today:
        errors["weighed_on"] = "must lie between the birth date and today"
    conditions = _conditions(params, form)
    medications = _lines(params, "medications", errors)
    allergies = _lines(params, "allergies", errors)
    if errors or birth is None:
        return form
    form.new = NewPatient(
        mrn=mrn,
        given_name=given,
        family_name=family,
        birth_date=birth,
        sex=sex,
        weight_kg=weight,
        conditions=conditions,
        medications=medications,
        allergies=allergies,
        catheterizes=bool(params.get("catheterizes")),
        recorded_on=today,
        weighed_on=weighed_on if weight is not None else None,
        pregnant=bool(params.get("pregnant")),
        breastfeeding=bool(params.get("breastfeeding")),
    )
    return form


def read_patient_update(
    params: Form,
    today: date,
    conditions: tuple[str, ...],
    medications: tuple[str, ...],
    allergies: tuple[str, ...] = (),
) -> PatientForm:
    """The edit form as a ``PatientUpdate`` dated ``on``, or the refused fields. ``conditions``,
    ``medications`` and ``allergies`` are the patient's current ones: only they may be resolved, stopped or
    removed."""
    form = PatientForm()
    errors = form.errors
    given = _text(params, "given_name", NAME_LENGTH, errors)
    family = _text(params, "family_name", NAME_LENGTH, errors)
    birth = _birth_date(params, today, errors)
    sex = _sex(params, errors)
    on = _date(params, "on", errors)
    if on is not None and (on > today or (birth is not None and on < birth)):
        errors["on"] = "must lie between the birth date and today"
    weight = _weight(params, errors)
    added = _conditions(params, form)
    resolved = tuple(term for term in params.getlist("resolve") if term in conditions)
    stopped = tuple(name for name in params.getlist("stop") if name in medications)
    removed = tuple(substance for substance in params.getlist("remove_allergy") if substance in allergies)
    new_medications = _lines(params, "medications", errors)
    new_allergies = _lines(params, "allergies", errors)
    if errors or on is None or birth is None:
        return form
    form.update = PatientUpdate(
        on=on,
        weight_kg=weight,
        add_conditions=added,
        resolve_conditions=resolved,
        add_medications=new_medications,
        stop_medications=stopped,
        add_allergies=new_allergies,
        remove_allergies=removed,
        pregnant=bool(params.get("pregnant")),
        breastfeeding=bool(params.get("breastfeeding")),
        catheterizes=bool(params.get("catheterizes")),
        given_name=given,
        family_name=family,
        birth_date=birth,
        sex=sex,
    )
    return form
