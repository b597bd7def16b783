"""The composition root: builds bont's parts the same way for the CLI, the tests and (later) the web app.

Nothing is loaded at import time, and each part imports its libraries when first built: a knowledge-only
command (``bont plan``, ``bont dilute``) never imports Django, and the YAML loader and its pydantic schema only
when the knowledge base is built.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bont.domain.knowledge import KnowledgeBase
    from bont.knowledge.catalogue import Catalogue
    from bont.services.clock import Clock
    from bont.services.follow_up import FollowUpRecords
    from bont.services.outcome_ports import OutcomeRecords
    from bont.services.ports import ClinicalRecords, PatientCharts
    from bont.settings import BontSettings

DJANGO_SETTINGS = "bont.clinic.django_settings"

KNOWLEDGE_DIR_VARIABLE = "BONT_KNOWLEDGE_DIR"


def knowledge_dir() -> Path | None:
    """A clinic's own copy of the knowledge files, if ``BONT_KNOWLEDGE_DIR`` names one."""
    configured = os.environ.get(KNOWLEDGE_DIR_VARIABLE)
    return Path(configured) if configured else None


@cache
def build_knowledge(data_dir: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base once per process. The knowledge in use (no ``data_dir``) is read
    back from bont's cache when neither its files nor the code that validates them changed since it was
    last validated: the same objects, without parsing and validating the files again."""
    if data_dir is not None:
        from bont.knowledge import load_knowledge

        return load_knowledge(data_dir)
    fingerprint = _knowledge_fingerprint(knowledge_dir())
    cached = _cached_knowledge(knowledge_cache_dir() / f"{fingerprint}.pickle")
    return cached if cached is not None else load_knowledge_files()


def load_knowledge_files(data_dir: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge files themselves, never the cache (``bont knowledge validate``); the
    knowledge in use, once validated, is cached for the next process."""
    from bont.knowledge import load_knowledge

    if data_dir is not None:
        return load_knowledge(data_dir)
    in_use = knowledge_dir()
    knowledge = load_knowledge(in_use)
    _cache_knowledge(knowledge_cache_dir() / f"{_knowledge_fingerprint(in_use)}.pickle", knowledge)
    return knowledge


def load_study_catalogue(knowledge: KnowledgeBase, data_dir: Path | None = None) -> Catalogue:
    """The curated study catalogue of the evidence library (``data/studies``), validated against ``knowledge``."""
    from bont.knowledge import DEFAULT_DATA_DIR
    from bont.knowledge.catalogue import load_catalogue

    return load_catalogue(knowledge, data_dir or knowledge_dir() or DEFAULT_DATA_DIR)


# -- the knowledge cache: reading a validated knowledge base back takes about a tenth of the time of importing
# the loader, parsing the files and validating them again.

KNOWLEDGE_CACHE_ENTRIES = 4  # a few knowledge folders or bont versions side by side; older entries are removed
_PACKAGE = Path(__file__).parent


def knowledge_cache_dir() -> Path:
    """Where validated knowledge bases are kept (the user's cache folder; owner-only)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("bont", appauthor=False)) / "knowledge"


def _knowledge_fingerprint(data_dir: Path | None) -> str:
    """A digest of everything a validated knowledge base depends on: the data files, the domain and loader code
    (with the files shipped beside it), the Python version, and the installed libraries."""
    import hashlib
    import pickle

    digest = hashlib.sha256(f"{sys.version}|{pickle.HIGHEST_PROTOCOL}|{data_dir}".encode())
    roots = [_PACKAGE / "domain", _PACKAGE / "knowledge"] + ([data_dir] if data_dir is not None else [])
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{path.relative_to(root)}\0".encode())
                digest.update(path.read_bytes())
    # Installing, upgrading or removing a library (PyYAML, pydantic, simple-icd-10-cm) changes its folder.
    for folder in sys.path:
        if folder.endswith("site-packages"):
            with contextlib.suppress(OSError):
                digest.update(str(os.stat(folder).st_mtime_ns).encode())
    return digest.hexdigest()


def _cached_knowledge(entry: Path) -> KnowledgeBase | None:
    import pickle

    from bont.domain.knowledge import KnowledgeBase

    try:
        with entry.open("rb") as file:
            # Only a file this user alone could have written is unpickled.
            status = os.fstat(file.fileno())
            if status.st_uid != os.getuid() or status.st_mode & 0o077:
                return None
            knowledge = pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or outdated entry (any unpickling error): the files are validated again
        return None
    return knowledge if isinstance(knowledge, KnowledgeBase) else None


def _cache_knowledge(entry: Path, knowledge: KnowledgeBase) -> None:
    import pickle
    import tempfile

    try:
        data = pickle.dumps(knowledge, protocol=pickle.HIGHEST_PROTOCOL)
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, written = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")  # owner-only
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            os.replace(written, entry)  # atomic: a concurrent reader sees the old entry or the new one
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(written)
        kept = sorted(entry.parent.glob("*.pickle"), key=lambda path: path.stat().st_mtime, reverse=True)
        for old in kept[KNOWLEDGE_CACHE_ENTRIES:]:
            old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        # A read-only home, or a knowledge base that cannot be pickled: bont works as before, only starts slower.
        return


@cache
def clock() -> Clock:
    """The clinic's clock, in the clinic's time zone (``BONT_TIME_ZONE``, default the machine's zone); read
    once per process, as Django's ``TIME_ZONE`` is."""
    from bont.services.clock import SystemClock
    from bont.time_zone import clinic_time_zone

    zone = clinic_time_zone()
    if zone is None:  # a BONT_TIME_ZONE that names no zone: the settings refuse it, with their message
        from bont.settings import BontSettings

        zone = BontSettings().time_zone
    return SystemClock(zone)


@cache
def setup_database(migrate: bool = True) -> BontSettings:
    """Configure Django for the database of ``DATABASE_URL`` (default: SQLite in the user's data folder),
    create the SQLite folder, and bring the schema up to date. Called by commands that need records."""
    from bont.settings import BontSettings, private_file

    settings = BontSettings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = settings.sqlite_file
    if database is not None and not database.exists():
        # Created owner-only before SQLite opens it: SQLite gives its -wal and -shm files the database's mode.
        database.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process created it meanwhile
            private_file(database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DJANGO_SETTINGS)
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    return settings


def clinical_records() -> ClinicalRecords:
    setup_database()
    from bont.clinic.derived import DerivedSummaries
    from bont.clinic.repositories import DjangoClinicalRecords

    return DjangoClinicalRecords(DerivedSummaries(build_knowledge()))


def patient_charts() -> PatientCharts:
    setup_database()
    from bont.clinic.repositories import DjangoPatientCharts

    return DjangoPatientCharts()


def outcome_records() -> OutcomeRecords:
    """The outcome port (measurements, diaries, diary links, continuation settings, registry counts)."""
    setup_database()
    from bont.clinic.derived import DerivedSummaries
    from bont.clinic.outcome_records import DjangoOutcomeRecords

    return DjangoOutcomeRecords(DerivedSummaries(build_knowledge()))


def follow_up_records() -> FollowUpRecords:
    """The follow-up list's reads (a page of the assessments due, kept per patient; a page of charts)."""
    setup_database()
    from bont.clinic.follow_up_records import DjangoFollowUpRecords

    return DjangoFollowUpRecords()


# Patients, users and API tokens, adverse events, the database and the demo clinic.
if TYPE_CHECKING:
    from datetime import date as _date

    from bont.clinic.database import DatabaseState
    from bont.services.access_log import AccessLog
    from bont.services.adverse_events import AdverseEvents
    from bont.services.patients import PatientRegistry
    from bont.services.users import UserAccounts


def patient_registry() -> PatientRegistry:
    setup_database()
    from bont.clinic.patient_records import DjangoPatientRegistry

    return DjangoPatientRegistry()


def access_log() -> AccessLog:
    """The reads of patient data (who opened, printed or exported what) and the clinic-wide audit search."""
    setup_database()
    from bont.clinic.access_log import DjangoAccessLog

    return DjangoAccessLog()


def name_operator(username: str) -> Callable[[], None] | None:
    """Record the command line's operator as the user of every change the command makes; returns what forgets
    them at the command's end, or None when no active user has that username."""
    setup_database()
    from bont.clinic.access_log import forget_operator
    from bont.clinic.access_log import name_operator as name

    return forget_operator if name(username) else None


def user_accounts() -> UserAccounts:
    setup_database()
    from bont.clinic.accounts import DjangoUserAccounts

    return DjangoUserAccounts()


def adverse_events() -> AdverseEvents:
    setup_database()
    from bont.clinic.adverse_events import DjangoAdverseEvents

    return DjangoAdverseEvents()


def database_info() -> tuple[BontSettings, DatabaseState]:
    """The settings and the state of the configured database (engine, pending migrations), without migrating."""
    settings = setup_database(migrate=False)
    from bont.clinic.database import database_state

    return settings, database_state()


def load_demo_clinic(today: _date) -> dict[str, int]:
    """Load the fictional demo clinic into an empty database; returns what was loaded (patients, sessions,
    refused, outcomes)."""
    knowledge = build_knowledge()
    setup_database()
    from bont.clinic.demo import load_demo

    return load_demo(knowledge, today)


def load_scale_clinic(patients: int, today: _date, progress: Callable[[str], None]) -> dict[str, int]:
    """Write a fictional clinic of ``patients`` patients into an empty database (``bont demo --scale``)."""
    knowledge = build_knowledge()
    setup_database()
    from bont.clinic.scale import load_scale

    return load_scale(knowledge, patients, today, progress)


def refresh_responder_verdicts(progress: Callable[[int, int], None]) -> int:
    """Judge every patient's latest responder verdicts again with the knowledge in use (``bont research
    refresh``), and summarise the Follow-up list again (which diary assesses which indication is the knowledge's
    answer too); returns how many patients."""
    knowledge = build_knowledge()
    setup_database()
    from bont.clinic.derived import fill_follow_up_summaries
    from bont.clinic.responder_verdicts import rebuild

    judged = rebuild(knowledge, progress)
    fill_follow_up_summaries(knowledge)
    return judged


def demo_sign_in() -> tuple[str, tuple[tuple[str, str], ...]]:
    """The demo clinic's password and its users with their roles."""
    from bont.clinic.demo import DEMO_PASSWORD, USERS

    return DEMO_PASSWORD, tuple(USERS)


# Lots and vials, billing and recorded sessions.
if TYPE_CHECKING:
    from bont.services.billing import BillingRecords
    from bont.services.inventory import Inventory
    from bont.services.sessions import SessionRecords


def inventory() -> Inventory:
    """The lots and vials (receiving, reconstitution, recall, the vials a session can draw from)."""
    setup_database()
    from bont.clinic.inventory_records import DjangoInventory

    return DjangoInventory()


def billing_records() -> BillingRecords:
    setup_database()
    from bont.clinic.billing_records import DjangoBillingRecords

    return DjangoBillingRecords()


def place_of_service() -> str | None:
    """The clinic's place of service on claims (``BONT_PLACE_OF_SERVICE``); None: the knowledge's default."""
    from bont.settings import BontSettings

    return BontSettings().place_of_service


def session_records() -> SessionRecords:
    """The recorded sessions (a session's page, a patient's sessions, withdrawing one entered in error)."""
    setup_database()
    from bont.clinic.derived import DerivedSummaries
    from bont.clinic.session_records import DjangoSessionRecords

    return DjangoSessionRecords(DerivedSummaries(build_knowledge()))


if TYPE_CHECKING:
    from bont.services.fhir_exchange import FhirExchange


def fhir_exchange(clinic_clock: Clock | None = None) -> FhirExchange:
    """The FHIR export use cases (``bont fhir``, the ``/fhir/`` API) over the clinic's records, on the clinic's
    clock unless another is given (a registry export's, stopped at the day its tables were read)."""
    from bont.interop.fhir import R4Mapping
    from bont.services.fhir_exchange import FhirExchange

    return FhirExchange(
        registry=patient_registry(),
        charts=patient_charts(),
        sessions=session_records(),
        outcomes=outcome_records(),
        inventory=inventory(),
        mapping=R4Mapping(build_knowledge()),
        clock=clinic_clock or clock(),
    )


if TYPE_CHECKING:
    from bont.services.fhir_import import OutsideHistoryRecords


def outside_history_records() -> OutsideHistoryRecords:
    """The unit of work an import of outside history writes in (``bont fhir import``, ``POST /fhir/``)."""
    setup_database()
    from bont.clinic.outside_history_records import DjangoOutsideHistoryRecords

    return DjangoOutsideHistoryRecords()


# The database itself: backup, restore and the first start of the web app.
def sqlite_database_file() -> Path:
    """The SQLite file in use (call only when DATABASE_URL is unset or names SQLite)."""
    setup_database()
    from bont.clinic.database import sqlite_file

    return Path(sqlite_file())


def back_up_sqlite(target: Path) -> None:
    """An online backup of the SQLite database into the new owner-only file ``target`` (``FileExistsError``
    when it exists)."""
    from bont.clinic.database import copy_sqlite

    copy_sqlite(sqlite_database_file(), target)


def restore_problem(backup: Path) -> str | None:
    """Why ``backup`` cannot be restored (not SQLite, not bont's, a newer bont's, damaged), or None."""
    setup_database(migrate=False)
    from bont.clinic.database import restore_problem as problem

    return problem(backup)


def restore_sqlite(backup: Path) -> Path | None:
    """Replace the SQLite database with ``backup``; returns where the replaced database is kept (a new name),
    None when there was none. Raises ``ValueError`` (nothing changed) for a file it refuses or the live database."""
    from datetime import UTC, datetime

    settings = setup_database(migrate=False)
    from bont.clinic.database import restore_sqlite as restore

    live = settings.sqlite_file
    if live is None:
        raise ValueError("restore_sqlite needs an SQLite database")
    return restore(backup, live, datetime.now(UTC))


def close_database_connections() -> None:
    """Close this process's database connections: a server's worker processes must not share them."""
    from bont.clinic.database import close_connections

    close_connections()


def clinic_is_empty() -> bool:
    setup_database()
    from bont.clinic.database import holds_no_patient

    return holds_no_patient()


def user_exists(username: str) -> bool:
    setup_database()
    from bont.clinic.database import has_user

    return has_user(username)


# The evidence library: its curated catalogue (the knowledge files of data/studies) and where it is kept.
if TYPE_CHECKING:
    from bont.services.evidence_library import StudyLibrary


@cache
def study_catalogue() -> Catalogue:
    """The curated study catalogue of the knowledge in use, validated once per process."""
    return load_study_catalogue(build_knowledge())


@cache
def _catalogue_fingerprint() -> str:
    """A digest of the catalogue's files and of the code that reads and stores them: a change to either writes
    the catalogue into the library again."""
    import hashlib

    from bont.knowledge import DEFAULT_DATA_DIR
    from bont.knowledge.catalogue import STUDIES_FOLDER

    digest = hashlib.sha256()
    folder = (knowledge_dir() or DEFAULT_DATA_DIR) / STUDIES_FOLDER
    code = [
        _PACKAGE / "domain" / "studies.py",
        _PACKAGE / "knowledge" / "catalogue.py",
        _PACKAGE / "knowledge" / "schema.py",
        _PACKAGE / "clinic" / "evidence_records.py",
    ]
    for path in [*sorted(folder.glob("*.yaml")), *code]:
        digest.update(f"{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def study_library() -> StudyLibrary:
    """The evidence library on the clinic's database, as it is: requests only read it (the curated catalogue is
    written by ``keep_study_catalogue``, when the server starts and by the ``bont evidence`` commands)."""
    setup_database()
    from bont.clinic.evidence_records import DjangoStudyLibrary

    return DjangoStudyLibrary()


def keep_study_catalogue() -> bool:
    """Write the curated study catalogue into the evidence library when its files (or the code that reads and
    stores them) changed since it was last written: one query when they did not. Safe with several processes at
    once (one writes, the others find it written). Returns whether this process wrote it."""
    from bont.services.evidence_library import keep_catalogue

    library = study_library()
    fingerprint = _catalogue_fingerprint()
    if library.catalogue_fingerprint() == fingerprint:
        return False
    catalogue = study_catalogue()
    return keep_catalogue(library, catalogue.studies, catalogue.trials, fingerprint)


# Registry analytics: researchers' saved cohorts, the analytics engine over the clinic's own records or over
# several sites' exports, and the de-identified export.
if TYPE_CHECKING:
    from collections.abc import Sequence

    from bont.services.registry_analytics import AnalysisEngine, Exporter, SavedCohorts

# The site code of the clinic's own records analysed in memory (never written: exports name their own site).
LOCAL_SITE = "LOCAL"


def saved_cohorts() -> SavedCohorts:
    setup_database()
    from bont.clinic.cohort_records import DjangoSavedCohorts

    return DjangoSavedCohorts()


def registry_engine() -> AnalysisEngine:
    """The analytics engine over the clinic's records, read in bulk with real dates: in memory only, and only
    aggregates leave it."""
    setup_database()
    from bont.clinic.research_dataset import extract_dataset
    from bont.interop.registry.engine import RegistryEngine

    dataset = extract_dataset(build_knowledge(), site=LOCAL_SITE, today=clock().today(), shift=False)
    return RegistryEngine.from_tables(dataset.tables)


# How long the web server keeps the clinic's records read for analysis: the cohort builder asks for a size as each
# criterion is typed, and reading every record again each time costs seconds at a clinic's size. A researcher sees
# records at most this old (the Research page says so).
REGISTRY_KEPT_SECONDS = 60
_registry_read: list[tuple[float, AnalysisEngine]] = []
_registry_reading = threading.Lock()  # held by the one thread reading the records again


def kept_registry_engine() -> AnalysisEngine:
    """``registry_engine``, kept by the process for ``REGISTRY_KEPT_SECONDS`` and shared by its threads: while
    one thread reads the records again, the others go on with the records read before (or wait for the first)."""
    import time

    kept = _registry_read[-1] if _registry_read else None
    if kept is not None and time.monotonic() - kept[0] < REGISTRY_KEPT_SECONDS:
        return kept[1]
    if not _registry_reading.acquire(blocking=kept is None):
        assert kept is not None
        return kept[1]
    try:
        kept = _registry_read[-1] if _registry_read else None
        if kept is None or time.monotonic() - kept[0] >= REGISTRY_KEPT_SECONDS:  # not read while this one waited
            kept = (time.monotonic(), registry_engine())
            _registry_read[:] = [kept]
        return kept[1]
    finally:
        _registry_reading.release()


def combined_engine(folders: Sequence[Path]) -> AnalysisEngine:
    """The analytics engine over several sites' de-identified exports (``FieldError`` naming a folder that is not
    an export, or two exports of one site)."""
    from bont.interop.registry.engine import RegistryEngine
    from bont.interop.registry.export import combine

    return RegistryEngine.from_folders(combine(folders).folders)


def research_exporter() -> Exporter:
    """Writes the de-identified export of a request (``bont research export``, the Research page, the API)."""
    import secrets
    from collections.abc import Mapping
    from typing import Any

    from bont.domain.research.disclosure import MinimumK
    from bont.services.registry_analytics import ExportFormat, ExportRequest
    from bont.services.research import verdict_basis

    setup_database()
    from bont.clinic.research_dataset import extract_dataset
    from bont.interop.registry.engine import RegistryEngine
    from bont.interop.registry.export import MANIFEST, restricted_to, write_export, write_fhir_export

    def write(request: ExportRequest) -> Mapping[str, Any]:
        import json

        from bont.services.clock import FixedClock

        # One moment for the whole export: the tables and the NDJSON end at the same horizon.
        knowledge, read_at = build_knowledge(), FixedClock(clock().now())
        today = read_at.today()
        secret = secrets.token_bytes(32)  # drawn per export, never written
        dataset = extract_dataset(knowledge, site=request.site, today=today, secret=secret)
        tables = dataset.tables
        if request.cohort is not None:
            # The cohort's criteria are on real dates: its members are found in the unshifted extract, whose
            # pseudonyms (same secret) are the export's, cut where the export is, so that nothing the export
            # leaves out decides who is in it.
            real = extract_dataset(knowledge, site=request.site, today=today, secret=secret, shift=False, cut=True)
            tables = restricted_to(tables, RegistryEngine.from_tables(real.tables).patients(request.cohort))
        fingerprint = verdict_basis(knowledge)
        if request.format is ExportFormat.NDJSON:
            write_fhir_export(
                fhir_exchange(read_at), tables, request.folder, site=request.site,
                minimum_k=MinimumK(request.minimum_k),
                event_term=knowledge.adverse_event_id, knowledge_fingerprint=fingerprint,
            )  # fmt: skip
        else:
            write_export(
                tables, request.folder, site=request.site, file_format=str(request.format),
                minimum_k=MinimumK(request.minimum_k), knowledge_fingerprint=fingerprint,
                unreadable_diary_days=dataset.unreadable_diary_days,
            )  # fmt: skip
        manifest: dict[str, Any] = json.loads((request.folder / MANIFEST).read_text(encoding="utf-8"))
        return manifest

    return write
