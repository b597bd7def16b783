"""The JSON document that ``bont session record`` reads. A time without a UTC offset is the clinic's
wall-clock time (``BONT_TIME_ZONE``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field, ValidationError

from bont.domain.safety import SessionSite
from bont.interop.check_document import InputError, SiteIn, StrictModel, first_error, local_moment, parse_json
from bont.services.clock import Clock
from bont.services.records import RecordSession, VialOpening


class DrawIn(StrictModel):
    vial: int = Field(gt=0)
    units: Decimal = Field(gt=0)


class OpeningIn(StrictModel):
    vial: int = Field(gt=0)
    at: datetime
    diluent_ml: Decimal | None = Field(default=None, gt=0, le=20)


class SessionIn(StrictModel):
    patient_mrn: str = Field(min_length=1)
    date: date
    at: datetime | None = None  # the older name of given_at
    given_at: datetime | None = None  # when it was injected
    given_by: str | None = Field(default=None, min_length=1)  # who injected it (default: the clinician)
    clinician: str = Field(min_length=1)
    indication: str
    product: str
    guidance: str = ""
    sites: list[SiteIn] = Field(min_length=1)
    draws: list[DrawIn] = Field(default_factory=list)
    discard: list[int] = Field(default_factory=list)
    openings: list[OpeningIn] = Field(default_factory=list)
    acknowledgements: dict[str, str] = Field(default_factory=dict)
    override_reason: str = ""
    deviation_reason: str = ""

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
        )


def read_session(text: str) -> SessionIn:
    try:
        return SessionIn.model_validate(parse_json(text))
    except ValidationError as error:
        raise first_error(error) from error


__all__ = ["InputError", "SessionIn", "read_session"]
