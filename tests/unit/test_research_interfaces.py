"""Registry analytics' interfaces on fakes: the published analyses (what every page, command and API call shows),
saved cohorts, and the ``bont research`` commands in process. The engine's own arithmetic is tested with the
engine (test_research_engine.py); here a fake engine returns raw results and the interfaces must publish them
suppressed, with their methods, and never repeat an input that was refused."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
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
        return (RetreatmentCurve(MIGRAINE, steps, 84, 40, 30, 10),)

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


def test_a_cohort_is_not_exported_as_fhir_and_a_bad_site_code_is_named() -> None:
    written: list[ExportRequest] = []

    def exporter(request: ExportRequest) -> Mapping[str, Any]:
        written.append(request)
        return {"site": request.site}

    folder = Path("/nonexistent/export")
    with pytest.raises(FieldError, match=r"^cohort: "):
        export_dataset(
            exporter, ExportRequest(folder, ExportFormat.NDJSON, "SITE-A", CohortDefinition(indication=MIGRAINE), 5)
        )
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
    assert engine.asked[-1] == CohortDefinition(indication=MIGRAINE, condition_codes=("G43.7",))
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
