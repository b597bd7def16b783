"""Sources, citations and evidence grades: what every clinical figure in bont rests on."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Generic, TypeVar

T = TypeVar("T")


class Grade(StrEnum):
    """How directly a figure was checked against its source.

    Only figures graded ``label`` or ``label-secondary`` may drive a blocking safety rule; a ``study``
    figure describes an off-label protocol; a ``reference`` figure is a code or rule read in a published
    code set or coverage document; an ``unverified`` figure is shown as such and never blocks.
    """

    LABEL = "label"  # read in the US prescribing information or the maker's page restating it
    LABEL_SECONDARY = "label-secondary"  # read in a secondary summary of the label
    STUDY = "study"  # a published study or guideline (PMID / DOI)
    REFERENCE = "reference"  # a code set, coverage policy or billing rule
    UNVERIFIED = "unverified"  # not confirmed in any source

    @property
    def may_block(self) -> bool:
        return self in (Grade.LABEL, Grade.LABEL_SECONDARY)


class FigureKind(StrEnum):
    """What the label's wording makes of a figure: the wording decides, not the number.

    ``limit``: worded as a limit ("should not exceed", "maximum … dose", "no sooner than"): blocks when the
    figure is read in the label. ``recommendation``: worded as advice ("recommended dose", "recommended initial
    dose", "in general", "generally", "recommended re-treatment schedule"): warns and says what it recommends.
    """

    LIMIT = "limit"
    RECOMMENDATION = "recommendation"


class SourceKind(StrEnum):
    LABEL = "label"
    STUDY = "study"
    GUIDELINE = "guideline"
    CODING = "coding"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class Source:
    """A document a figure was taken from: a label revision, a paper, a code set."""

    id: str
    kind: SourceKind
    title: str
    url: str | None = None
    revision: str | None = None
    pmid: str | None = None
    doi: str | None = None
    short: str | None = None  # e.g. "PREEMPT 2 (Diener 2010)": how a citation names it on a page

    @property
    def name(self) -> str:
        """The source as a citation names it: its short name, else its title."""
        return self.short or self.title

    @property
    def reference(self) -> str:
        """A short human reference: title, revision or PMID/DOI."""
        parts = [self.title]
        if self.revision:
            parts.append(f"rev. {self.revision}")
        if self.pmid:
            parts.append(f"PMID {self.pmid}")
        if self.doi:
            parts.append(f"DOI {self.doi}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Citation:
    """Where one figure comes from: the source, the place in it and how well it was checked."""

    source: Source
    grade: Grade
    locator: str | None = None  # e.g. "§2.2 Table 2"
    note: str | None = None
    kind: FigureKind | None = None  # for a maximum, interval or per-site figure: limit or recommendation
    wording: str | None = None  # the few words of the source the figure rests on, quoted

    @property
    def may_block(self) -> bool:
        """Whether a finding resting on this citation may block a session rather than warn: a statement read in
        the label (a contraindication, the product's identity), or a limit read in the label and worded as one
        (quoted); never a recommendation."""
        if not self.grade.may_block or self.kind is FigureKind.RECOMMENDATION:
            return False
        return self.kind is None or bool(self.wording)

    def __str__(self) -> str:
        where = f" {self.locator}" if self.locator else ""
        return f"{self.source.name}{where} [{self.grade}]"

    # The hash a frozen dataclass gives (of its fields, in order), worked out once: citations key the planner's
    # memo and every finding a check reports, and hashing one hashes its source's fields too.
    @cached_property
    def _hash(self) -> int:
        return hash((self.source, self.grade, self.locator, self.note, self.kind, self.wording))

    def __hash__(self) -> int:
        return self._hash

    def __getstate__(self) -> dict[str, object]:
        # A hash holds for one process only (text hashes are salted per process): a pickled citation, such as
        # one of the cached knowledge base, leaves it behind, to be worked out again where it is read back.
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state


@dataclass(frozen=True)
class Cited(Generic[T]):
    """A clinical figure together with its citation."""

    value: T
    citation: Citation


def cited_figures(obj: object, path: str = "") -> Iterator[tuple[str, Cited[object]]]:
    """Every cited figure inside ``obj`` (dataclasses, tuples and dicts walked depth first) with its path.

    Used by the knowledge audit and by the tests that require every figure to have a source.
    """
    if isinstance(obj, Cited):
        yield path, obj
        yield from cited_figures(obj.value, path)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if isinstance(obj, (Source, Citation)):
            return
        for field in dataclasses.fields(obj):
            name = f"{path}.{field.name}" if path else field.name
            yield from cited_figures(getattr(obj, field.name), name)
    elif isinstance(obj, tuple):
        for index, item in enumerate(obj):
            keyed = item.value if isinstance(item, Cited) else item
            label = getattr(keyed, "key", None) or str(index)
            yield from cited_figures(item, f"{path}[{label}]")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from cited_figures(item, f"{path}[{key}]")
