"""De-identification of the analysis dataset: age bands, per-patient date offsets, pseudonyms, site codes, and
how each of HIPAA Safe Harbor's 18 identifiers is treated (45 CFR § 164.514(b)(2)).

An export draws a secret of its own (``secrets.token_bytes(32)``) and never writes it down. A patient's date
offset and pseudonym are HMAC-SHA256 of that secret and a key of the patient's record (RFC 2104), each under
its own label so that the published pseudonym tells nothing of the hidden offset. One export is therefore
consistent (a patient keeps one pseudonym and every date moves by the same days, so intervals are true), while
two exports, of two sites or of one site twice, share neither pseudonyms nor offsets: they cannot be linked.

The day of an export is no secret (a file's arrival tells it), and every real date is before it: a patient whose
records run up to the export (a daily diary) would give their offset back as the day of the export minus their
latest shifted date. So an export ends at its *horizon* (:func:`export_horizon`), one shifted day shared by every
patient: a record whose shifted date is later is left out. Each patient's records therefore end at a real day of
their own, hidden by their offset, somewhere in the year before the export, while every patient's shifted
follow-up ends on the same day, which tells nothing of anyone's offset. The price is the records of that last year
after each patient's own cut; the clinic's own analyses, on real dates, keep them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta

from bont.domain.errors import FieldError

SEXES: tuple[str, ...] = ("female", "male", "other", "unknown")

# A date moves by whole weeks, so that it keeps its weekday (clinics treat on weekdays: a day moved by any other
# number of days would tell its offset modulo 7), 1 to 52 weeks into the past, never zero (an unmoved date would be
# real): up to a year.
OFFSET_WEEKS = 52
MAX_OFFSET_DAYS = 7 * OFFSET_WEEKS


@dataclass(frozen=True)
class AgeBand:
    lower: int
    upper: int | None  # None: the open band of 90 and over
    label: str


def _bands() -> tuple[AgeBand, ...]:
    # Ten-year bands after childhood; every age over 89 in one band, as Safe Harbor requires (§ 164.514(b)(2)(i)(C)).
    bands = [AgeBand(0, 17, "0-17"), AgeBand(18, 29, "18-29")]
    bands += [AgeBand(lower, lower + 9, f"{lower}-{lower + 9}") for lower in range(30, 90, 10)]
    return (*bands, AgeBand(90, None, "90+"))


AGE_BANDS: tuple[AgeBand, ...] = _bands()


def age(born: date, on: date) -> int:
    """Age in completed years on a day (a birthday on 29 February is reached on 1 March in common years)."""
    if on < born:
        raise ValueError("the day is before the birth date")
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band(born: date, on: date) -> str:
    """The label of the age band of someone born on ``born``, on the day ``on``: ``40-49``, ``90+``."""
    years = age(born, on)
    for band in AGE_BANDS:
        if band.upper is None or years <= band.upper:
            return band.label
    raise AssertionError("the last band is open")


def _mac(secret: bytes, label: str, key: str) -> bytes:
    if len(secret) < 16:
        # A short secret could be guessed, and with it every patient's offset.
        raise ValueError("the export secret must be at least 16 bytes")
    return hmac.new(secret, f"{label}\x00{key}".encode(), hashlib.sha256).digest()


def date_offset(secret: bytes, patient_key: str) -> int:
    """The days, whole weeks from -364 to -7, by which every date of the patient is moved in the export made with
    ``secret``. ``patient_key`` is any stable key of the patient's record (the database id); it is not in the
    export."""
    # 64 bits reduced modulo 52: the bias (2**64 mod 52 of 2**64) is below 1e-17.
    draw = int.from_bytes(_mac(secret, "date-offset", patient_key)[:8], "big")
    return -7 * (draw % OFFSET_WEEKS + 1)


def export_horizon(today: date) -> date:
    """The last shifted day of an export made on ``today``: ``MAX_OFFSET_DAYS`` + 1 days before it. A record whose
    shifted date is later is left out; the real day it stands for is ``export_horizon(today) - offset``, between
    358 days and 1 day before the export, and differs from patient to patient with the offset."""
    return today - timedelta(days=MAX_OFFSET_DAYS + 1)


def pseudonym(secret: bytes, site: str, key: str) -> str:
    """The pseudonym of a record (a patient, a session) in the export made with ``secret``: the site code and
    16 hexadecimal characters (64 bits, so that two of a site's million records collide with odds near 1e-8)."""
    return f"{site}-{_mac(secret, 'pseudonym', key).hex()[:16]}"


SITE_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,18}[A-Z0-9]")


def site_code(raw: str, field: str = "site") -> str:
    """A site code as exports carry it: 2 to 20 letters, digits or dashes (not first or last), upper case, so
    that ``berlin-1`` and ``BERLIN-1`` are one site. The code is the clinic's choice and must not name a place
    smaller than a state (Safe Harbor's geographic identifier)."""
    code = raw.strip().upper()
    if not SITE_CODE.fullmatch(code):
        raise FieldError(
            field, "a site code is 2 to 20 letters, digits or dashes, beginning and ending with a letter or digit"
        )
    return code


@dataclass(frozen=True)
class SafeHarborIdentifier:
    paragraph: str  # of 45 CFR § 164.514(b)(2)(i)
    identifier: str
    treatment: str  # what bont does with it in the analysis dataset


SAFE_HARBOR_SOURCE = (
    "45 CFR § 164.514(b)(2)(i), the HIPAA Privacy Rule's Safe Harbor method of de-identification; "
    "HHS Office for Civil Rights, Guidance Regarding Methods for De-identification of Protected Health "
    "Information (2012)."
)

SAFE_HARBOR: tuple[SafeHarborIdentifier, ...] = (
    SafeHarborIdentifier("A", "Names", "Not exported: no patient, clinician or relative is named."),
    SafeHarborIdentifier(
        "B",
        "Geographic subdivisions smaller than a state, including street address, city, county and ZIP code",
        "Not exported: no address or ZIP code. The site code is chosen by the clinic and must not name a place.",
    ),
    SafeHarborIdentifier(
        "C",
        "All elements of dates (except year) directly related to an individual, and ages over 89",
        "The birth date is not exported: age is given as a band at the first session, every age over 89 as "
        "90+. Every other date of a patient is moved by the same secret offset of 1 to 52 whole weeks into the "
        "past (weekdays and intervals stay true while no date is real), and an export ends 365 days before the "
        "day it is made "
        "(each patient's records at a real day of their own in the last year, hidden by the offset), so that "
        "records running up to the export give no offset back. Safe Harbor itself keeps only years; shifted dates are "
        "the usual practice under expert determination (§ 164.514(b)(1)), and a study that must meet Safe "
        "Harbor to the letter should reduce them to intervals.",
    ),
    SafeHarborIdentifier("D", "Telephone numbers", "Not exported."),
    SafeHarborIdentifier("E", "Fax numbers", "Not exported."),
    SafeHarborIdentifier("F", "Email addresses", "Not exported."),
    SafeHarborIdentifier("G", "Social security numbers", "Not recorded by bont."),
    SafeHarborIdentifier(
        "H",
        "Medical record numbers",
        "Not exported: a pseudonym stands for the patient, drawn from a secret of the export that is never "
        "written down, so it cannot be traced back to the record.",
    ),
    SafeHarborIdentifier("I", "Health plan beneficiary numbers", "Not exported."),
    SafeHarborIdentifier("J", "Account numbers", "Not exported (billing is not part of the dataset)."),
    SafeHarborIdentifier("K", "Certificate or license numbers", "Not exported (clinicians are not in the dataset)."),
    SafeHarborIdentifier("L", "Vehicle identifiers and serial numbers", "Not recorded by bont."),
    SafeHarborIdentifier(
        "M",
        "Device identifiers and serial numbers",
        "Not exported: vial lot numbers and expiry dates stay in the clinic.",
    ),
    SafeHarborIdentifier("N", "Web addresses (URLs)", "Not exported."),
    SafeHarborIdentifier("O", "Internet protocol (IP) addresses", "Not exported: access logs stay in the clinic."),
    SafeHarborIdentifier("P", "Biometric identifiers, including finger and voice prints", "Not recorded by bont."),
    SafeHarborIdentifier(
        "Q", "Full-face photographs and comparable images", "Not exported: no photograph or attachment."
    ),
    SafeHarborIdentifier(
        "R",
        "Any other unique identifying number, characteristic or code",
        "Not exported: no database id and no free text (notes, comments, condition names typed by hand); "
        "sessions have pseudonyms drawn like the patient's (a re-identification code as § 164.514(c) permits: "
        "not derived from anything a reader holds and not translatable without the discarded secret).",
    ),
)
