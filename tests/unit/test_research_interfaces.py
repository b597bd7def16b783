"""Registry analytics' interfaces on fakes: the published analyses (what every page, command and API call shows),
saved cohorts, and the ``bont research`` commands in process. The engine's own arithmetic is tested with the
engine (test_research_engine.py); here a fake engine returns raw results and the interfaces must publish them
suppressed, with their methods, and never repeat an input that was refused."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bont.bootstrap import build_knowledge
from bont.domain.errors import FieldError
from bont.domain.knowledge import KnowledgeBase
from bont.domain.research.analyses import (
    AdverseEventRate,
    CohortSize,
    ContinuationRow,
    ContinuationStatus,
    DiscontinuationReason,
    DoseByCycle,
    ResponderCycle,
    RetreatmentCurve,
    RetreatmentStep,
    ScaleChange,
)
from bont.domain.research.cohorts import CohortDefinition
from bont.services.access_log import Action
from bont.services.registry_analytics import (
    NOT_ADVICE,
    CohortOwnedByOther,
    ExportFormat,
    ExportRequest,
    SavedCohorts,
    StoredCohort,
    analyse,
    analyses_document,
    export_dataset,
    save_cohort,
    saved_cohort,
)
from tests.commands import bont
from tests.fakes import FakeAccessLog

MIGRAINE, BOTOX = "chronic-migraine", "onabotulinumtoxina"
SAVED_AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


class FakeSavedCohorts(SavedCohorts):
    def __init__(self) -> None:
        self.stored: dict[str, StoredCohort] = {}

    def save(self, name: str, definition: Mapping[str, Any], username: str) -> None:
        if name in self.stored and self.stored[name].created_by != username:
            raise CohortOwnedByOther(name)
        self.stored[name] = StoredCohort(name, dict(definition), username, SAVED_AT)

    def named(self, name: str) -> StoredCohort | None:
        return self.stored.get(name)

    def all(self) -> tuple[StoredCohort, ...]:
        return tuple(self.stored[name] for name in sorted(self.stored))


class FakeEngine:
    """Raw results as the engine gives them: some cells large, some small enough to be suppressed."""

    def __init__(self) -> None:
        self.asked: list[CohortDefinition] = []

    def size(self, cohort: CohortDefinition) -> CohortSize:
        self.asked.append(cohort)
        return CohortSize(patients=40, sessions=160)

    def responders(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> tuple[ResponderCycle, ...]:
        definition = next(d for d in knowledge.responder_definitions if d.indication == MIGRAINE)
        return (
            ResponderCycle(MIGRAINE, definition.instrument, definition.id, 1, 24, 16, 0),
            ResponderCycle(MIGRAINE, definition.instrument, definition.id, 2, 3, 20, 17),  # 3 responders: hidden
        )

    def scale_changes(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> tuple[ScaleChange, ...]:
        return (ScaleChange(MIGRAINE, "hit-6", 1, 30, -4.5, 3.0), ScaleChange(MIGRAINE, "hit-6", 2, 4, -6.0, 1.0))

    def doses(self, cohort: CohortDefinition) -> tuple[DoseByCycle, ...]:
        return (DoseByCycle(BOTOX, 1, 40, 155.0, 155.0, 195.0),)

    def retreatment(self, cohort: CohortDefinition) -> tuple[RetreatmentCurve, ...]:
        steps = (RetreatmentStep(84, 40, 20, 0, 0.5, 0.34, 0.64), RetreatmentStep(90, 20, 10, 0, 0.25, 0.12, 0.4))
        return (RetreatmentCurve(MIGRAINE, steps, 84, 40, 30, 40),)  # one censored interval per patient

    def adverse_events(self, cohort: CohortDefinition) -> tuple[AdverseEventRate, ...]:
        return (AdverseEventRate("ptosis", False, 2, 160), AdverseEventRate("neck-pain", False, 12, 160))

    def continuation(self, cohort: CohortDefinition, knowledge: KnowledgeBase) -> tuple[ContinuationRow, ...]:
        return (
            ContinuationRow(ContinuationStatus.CONTINUING, None, 30),
            ContinuationRow(ContinuationStatus.DISCONTINUED, DiscontinuationReason.NO_RESPONSE, 7),
            ContinuationRow(ContinuationStatus.DISCONTINUED, DiscontinuationReason.NONE_RECORDED, 13),
        )


def _no_interval(n: int, mean: float, sd: float) -> tuple[float, float] | None:
    return (mean - sd, mean + sd)


def _rows(document: dict[str, Any], analysis: str) -> list[dict[str, Any]]:
    return next(a for a in document["analyses"] if a["analysis"] == analysis)["rows"]


def test_every_analysis_publishes_small_cells_suppressed_and_counts_them() -> None:
    found = analyse(FakeEngine(), build_knowledge(), CohortDefinition(indication=MIGRAINE), 11, _no_interval)
    document = analyses_document(found)
    assert document["notice"] == NOT_ADVICE
    first, second = _rows(document, "responders")
    assert (first["responders"], first["rate_percent"], first["ci_low_percent"]) == (24, 60.0, 44.6)
    # 3 responders of 23 judged: the count, the non-responders (their difference from the judged) and the rate go.
    assert (second["responders"], second["non_responders"], second["rate_percent"], second["ci_high_percent"]) == (
        None,
        None,
        None,
        None,
    )
    responders = next(r for r in found.reports if r.key == "responders")
    assert responders.suppressed == 5
    assert "5 figures were suppressed" in responders.suppression
    assert [row["n"] for row in _rows(document, "scale_changes")] == [30, None]
    assert [row["events"] for row in _rows(document, "adverse_events")] == [None, 12]
    # 7 discontinued without response is small; the next smallest row goes with it, or the total would give it.
    assert [row["patients"] for row in _rows(document, "continuation")] == [30, None, None]
    # A page lists apart, folded, the rows that publish no figure: these two; a row with one figure stays.
    continuation = next(r for r in found.reports if r.key == "continuation")
    assert [[cell.text for cell in row] for row in continuation.rows_withheld] == [
        ["discontinued", "no response at the last judged cycle", "<11"],
        ["discontinued", "no reason recorded", "<11"],
    ]
    assert (len(continuation.rows_with_figures), responders.rows_withheld) == (1, ())
    # Only published values are drawn: the suppressed cycle is not on the responder chart.
    [chart] = responders.charts
    assert chart.series[0].x == (1.0,)
    assert "n = 40 judged" in chart.title


def test_a_saved_cohort_is_read_back_and_only_its_owner_replaces_it() -> None:
    cohorts = FakeSavedCohorts()
    cohort = CohortDefinition(indication=MIGRAINE, product=BOTOX, units_from=None, condition_codes=("G43.7",))
    save_cohort(cohorts, "migraine-botox", cohort, "fict-researcher")
    assert saved_cohort(cohorts, "migraine-botox") == cohort
    with pytest.raises(FieldError) as refused:
        save_cohort(cohorts, "migraine-botox", CohortDefinition(), "fict-other")
    assert refused.value.field == "name"
    with pytest.raises(FieldError, match=r"^name: "):
        save_cohort(cohorts, "../etc", cohort, "fict-researcher")
    with pytest.raises(FieldError, match=r"^cohort: no saved cohort"):
        saved_cohort(cohorts, "nobody")


def test_a_cohort_is_not_exported_as_fhir_nor_chosen_by_real_dates_and_a_bad_site_code_is_named() -> None:
    written: list[ExportRequest] = []

    def exporter(request: ExportRequest) -> Mapping[str, Any]:
        written.append(request)
        return {"site": request.site}

    folder = Path("/nonexistent/export")
    with pytest.raises(FieldError, match=r"^cohort: "):
        export_dataset(
            exporter, ExportRequest(folder, ExportFormat.NDJSON, "SITE-A", CohortDefinition(indication=MIGRAINE), 5)
        )
    # Members known to have had a session between two real days: their offsets would narrow.
    dated = CohortDefinition(indication=MIGRAINE, first_day=date(2026, 1, 1), last_day=date(2026, 1, 31))
    with pytest.raises(FieldError, match=r"^cohort: a date range cannot choose the patients of an export"):
        export_dataset(exporter, ExportRequest(folder, ExportFormat.CSV, "SITE-A", dated, 5))
    with pytest.raises(FieldError, match=r"^site: "):
        export_dataset(exporter, ExportRequest(folder, ExportFormat.CSV, "a site!", None, 5))
    assert export_dataset(exporter, ExportRequest(folder, ExportFormat.CSV, "site-a", None, 5)) == {"site": "SITE-A"}
    assert len(written) == 1


@pytest.fixture
def research(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeSavedCohorts, FakeEngine, FakeAccessLog]:
    from bont import bootstrap
    from bont.cli import app

    cohorts, engine, log = FakeSavedCohorts(), FakeEngine(), FakeAccessLog()
    monkeypatch.setattr(bootstrap, "saved_cohorts", lambda: cohorts)
    monkeypatch.setattr(bootstrap, "registry_engine", lambda: engine)
    monkeypatch.setattr(bootstrap, "access_log", lambda: log)
    monkeypatch.setattr(app, "name_operator", lambda username: lambda: None)
    return cohorts, engine, log


def test_the_commands_save_list_size_and_analyse_a_cohort_with_plots(
    research: tuple[FakeSavedCohorts, FakeEngine, FakeAccessLog], tmp_path: Path
) -> None:
    cohorts, engine, log = research
    saved = bont(
        "--as", "fict-researcher", "research", "cohort", "save", "mig", "--indication", MIGRAINE, "--condition", "g437"
    )
    assert saved.returncode == 0, saved.stderr
    assert cohorts.stored["mig"].definition == {"indication": MIGRAINE, "condition_codes": ["G43.7"]}
    listed = json.loads(bont("research", "cohort", "list", "--json").stdout)
    assert [(c["name"], c["created_by"]) for c in listed] == [("mig", "fict-researcher")]
    size = json.loads(bont("research", "cohort", "size", "mig", "--json").stdout)
    assert size["rows"] == [{"patients": 40, "sessions": 160}]
    analysed = bont("research", "analyse", "mig", "--json", "--plots", str(tmp_path / "plots"))
    assert analysed.returncode == 0, analysed.stderr
    assert {a["analysis"] for a in json.loads(analysed.stdout)["analyses"]} >= {"responders", "continuation"}
    assert CohortDefinition(indication=MIGRAINE, condition_codes=("G43.7",)) in engine.asked
    plots = sorted(path.name for path in (tmp_path / "plots").iterdir())
    assert "responders-chronic-migraine-headache-days.png" in plots
    assert all((tmp_path / "plots" / p).read_bytes().startswith(b"\x89PNG") for p in plots)
    # Each analysis is logged as a read, by a digest of its definition: no identifier.
    reads = [(a.target, a.action, a.patient_mrn) for _, a in log.accesses]
    assert ("research-analyses", Action.READ, None) in reads


def test_bad_input_is_refused_with_the_option_named(
    research: tuple[FakeSavedCohorts, FakeEngine, FakeAccessLog],
) -> None:
    cases = {
        ("research", "cohort", "size", "--units-from", "100"): "error: --units-from: a dose range needs a product",
        ("research", "analyse", "--sex", "x"): "error: --sex: unknown sex",
        ("research", "analyse", "--condition", "43"): "error: --condition: '43' is not written as an ICD-10-CM",
        ("research", "analyse", "nobody"): "error: NAME: no saved cohort of that name",
        ("research", "cohort", "save", "mig"): "error: --as: a saved cohort belongs to a user",
    }
    for arguments, message in cases.items():
        refused = bont(*arguments)
        assert refused.returncode == 2, arguments
        assert refused.stderr.startswith(message), refused.stderr


def test_a_plot_is_svg_text_with_its_title_and_axes() -> None:
    from bont.interop.registry.plots import svg

    found = analyse(FakeEngine(), build_knowledge(), CohortDefinition(), 11, _no_interval)
    chart = next(r for r in found.reports if r.key == "retreatment").charts[0]
    drawn = svg(chart)
    assert drawn.startswith("<svg")
    assert "Days since the session" in drawn
    assert "n = 40" in drawn


def test_an_export_is_written_or_refused_with_its_reason_and_logged_as_an_export(
    research: tuple[FakeSavedCohorts, FakeEngine, FakeAccessLog], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bont import bootstrap
    from bont.domain.research.disclosure import ExportRefused

    _, _, log = research
    asked: list[ExportRequest] = []

    def exporter(request: ExportRequest) -> Mapping[str, Any]:
        asked.append(request)
        if request.site == "SMALL":
            raise ExportRefused("export refused: 1 combination is shared by fewer than k = 5 records")
        return {"site": request.site, "format": str(request.format)}

    monkeypatch.setattr(bootstrap, "research_exporter", lambda: exporter)
    written = bont("research", "export", "--format", "parquet", "--out", str(tmp_path / "a"), "--site", "a-1", "--json")
    assert written.returncode == 0, written.stderr
    assert json.loads(written.stdout) == {"site": "A-1", "format": "parquet"}
    assert (asked[0].cohort, asked[0].minimum_k) == (None, 5)
    refused = bont("research", "export", "--format", "csv", "--out", str(tmp_path / "b"), "--site", "small")
    assert (refused.returncode, refused.stderr.strip()) == (
        2,
        "error: export refused: 1 combination is shared by fewer than k = 5 records",
    )
    unknown = bont("research", "export", "--format", "xlsx", "--out", str(tmp_path / "c"))
    assert unknown.stderr.startswith("error: --format: give one of csv, parquet, ndjson")
    assert bont(
        "research", "export", "--format", "csv", "--out", str(tmp_path / "d"), "--cohort", "nobody"
    ).stderr.startswith("error: --cohort: no saved cohort of that name")
    exports = [a for _, a in log.accesses if a.action is Action.EXPORT]
    assert [(a.target, a.object_id, a.patient_mrn) for a in exports] == [("research-export", "parquet:A-1", None)]


# -- bad input at the edges: exports of other sites, the web pages and the API


def _export(folder: Path, site: str) -> None:
    """A one-patient CSV export of ``site``, written by the exporter itself (every other table empty)."""
    import pyarrow as pa

    from bont.domain.research.dataset import DATASET, ColumnType
    from bont.domain.research.disclosure import MinimumK
    from bont.interop.registry.export import write_export

    typed = {
        ColumnType.STRING: pa.string(),
        ColumnType.INTEGER: pa.int64(),
        ColumnType.DECIMAL: pa.decimal128(18, 6),
        ColumnType.DATE: pa.date32(),
        ColumnType.BOOLEAN: pa.bool_(),
    }
    values = {ColumnType.INTEGER: 1, ColumnType.DECIMAL: Decimal(155), ColumnType.DATE: date(2024, 1, 1)}
    named = {"site": site, "patient": "p1", "session": "s1", "indication": MIGRAINE, "product": BOTOX, "sex": "female"}
    named |= {"age_band": "40-49", "population": None, "discontinued": False}
    tables = {}
    for table in DATASET:
        schema = pa.schema([(c.name, typed[c.type]) for c in table.columns])
        row = {c.name: named.get(c.name, values.get(c.type)) for c in table.columns}
        tables[table.name] = pa.Table.from_pylist([row] if table.name in ("patients", "sessions") else [], schema)
    write_export(tables, folder, site=site, file_format="csv", minimum_k=MinimumK(1))


def test_combining_an_export_with_a_bad_value_a_missing_column_or_a_bad_file_exits_2_naming_no_row(
    research: tuple[FakeSavedCohorts, FakeEngine, FakeAccessLog], tmp_path: Path
) -> None:
    _export(tmp_path / "a", "A")
    _export(tmp_path / "b", "B")
    sessions = tmp_path / "b" / "sessions.csv"
    header, row = sessions.read_text().splitlines()
    sessions.write_text(header + "\n" + row.replace("155", "abc") + "\n")
    bad_value = bont("research", "combine", str(tmp_path / "a"), str(tmp_path / "b"), "--json")
    assert bad_value.returncode == 2, bad_value.stderr
    assert bad_value.stderr.startswith(f"error: DIR: {tmp_path / 'b'}: the sessions table's units column holds 1")
    assert "abc" not in bad_value.stderr
    assert "p1" not in bad_value.stderr
    columns = header.split(",")
    kept = [i for i, name in enumerate(columns) if name != '"units"']
    sessions.write_text("\n".join(",".join(line.split(",")[i] for i in kept) for line in (header, row)) + "\n")
    missing = bont("research", "combine", str(tmp_path / "a"), str(tmp_path / "b"))
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr.strip() == f"error: DIR: {tmp_path / 'b'}: the sessions table has no units column"
    (tmp_path / "b" / "sessions.parquet").write_bytes(b"not Parquet")  # read before the CSV
    unreadable = bont("research", "combine", str(tmp_path / "a"), str(tmp_path / "b"))
    assert (unreadable.returncode, unreadable.stderr.split(":")[:2]) == (2, ["error", " DIR"])
    assert "does not read as a table" in unreadable.stderr


@pytest.fixture
def web(
    research: tuple[FakeSavedCohorts, FakeEngine, FakeAccessLog], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[FakeSavedCohorts, FakeAccessLog, list[ExportRequest]]:
    """The Research views and API on the fakes, called with a signed-in researcher. Django is configured (on an
    empty database, unless this process configured it already: once per process) but no record is read."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    from bont.bootstrap import setup_database

    setup_database(migrate=False)
    from bont.web import audit_reads, research_api
    from bont.web.views import research as views

    cohorts, engine, log = research
    exported: list[ExportRequest] = []

    def exporter(request: ExportRequest) -> Mapping[str, Any]:
        exported.append(request)
        request.folder.mkdir()
        (request.folder / "manifest.json").write_text(json.dumps({"site": request.site}))
        return {"site": request.site}

    for module in (views, research_api):
        monkeypatch.setattr(module, "saved_cohorts", lambda: cohorts)
        monkeypatch.setattr(module, "kept_registry_engine", lambda: engine)
        monkeypatch.setattr(module, "research_exporter", lambda: exporter)
    monkeypatch.setattr(audit_reads, "access_log", lambda: log)
    return cohorts, log, exported


def _as_researcher(method: str, path: str, data: Mapping[str, str] | None = None) -> Any:
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    from bont.web.access import remember_roles

    factory = RequestFactory()
    request = factory.post(path, data or {}) if method == "POST" else factory.get(path, data or {})
    request.user = User(username="fict-researcher")
    remember_roles(request, frozenset({"researcher"}))
    return request


def test_the_export_checks_the_site_code_first_and_names_its_file_and_log_by_the_normalised_code(
    web: tuple[FakeSavedCohorts, FakeAccessLog, list[ExportRequest]],
) -> None:
    from ninja.errors import HttpError

    from bont.web import research_api
    from bont.web.views import research as views

    _, log, exported = web
    assert views.export(_as_researcher("GET", "/research/export.zip")).status_code == 405  # a POST form only
    refused = views.export(_as_researcher("POST", "/research/export.zip", {"site": "ab 1", "format": "csv"}))
    assert refused.status_code == 400
    assert "site: a site code is 2 to 20 letters" in refused.content.decode()
    # A line break typed after the code once reached the file's name raw (a server error): now it is AB-1.
    written = views.export(_as_researcher("POST", "/research/export.zip", {"site": "ab-1\n", "indication": MIGRAINE}))
    assert written["Content-Disposition"] == 'attachment; filename="bont-registry-AB-1-csv.zip"'
    with pytest.raises(HttpError) as bad_site:
        research_api.export(_as_researcher("POST", "/api/research/export"), research_api.AnalysisIn(), site="ab 1")
    assert bad_site.value.status_code == 400
    assert str(bad_site.value).startswith("site: a site code is")
    api = research_api.export(_as_researcher("POST", "/api/research/export"), research_api.AnalysisIn(), site="b-2\n")
    assert api["Content-Disposition"] == 'attachment; filename="bont-registry-B-2-csv.zip"'
    assert [r.site for r in exported] == ["AB-1", "B-2"]
    assert exported[0].cohort == CohortDefinition(indication=MIGRAINE)
    exports = [(a.target, a.action, a.object_id) for _, a in log.accesses]
    assert exports == [("research-export", Action.EXPORT, "csv:AB-1"), ("research-export", Action.EXPORT, "csv:B-2")]


def test_a_refused_cohort_or_name_is_shown_beside_its_field_as_it_was_typed(
    web: tuple[FakeSavedCohorts, FakeAccessLog, list[ExportRequest]],
) -> None:
    from bont.web.views import research as views

    cohorts, _, _ = web
    save_cohort(cohorts, "mig", CohortDefinition(), "fict-other")
    unknown = views.analyses(_as_researcher("GET", "/research/analyses/", {"cohort": "nope"}))
    page = unknown.content.decode()
    assert unknown.status_code == 400
    assert 'id="cohort-choice" name="cohort" value="nope"' in page
    assert 'aria-describedby="cohort-choice-error"' in page
    assert '<span class="error" id="cohort-choice-error">no saved cohort of that name</span>' in page
    for name, problem in (("mig", "another user saved a cohort of that name"), ("../x", "1 to 80 letters")):
        typed = {"name": name, "indication": MIGRAINE}
        refused = views.cohort_save(_as_researcher("POST", "/research/cohorts/", typed))
        page = refused.content.decode()
        assert refused.status_code == 400
        assert f'id="cohort-name" name="name" value="{name}"' in page
        assert 'aria-describedby="cohort-name-error"' in page
        assert f'id="cohort-name-error">{problem}' in page
        assert f'<input type="hidden" name="indication" value="{MIGRAINE}">' in page  # the criteria kept
    assert cohorts.stored["mig"].created_by == "fict-other"
    bad_sex = views.analyses(_as_researcher("GET", "/research/analyses/", {"sex": "x", "indication": MIGRAINE}))
    page = bad_sex.content.decode()
    assert bad_sex.status_code == 400
    assert 'id="c-sex" name="sex" aria-invalid="true" aria-describedby="c-sex-error"' in page
    assert 'id="research-problem" role="alert">Sex: unknown sex' in page
    assert f'id="c-indication" name="indication" value="{MIGRAINE}"' in page


def test_the_analyses_download_holds_the_published_tables_as_json_and_each_plot_as_png(
    web: tuple[FakeSavedCohorts, FakeAccessLog, list[ExportRequest]],
) -> None:
    import io
    import zipfile

    from bont.web.views import research as views

    _, log, _ = web
    response = views.analyses_download(_as_researcher("POST", "/research/analyses.zip", {"indication": MIGRAINE}))
    assert response["Content-Disposition"] == 'attachment; filename="bont-analyses-cohort.zip"'
    found = analyse(FakeEngine(), build_knowledge(), CohortDefinition(indication=MIGRAINE), 11, _no_interval)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        document = json.loads(archive.read("analyses.json"))
        plots = [name for name in archive.namelist() if name.startswith("plots/")]
        assert all(archive.read(name).startswith(b"\x89PNG") for name in plots)
    assert document["analyses"][0]["rows"] == analyses_document(found)["analyses"][0]["rows"]
    assert sorted(plots) == sorted(f"plots/{c.name}.png" for r in found.reports for c in r.charts)
    assert [(a.target, a.action, a.object_id) for _, a in log.accesses] == [
        ("research-analyses", Action.EXPORT, found.fingerprint)
    ]
