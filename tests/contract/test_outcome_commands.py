"""Outcomes on real SQLite and PostgreSQL databases, through the ``bont outcome`` commands run in process
(``tests/integration/test_background_runs.py`` runs this module once per engine): each scale validates its entry,
the verdict per cycle falls on the right side of the threshold, and a refused entry stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.contract.clinic import Clinic


def _hyperhidrosis_sessions(clinic: Clinic) -> None:
    for day in ("2026-01-05", "2026-05-04"):
        document = clinic.session_file(
            day,
            date=day,
            at=f"{day}T10:00:00",
            indication="axillary-hyperhidrosis",
            sites=[{"muscle": "axilla", "side": side, "units": 50} for side in ("left", "right")],
        )
        recorded = clinic.run("session", "record", str(document))
        assert recorded.returncode == 0, recorded.stderr


def _add(clinic: Clinic, indication: str, instrument: str, day: str, value: str) -> int:
    result = clinic.run(
        "outcome", "add", "--mrn", "FICT-0001", "--indication", indication, "--instrument", instrument,
        "--date", day, "--value", value, "--clinician", "dr-fictional",
    )  # fmt: skip
    return result.returncode


def _latest_per_cycle(clinic: Clinic, instrument: str) -> list[str]:
    shown = clinic.ok("outcome", "show", "FICT-0001")
    measure = next(m for entry in shown for m in entry["measures"] if m["instrument"] == instrument)
    return [v["status"] for v in measure["verdicts"][0]["per_cycle"] if v is not None]


def test_an_hdss_improvement_of_one_grade_is_not_a_response_and_two_grades_are(clinic: Clinic) -> None:
    _hyperhidrosis_sessions(clinic)
    assert _add(clinic, "axillary-hyperhidrosis", "hdss", "2026-01-05", "4") == 0  # baseline, before injecting
    assert _add(clinic, "axillary-hyperhidrosis", "hdss", "2026-02-16", "3") == 0  # cycle 1: one grade better
    assert _add(clinic, "axillary-hyperhidrosis", "hdss", "2026-06-15", "2") == 0  # cycle 2: two grades better
    assert _latest_per_cycle(clinic, "hdss") == ["non-responder", "responder"]


def test_a_refused_scale_entry_names_the_field_and_stores_nothing(clinic: Clinic) -> None:
    refused = clinic.run(
        "outcome", "add", "--mrn", "FICT-0001", "--indication", "upper-limb-spasticity",
        "--instrument", "modified-ashworth", "--date", "2026-03-01", "--value", "5",
    )  # fmt: skip
    assert refused.returncode == 2
    assert "--value" in refused.stderr
    assert "FICT-0001" not in refused.stderr
    wrong = clinic.run(
        "outcome", "add", "--mrn", "FICT-0001", "--indication", "axillary-hyperhidrosis",
        "--instrument", "modified-ashworth", "--date", "2026-03-01", "--value", "2",
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "--instrument" in wrong.stderr
    assert clinic.ok("outcome", "show", "FICT-0001") == []
    # "1+" is a grade of its own, kept as written.
    assert _add(clinic, "upper-limb-spasticity", "modified-ashworth", "2026-03-01", "1+") == 0
    shown = clinic.ok("outcome", "show", "FICT-0001")
    assert shown[0]["measures"][0]["points"][0]["score"] == "1+"


def test_the_continuation_report_is_written_as_a_pdf(clinic: Clinic, tmp_path: Path) -> None:
    _hyperhidrosis_sessions(clinic)
    assert _add(clinic, "axillary-hyperhidrosis", "gravimetric-sweat", "2026-01-05", "120") == 0
    assert _add(clinic, "axillary-hyperhidrosis", "gravimetric-sweat", "2026-02-16", "30") == 0
    report = tmp_path / "report.pdf"
    written = clinic.run(
        "outcome", "report", "FICT-0001", "--indication", "axillary-hyperhidrosis", "--output", str(report)
    )
    assert written.returncode == 0, written.stderr
    assert report.read_bytes().startswith(b"%PDF")
    shown = clinic.ok("outcome", "show", "FICT-0001")
    sweat = next(m for m in shown[0]["measures"] if m["instrument"] == "gravimetric-sweat")
    assert sweat["latest"]["status"] == "responder"
    assert json.dumps(shown).count("FICT") == 0


def test_nice_stops_chronic_migraine_below_30_percent_after_two_cycles_unless_the_clinic_configures_otherwise(
    clinic: Clinic,
) -> None:
    for day in ("2026-01-05", "2026-04-06", "2026-07-06"):
        document = clinic.session_file(day, date=day, at=f"{day}T10:00:00")
        recorded = clinic.run("session", "record", str(document))
        assert recorded.returncode == 0, recorded.stderr
    # Headache days per 28 (a paper diary's count): 20 at baseline, then 14.2 (29% better) after each cycle.
    assert _add(clinic, "chronic-migraine", "headache-days", "2026-01-05", "20") == 0
    assert _add(clinic, "chronic-migraine", "headache-days", "2026-04-06", "14.2") == 0
    assert _advice(clinic) == "not-assessable"  # judged after cycle 2, not measured yet
    assert _add(clinic, "chronic-migraine", "headache-days", "2026-07-06", "14.2") == 0
    assert _advice(clinic) == "stop"  # 29% < 30% after two cycles
    configured = clinic.run(
        "outcome", "rule", "nice-ta260-two-cycles", "--threshold", "25", "--reason", "fictional payer policy"
    )
    assert configured.returncode == 0, configured.stderr
    assert _advice(clinic) == "continue"


def _advice(clinic: Clinic) -> str:
    shown = clinic.ok("outcome", "show", "FICT-0001")
    measure = next(m for entry in shown for m in entry["measures"] if m["instrument"] == "headache-days")
    return str(next(d["advice"] for d in measure["continuation"] if d["rule"] == "nice-ta260-two-cycles"))


def test_an_adverse_event_dated_in_the_future_is_refused_on_the_command_line(clinic: Clinic) -> None:
    refused = clinic.run(
        "adverse-event", "add", "--mrn", "FICT-0001", "--event", "ptosis", "--onset", "2999-01-01",
        "--severity", "mild", "--not-serious",
    )  # fmt: skip
    assert refused.returncode == 2
    assert "--onset: is in the future" in refused.stderr
    late = clinic.run(
        "outcome", "add", "--mrn", "FICT-0001", "--indication", "upper-limb-spasticity",
        "--instrument", "modified-ashworth", "--date", "2999-01-01", "--value", "2",
    )  # fmt: skip
    assert late.returncode == 2
    assert "--date: is in the future" in late.stderr
