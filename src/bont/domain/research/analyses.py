"""The registry analyses' raw results, before small-cell suppression, and the method each is shown with.

These are what the analytics engine (``bont.interop.registry``) returns for a cohort; nothing here is published
as it is: :mod:`bont.domain.research.disclosure` turns each into the table a researcher sees. Counts are of
patients or sessions as each field says; units are always one product's own units.

The statistical methods are cited as methods (not clinical facts): Wilson's score interval (Wilson EB,
"Probable inference, the law of succession, and statistical inference", *J Am Stat Assoc* 1927;22:209–212),
the product-limit estimator (Kaplan EL, Meier P, "Nonparametric estimation from incomplete observations",
*J Am Stat Assoc* 1958;53:457–481) and Greenwood's variance of it (Greenwood M, "The natural duration of
cancer", *Reports on Public Health and Medical Subjects* 33, HMSO 1926).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# A patient whose last session for an indication is more than this many days before the records are read is
# counted as having discontinued it. A data rule of the registry (no label or guideline states one), shown on
# the page with the analysis: a year is longer than any usual retreatment interval, so a gap this long is not a
# late cycle.
DISCONTINUED_AFTER_DAYS = 365

# The width of a published Kaplan–Meier step: a month, so that no step tells on which day anyone was retreated
# (a usual retreatment interval of 12 weeks spans three of them). A rule of disclosure control, not of the field.
RETREATMENT_BIN_DAYS = 30

WILSON = (
    "Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc 1927;22:209–212."
)
KAPLAN_MEIER = (
    "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc 1958;53:457–481."
)
GREENWOOD = (
    "Greenwood M. The natural duration of cancer. Reports on Public Health and Medical Subjects 33. London: HMSO, 1926."
)
STUDENT = "Student. The probable error of a mean. Biometrika 1908;6:1–25."


@dataclass(frozen=True)
class Method:
    """How an analysis counts, in words a reader checks the numbers against, and the methods it cites."""

    name: str
    description: str
    definitions: tuple[str, ...]
    citations: tuple[str, ...] = ()


@dataclass(frozen=True)
class CohortSize:
    patients: int
    sessions: int


@dataclass(frozen=True)
class ResponderCycle:
    """How the cohort's patients were judged at one cycle, by one responder definition of one instrument.

    Cycle 1 is judged on the last measurement before the second session (against the baseline before the
    first), and so on; a patient is counted once per cycle, definition and instrument."""

    indication: str
    instrument: str
    definition_id: str
    cycle: int
    responders: int
    non_responders: int
    not_assessable: int

    @property
    def judged(self) -> int:
        """Patients with a verdict: the denominator of the responder rate (the not assessable are not in it)."""
        return self.responders + self.non_responders


@dataclass(frozen=True)
class ScaleChange:
    """Change from baseline (follow-up − baseline, in the instrument's units) at one cycle: the number of
    patients with both, their mean change and its sample standard deviation (0.0 for a single patient). The
    instrument's direction says whether a fall or a rise is the better."""

    indication: str
    instrument: str
    cycle: int
    n: int
    mean_change: float
    sd: float


@dataclass(frozen=True)
class DoseByCycle:
    """The dose per session at one cycle, in one product's own units: never pooled across products."""

    product: str
    cycle: int
    sessions: int
    median: float
    q1: float
    q3: float


@dataclass(frozen=True)
class RetreatmentStep:
    """One step of the Kaplan–Meier curve: at ``day`` days after a session, ``at_risk`` intervals still open,
    ``events`` ended by a next session that day and ``censored`` ended by the end of follow-up; ``survival`` is
    the estimated share of intervals still without a next session after that day, with its 95 % CI."""

    day: int
    at_risk: int
    events: int
    censored: int
    survival: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class RetreatmentCurve:
    """Time from a session to the patient's next session for the same indication. ``median_days`` is the first
    day the survival falls to 0.5 or below (None while it has not); ``events`` and ``censored`` count intervals."""

    indication: str
    steps: tuple[RetreatmentStep, ...]
    median_days: int | None
    patients: int
    events: int
    censored: int


@dataclass(frozen=True)
class AdverseEventRate:
    """Adverse events of one term and seriousness among the cohort's sessions."""

    term: str
    serious: bool
    events: int
    sessions: int

    @property
    def per_100_sessions(self) -> float | None:
        return self.events * 100 / self.sessions if self.sessions else None


class ContinuationStatus(StrEnum):
    CONTINUING = "continuing"
    DISCONTINUED = "discontinued"


class DiscontinuationReason(StrEnum):
    """Why a discontinued series stopped, as far as the dataset can tell; checked in this order."""

    NO_RESPONSE = "no response at the last judged cycle"
    ADVERSE_EVENT = "adverse event after the last session"
    NONE_RECORDED = "no reason recorded"


@dataclass(frozen=True)
class ContinuationRow:
    """Patients (per indication series) with a status and, for the discontinued, a reason (None when continuing)."""

    status: ContinuationStatus
    reason: DiscontinuationReason | None
    patients: int


_CELL = "Every count under the minimum cell size is suppressed, with every figure that would give it back."
_COMPLEMENT = (
    "Where the cells add up to a total another table states, no hidden cell is left alone and the hidden cells "
    "together hold at least the minimum cell size (complementary suppression)."
)

SIZE = Method(
    "Cohort size",
    "The patients and sessions that match the cohort: a patient is in it for an indication when one or more of "
    "their sessions for it match every criterion; only those sessions are counted.",
    (
        "A session is one visit's injections of one product for one indication; withdrawn sessions and doses given "
        "elsewhere are not in the dataset.",
        "The sessions are not shown while they exceed the patients by fewer than the minimum cell size: the "
        "difference is the cohort's repeat sessions (in a one-indication cohort, its retreatments).",
        "A cohort that differs from the whole clinic by fewer than the minimum cell size of patients or sessions "
        "is not described, nor analysed: its figures subtracted from the whole clinic's would describe those few.",
        _CELL,
    ),
)

RESPONDERS = Method(
    "Responders per cycle",
    "For each indication, instrument, responder definition and cycle: the patients judged responders, "
    "non-responders and not assessable, and the responder rate among the judged with its 95 % Wilson score "
    "interval.",
    (
        "Cycle n runs from the n-th distinct session day for the indication to the next one; the latest cycle "
        "runs to the end of follow-up.",
        "Baseline is the last measurement on or before the first session day; a cycle is judged on its last "
        "measurement against the baseline, by the definition's rule and threshold as the knowledge base states "
        "them (the same rules the chart applies to each patient).",
        "A measurement whose period contains a session day strictly inside it belongs to no cycle.",
        "Headache diary measures are counted per 28 days over the 28 days before a session (at least 20 days "
        "recorded), bladder diary measures per day over the 7 days before (at least 3 days recorded).",
        "Not assessable: no baseline or no follow-up measurement for the cycle; they are not in the rate's "
        "denominator.",
        "A row's three counts add up to the patients who reached the cycle, which other rows and the dose table "
        "state: a row hides none, or two or more of them holding together at least the minimum cell size, and its "
        "responders and non-responders always together (with the rate and interval).",
        _CELL,
    ),
    (WILSON,),
)

SCALE_CHANGE = Method(
    "Change from baseline",
    "For each indication, instrument and cycle: the mean change from baseline (follow-up − baseline, in the "
    "instrument's units) of the patients with both, its standard deviation and its 95 % confidence interval.",
    (
        "Baseline and follow-up are chosen as for the responder analysis.",
        "The instrument's direction says which way is better: for most scales a fall.",
        "The interval is the mean ± Student's t quantile (n − 1 degrees of freedom) × SD / √n.",
        _CELL,
    ),
    (STUDENT,),
)

DOSES = Method(
    "Dose per session by cycle",
    "For each product and cycle: the number of sessions and the median dose per session with its quartiles, in "
    "that product's own units.",
    (
        "A unit of one botulinum toxin product is not a unit of another: doses are never pooled, averaged or "
        "compared across products.",
        "Quartiles are interpolated linearly between the ordered doses.",
        "The cells add up to the cohort's sessions; the median and quartiles of a hidden cell are hidden with it.",
        _CELL,
        _COMPLEMENT,
    ),
)

RETREATMENT = Method(
    "Time to retreatment",
    "For each indication: the Kaplan–Meier estimate of the share of sessions not yet followed by the patient's "
    "next session for the same indication, by days since the session, with its 95 % confidence band and median.",
    (
        "Each interval runs from a session day to the patient's next session day for the indication (an event).",
        "The last interval of each patient is censored at the end of follow-up: the day the records were read, or "
        "in an export its horizon, 365 days before it was made (nothing of any patient is exported after it).",
        "The confidence band uses Greenwood's variance on the log(−log) scale, which stays within 0 and 1.",
        "The median is the first day the estimate falls to 0.5 or below.",
        f"Only the estimate at the end of each {RETREATMENT_BIN_DAYS}-day interval is shown, once at least the "
        "minimum cell size of retreatments has accrued since the last shown step, and only while at least that "
        "many intervals remain at risk: per-day steps would give each day's retreatments and numbers at risk "
        "back. The median is shown only within the shown part of the curve.",
        "A curve is not shown at all for fewer patients or retreatments than the minimum cell size; the curves' "
        "retreatments and censored intervals add up to the cohort's session days.",
        _CELL,
        _COMPLEMENT,
    ),
    (KAPLAN_MEIER, GREENWOOD),
)

ADVERSE_EVENTS = Method(
    "Adverse events per 100 sessions",
    "For each adverse-event term and seriousness: the events recorded after the cohort's sessions, per 100 sessions.",
    (
        "Rate = events ÷ sessions × 100; a patient may contribute several events and sessions.",
        "Serious: an event meeting a regulatory criterion (death, life-threatening, hospitalisation, disability, "
        "congenital anomaly or another important medical event; ICH E2A).",
        "Events withdrawn as entered in error are not counted.",
        "The sessions are the cohort's: hidden (with every rate) when the cohort's size hides them.",
        _CELL,
    ),
)

CONTINUATION = Method(
    "Continuation and discontinuation",
    "For each patient and indication of the cohort: whether treatment continues or was discontinued, and for "
    "the discontinued the reason the dataset shows.",
    (
        f"Discontinued: the last session is more than {DISCONTINUED_AFTER_DAYS} days before the day the records "
        "were read (a rule of this registry, not of a label or guideline); otherwise continuing.",
        f"Reason, first that applies: '{DiscontinuationReason.NO_RESPONSE}' when the main responder definition "
        "judged the last judged cycle a non-response; "
        f"'{DiscontinuationReason.ADVERSE_EVENT}' when a serious adverse event began after the last session; "
        f"else '{DiscontinuationReason.NONE_RECORDED}'.",
        _CELL,
        _COMPLEMENT,
    ),
)

METHODS: tuple[Method, ...] = (SIZE, RESPONDERS, SCALE_CHANGE, DOSES, RETREATMENT, ADVERSE_EVENTS, CONTINUATION)
