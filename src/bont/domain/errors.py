"""bont's error hierarchy.

BontError
├── MixedProductUnitsError   units of two different products were combined
├── UnknownIdError           an id that the knowledge base does not hold (carries the nearest ids)
└── KnowledgeError           a knowledge file is missing, malformed or inconsistent (names file and field)
"""

from __future__ import annotations


class BontError(Exception):
    """Base class of every error bont raises on purpose."""


class MixedProductUnitsError(BontError, TypeError):
    """Units of one botulinum toxin product were added to or compared with units of another.

    Every US label states that potency units are specific to the product and are not interchangeable.
    """

    def __init__(self, left: str, right: str) -> None:
        super().__init__(
            f"units of {left} and {right} cannot be combined: a unit of one botulinum toxin product "
            "is not a unit of another"
        )
        self.left = left
        self.right = right


class UnknownIdError(BontError, LookupError):
    """An id that the knowledge base does not hold."""

    def __init__(self, kind: str, wanted: str, suggestions: tuple[str, ...]) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} '{wanted}'{hint}")
        self.kind = kind
        self.wanted = wanted
        self.suggestions = suggestions


class KnowledgeError(BontError, ValueError):
    """A knowledge file failed to load or validate; the message names the file and the field."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        super().__init__(f"{file}: {field}: {problem}")
        self.file = file
        self.field = field
        self.problem = problem


class FieldError(BontError, ValueError):
    """Input that was refused; ``field`` names where (e.g. ``weight_kg``, ``plan.sites.0.units``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class PlanningError(FieldError):
    """A plan or a safety check cannot be made from the input given; ``muscle`` names the muscle (target id)
    the problem is about, when it is about one, so that a form can show it beside that muscle's row."""

    def __init__(self, field: str, problem: str, *, muscle: str | None = None) -> None:
        super().__init__(field, problem)
        self.muscle = muscle
