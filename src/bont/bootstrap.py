"""The composition root: builds bont's parts the same way for the CLI, the tests and (later) the web app.

Nothing is loaded at import time.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bont.domain.knowledge import KnowledgeBase
from bont.knowledge import load_knowledge
from bont.services.clock import Clock, SystemClock
from bont.settings import BontSettings

if TYPE_CHECKING:
    from bont.services.ports import ClinicalRecords, PatientCharts

DJANGO_SETTINGS = "bont.clinic.django_settings"

KNOWLEDGE_DIR_VARIABLE = "BONT_KNOWLEDGE_DIR"


def knowledge_dir() -> Path | None:
    """A clinic's own copy of the knowledge files, if ``BONT_KNOWLEDGE_DIR`` names one."""
    configured = os.environ.get(KNOWLEDGE_DIR_VARIABLE)
    return Path(configured) if configured else None


@cache
def build_knowledge(data_dir: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base once per process."""
    return load_knowledge(data_dir if data_dir is not None else knowledge_dir())


@cache
def clock() -> Clock:
    """The clinic's clock, in the clinic's time zone (``BONT_TIME_ZONE``, default the machine's zone); read
    once per process, as Django's ``TIME_ZONE`` is."""
    return SystemClock(BontSettings().time_zone)


@cache
def setup_database(migrate: bool = True) -> BontSettings:
    """Configure Django for the database of ``DATABASE_URL`` (default: SQLite in the user's data folder),
    create the SQLite folder, and bring the schema up to date. Called by commands that need records."""
    settings = BontSettings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DJANGO_SETTINGS)
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    return settings


def clinical_records() -> ClinicalRecords:
    setup_database()
    from bont.clinic.repositories import DjangoClinicalRecords

    return DjangoClinicalRecords()


def patient_charts() -> PatientCharts:
    setup_database()
    from bont.clinic.repositories import DjangoPatientCharts

    return DjangoPatientCharts()
