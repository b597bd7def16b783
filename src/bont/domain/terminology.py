"""The codes bont exchanges records in (FHIR R4): SNOMED CT for targets, routes, laterality and the procedure,
RxNorm for products, LOINC for scores and the body weight, UCUM for the dose unit. Each code is a cited fact of
the knowledge base (``targets.yaml``, ``products/*.yaml``, ``instruments.yaml``, ``terminology.yaml``); this
module holds the codes of ``terminology.yaml`` (the code systems' addresses are ``bont.domain.codes``')."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bont.domain.anatomy import TargetKind
from bont.domain.codes import Coding
from bont.domain.evidence import Cited


@dataclass(frozen=True)
class Route:
    """A route of administration and the kinds of target injected by it (a muscle intramuscularly, the axillary
    skin intradermally)."""

    id: str
    coding: Cited[Coding]
    target_kinds: tuple[TargetKind, ...]


@dataclass(frozen=True)
class Terminology:
    """The codes of ``terminology.yaml``: routes, laterality, the dose unit, the procedure, the substances and
    the body weight."""

    routes: tuple[Route, ...]
    laterality: Mapping[str, Cited[Coding]]  # "left", "right", "bilateral"
    dose_unit: Cited[Coding]
    procedure: Cited[Coding]
    substances: Mapping[str, Cited[Coding]]  # by serotype: "A", "B"
    body_weight: Cited[Coding]  # LOINC: an Observation of the patient's weight

    def route_for(self, kind: TargetKind) -> Route | None:
        """The route a target of ``kind`` is injected by; None when the knowledge base names none."""
        return next((route for route in self.routes if kind in route.target_kinds), None)
