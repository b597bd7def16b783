"""The analysis dataset: its tables and columns, each described; it *is* the data dictionary researchers read.

The same tables exist in memory (the engine over the clinic's own database), in CSV and in Parquet (a
de-identified export). Every table starts with ``site`` (the site code) and ``patient`` (a pseudonym drawn for
each export: never the record number or a database id). In an export every date of a patient is moved by the
same secret offset of 1 to 52 whole weeks into the past (:func:`bont.domain.research.deidentification.date_offset`),
so that intervals between a patient's dates are true while no date is; in memory dates are real but only
aggregates leave the engine. An export ends at its horizon (``export_horizon`` of the same module, 365 days before
it is made): a record whose shifted date is later is left out, so each patient's records end at a
secret real day of their own in the year before the export and nobody's offset can be read off the day of the
export. Every patient's end of follow-up is that horizon, and whether a series was discontinued is judged on the
patient's own last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bont.domain.research.analyses import DISCONTINUED_AFTER_DAYS

# An adverse event typed as no term of the vocabulary: its text may name anyone, so only this is exported.
OTHER_ADVERSE_EVENT = "other"


class ColumnType(StrEnum):
    """The type of a column's values, named as a researcher would read them (not a storage type)."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    unit: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


_SHIFTED = "; in an export shifted by the patient's secret offset, like all of the patient's dates"

SITE = Column(
    "site",
    ColumnType.STRING,
    "The code of the clinic the row comes from (2 to 20 letters, digits or dashes), chosen by the clinic for the "
    "export; it tells sites apart in a multi-site study and names no one.",
)
PATIENT = Column(
    "patient",
    ColumnType.STRING,
    "The patient's pseudonym: the site code and 16 hexadecimal characters drawn from a secret made for this "
    "export alone and never written down. The same patient has the same pseudonym throughout one export and a "
    "different one in every other export; it is never the record number or a database id.",
)

PATIENTS = Table(
    "patients",
    "One row per patient who has at least one session in the dataset.",
    (
        SITE,
        PATIENT,
        Column("sex", ColumnType.STRING, "The sex recorded in the chart: female, male, other or unknown."),
        Column(
            "age_band",
            ColumnType.STRING,
            "Age in whole years at the patient's first session in the dataset, as a band: 0-17, 18-29, 30-39, "
            "40-49, 50-59, 60-69, 70-79, 80-89 or 90+ (every age over 89 is 90+). The date of birth is not in "
            "the dataset.",
            "years",
        ),
        Column(
            "follow_up_end",
            ColumnType.DATE,
            "The end of the patient's follow-up, at which a time to retreatment still running is censored. In an "
            "export: its horizon, 365 days before the export was made, the same shifted day for every patient; each "
            "patient's records end at a real day of their own in the year before the export, which their date "
            "offset moves to this day, and nothing later is in the export. In the clinic's own analyses (in "
            "memory, dates real): the day the data was read.",
        ),
    ),
)

CONDITIONS = Table(
    "conditions",
    "One row per active condition of a patient that is coded in ICD-10-CM; conditions recorded only as text "
    "are not exported (free text can name people and places).",
    (
        SITE,
        PATIENT,
        Column("code", ColumnType.STRING, "The condition's ICD-10-CM code, upper case with its dot (G43.709)."),
    ),
)

SESSIONS = Table(
    "sessions",
    "One row per injection session of the clinic: withdrawn (entered in error) sessions and doses the patient "
    "was given elsewhere are not in it.",
    (
        SITE,
        PATIENT,
        Column(
            "session",
            ColumnType.STRING,
            "The session's pseudonym, drawn like the patient's; adverse events name the session they followed by it.",
        ),
        Column("day", ColumnType.DATE, "The day the session was given" + _SHIFTED + "."),
        Column("indication", ColumnType.STRING, "The indication treated: the id of bont's knowledge base."),
        Column("product", ColumnType.STRING, "The botulinum toxin product given: the id of bont's knowledge base."),
        Column(
            "population",
            ColumnType.STRING,
            "The population the session's plan was made for (adult, pediatric), as a knowledge-base id; empty when "
            "the plan does not say.",
        ),
        Column(
            "units",
            ColumnType.DECIMAL,
            "The total dose of the session in the product's own units. A unit of one product is not a unit of "
            "another: units are never summed, averaged or compared across products.",
            "units of the product",
        ),
        Column(
            "cycle",
            ColumnType.INTEGER,
            "The treatment cycle the session opens for its indication: 1 for the patient's first session day for "
            "that indication in the dataset, 2 for the next distinct day, and so on (two sessions on one day "
            "share a cycle).",
        ),
    ),
)

SERIES = Table(
    "series",
    "One row per patient and indication treated (a series of sessions), with whether it was discontinued, judged "
    "at the patient's end of follow-up.",
    (
        SITE,
        PATIENT,
        Column("indication", ColumnType.STRING, "The indication treated: the id of bont's knowledge base."),
        Column(
            "discontinued",
            ColumnType.BOOLEAN,
            f"Whether the series' last session was more than {DISCONTINUED_AFTER_DAYS} days before the patient's "
            "end of follow-up (follow_up_end in the patients table).",
        ),
    ),
)

MEASUREMENTS = Table(
    "measurements",
    "One row per outcome-scale measurement stored in the chart, whatever its source (withdrawn ones excluded), as "
    "the chart reads them. Measures the chart derives from diary days (headache days, voids over a window) are not "
    "here: the diary days are, in diary_days.",
    (
        SITE,
        PATIENT,
        Column("indication", ColumnType.STRING, "The indication the measurement follows, as a knowledge-base id."),
        Column("instrument", ColumnType.STRING, "The outcome scale, as a knowledge-base id (its units are its own)."),
        Column("day", ColumnType.DATE, "The day the measurement was taken" + _SHIFTED + "."),
        Column(
            "period_start",
            ColumnType.DATE,
            "The first day of the period the measurement describes, when it describes one (empty otherwise)"
            + _SHIFTED
            + ".",
        ),
        Column(
            "value",
            ColumnType.DECIMAL,
            "The score, in the instrument's units; for a graded scale (modified Ashworth, HDSS) the grade's rank on "
            "the scale, 0 for its first grade.",
            "the instrument's units",
        ),
        Column(
            "entry",
            ColumnType.INTEGER,
            "The measurement's place in the order the patient's measurements were entered (1 for the first): of two "
            "scores of one instrument on one day, the chart takes the one entered last.",
        ),
    ),
)

DIARY_DAYS = Table(
    "diary_days",
    "One row per diary day a patient recorded, headache or bladder. A headache day's classes are decided by "
    "bont's outcome rules when the dataset is built (the same rules the chart applies).",
    (
        SITE,
        PATIENT,
        Column("kind", ColumnType.STRING, "The diary: headache or bladder."),
        Column("day", ColumnType.DATE, "The day the entry describes" + _SHIFTED + "."),
        Column("headache_day", ColumnType.BOOLEAN, "Whether the day counts as a headache day; empty for bladder."),
        Column("migraine_day", ColumnType.BOOLEAN, "Whether the day counts as a migraine day; empty for bladder."),
        Column(
            "acute_medication_day",
            ColumnType.BOOLEAN,
            "Whether acute headache medication was taken on the day; empty for bladder.",
        ),
        Column("voids", ColumnType.INTEGER, "Number of voids on the day; empty for headache.", "voids per day"),
        Column(
            "incontinence_episodes",
            ColumnType.INTEGER,
            "Number of urinary incontinence episodes on the day; empty for headache.",
            "episodes per day",
        ),
    ),
)

ADVERSE_EVENTS = Table(
    "adverse_events",
    "One row per adverse event recorded after a session (withdrawn ones excluded). Only the coded term is "
    "exported: the free-text account is not.",
    (
        SITE,
        PATIENT,
        Column(
            "session",
            ColumnType.STRING,
            "The pseudonym of the session the event is suspected to follow; empty when none is named.",
        ),
        Column("day", ColumnType.DATE, "The day the event began" + _SHIFTED + "."),
        Column(
            "term",
            ColumnType.STRING,
            f"The event's term, as an id of bont's adverse-event vocabulary; '{OTHER_ADVERSE_EVENT}' for an event "
            "typed as no term of it (what was typed is free text and is never exported).",
        ),
        Column("severity", ColumnType.STRING, "The severity recorded: mild, moderate or severe."),
        Column("serious", ColumnType.BOOLEAN, "Whether the event met a regulatory criterion of seriousness."),
    ),
)

DATASET: tuple[Table, ...] = (PATIENTS, CONDITIONS, SESSIONS, SERIES, MEASUREMENTS, DIARY_DAYS, ADVERSE_EVENTS)


def table(name: str) -> Table:
    """The dataset's table of that name."""
    for candidate in DATASET:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
