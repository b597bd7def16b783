"""The JSON document that ``bont session record`` reads. A time without a UTC offset is the clinic's
wall-clock time (``BONT_TIME_ZONE``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, ValidationError

from bont.domain.safety import SessionSite
from bont.interop.check_document import (
    MAX_ITEMS,
    Day,
    InputError,
    Moment,
    Name,
    SiteIn,
    StrictModel,
    Text,
    first_error,
    local_moment,
    parse_json,
)
from bont.interop.strict_json import MAX_ID
from bont.services.clock import Clock
from bont.services.records import RecordSession, VialOpening


class DrawIn(StrictModel):
    vial: int = Field(gt=0, le=MAX_ID)
    units: Decimal = Field(gt=0, le=100_000)


class OpeningIn(StrictModel):
    vial: int = Field(gt=0, le=MAX_ID)
    at: Moment
    diluent_ml: Decimal | None = Field(default=None, gt=0, le=20)


class SessionIn(StrictModel):
    patient_mrn: Name
    date: Day
    at: Moment | None = None  # the older name of given_at
    given_at: Moment | None = None  # when it was injected
    given_by: Name | None = None  # who injected it (default: the clinician)
    clinician: Name
    indication: Name
    product: Name
    guidance: str = Field(default="", max_length=120)  # the ways of guiding the needle, comma-separated
    sites: list[SiteIn] = Field(min_length=1, max_length=MAX_ITEMS)
    draws: list[DrawIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    discard: list[Annotated[int, Field(gt=0, le=MAX_ID)]] = Field(default_factory=list, max_length=MAX_ITEMS)
    openings: list[OpeningIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    acknowledgements: dict[Name, Text] = Field(default_factory=dict, max_length=MAX_ITEMS)
    override_reason: Text = ""
    deviation_reason: Text = ""

    def to_command(self, patient_id: int, clock: Clock) -> RecordSession:
        return RecordSession(
            patient_id=patient_id,
            on=self.date,
            at=local_moment(self.given_at or self.at, clock),
            given_by=self.given_by,
            clinician=self.clinician,
            indication=self.indication,
            product=self.product,
            guidance=self.guidance,
            sites=tuple(SessionSite(s.muscle, s.side, s.units, s.volume_ml) for s in self.sites),
            draws=tuple((d.vial, d.units) for d in self.draws),
            discard=tuple(self.discard),
            openings=tuple(VialOpening(o.vial, clock.local(o.at), o.diluent_ml) for o in self.openings),
            acknowledgements=tuple(self.acknowledgements.items()),
            override_reason=self.override_reason,
            deviation_reason=self.deviation_reason,
            recorded_at=clock.now(),
        )


def read_session(text: bytes | str) -> SessionIn:
    """Parse and validate a session document (strict JSON); raises ``InputError`` naming the first bad field."""
    try:
        return SessionIn.model_validate(parse_json(text))
    except ValidationError as error:
        raise first_error(error) from error


__all__ = ["InputError", "SessionIn", "read_session"]
