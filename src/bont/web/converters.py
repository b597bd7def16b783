"""URL path converters that bound what a URL may carry before a view or the database sees it.

Django's ``int`` converter takes any run of digits, and a database id is a signed 64-bit integer: an id of
2⁶³ or more made SQLite raise an overflow and PostgreSQL an out-of-range error, a 500 either way. ``id``
matches only what a row can have, so any other number is a plain 404, as an id that is not there.

A chart is addressed by a random key, never by the MRN (issue 14)."""

from __future__ import annotations

from bont.bootstrap import patient_registry
from bont.interop.strict_json import MAX_ID
from bont.services.ports import UnknownPatientError


class RecordIdConverter:
    """A record's id: 1 to 2⁶³−1 (``<id:session_id>`` in a Django route, ``{id:session_id}`` in an API one)."""

    regex = "[1-9][0-9]{0,18}"  # at most 19 digits; the 19-digit numbers above the maximum are refused below

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("beyond the largest id")  # Django reads a ValueError as "this route does not match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class ChartKeyConverter:
    """A chart's address: the patient's random chart key in the URL, the MRN in the view
    (``<chart:mrn>``). So no MRN is in any address (browser history, proxy logs, referrers), while views and
    templates keep naming the patient by MRN: ``{% url 'chart' patient.mrn %}`` writes the key."""

    regex = "[A-Za-z0-9_-]{16}"  # bont.clinic.models.new_chart_key: 12 random bytes, URL-safe base64

    def to_python(self, value: str) -> str:
        try:
            return patient_registry().mrn_for_chart_key(value)
        except UnknownPatientError:
            raise ValueError("no chart has this key") from None  # read by Django as "no such page": a 404

    def to_url(self, value: str) -> str:
        try:
            return patient_registry().chart_key(value)
        except UnknownPatientError:
            raise ValueError("no patient has this MRN") from None  # a NoReverseMatch: a link to no chart
