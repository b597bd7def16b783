"""A broken knowledge file fails loudly at load time, naming the file and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bont.domain.errors import KnowledgeError
from bont.knowledge import load_knowledge
from tests.integration.knowledge_files import edit


def test_a_copy_of_the_shipped_files_loads(data_dir: Path) -> None:
    assert len(load_knowledge(data_dir).indications) == 24


BREAKAGES: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "unknown muscle",
        lambda d: edit(d / "indications/chronic-migraine.yaml", "muscle: procerus", "muscle: procerous"),
        "indications/chronic-migraine.yaml",
        "protocols.0.muscles.1.muscle: unknown muscle 'procerous'",
    ),
    (
        "misspelt field",
        lambda d: edit(d / "indications/overactive-bladder.yaml", "total_units: 100", "totl_units: 100"),
        "indications/overactive-bladder.yaml",
        "protocols.0.totl_units",
    ),
    (
        "malformed ICD-10-CM code",
        lambda d: edit(d / "indications/achalasia.yaml", "code: K22.0", "code: K220X"),
        "indications/achalasia.yaml",
        "icd10.0: 'K220X' is not a valid ICD10CMCode code",
    ),
    (
        "unknown source",
        lambda d: edit(
            d / "indications/bruxism.yaml", "source: shehri-bruxism, grade: study}", "source: nobody, grade: study}"
        ),
        "indications/bruxism.yaml",
        "unknown source 'nobody'",
    ),
    (
        "approved without a protocol",
        lambda d: edit(d / "indications/strabismus.yaml", "status: approved", "status: off-label"),
        "indications/strabismus.yaml",
        "is 'off-label' but the product's label makes it approved",
    ),
    (
        "negative dose",
        lambda d: edit(d / "indications/bruxism.yaml", "total_units: 20", "total_units: -20"),
        "indications/bruxism.yaml",
        "total_units",
    ),
    (
        "reconstitution of a vial the product does not have",
        lambda d: edit(
            d / "products/onabotulinumtoxinA.yaml",
            "{vial_units: 100, diluent_ml: 1,",
            "{vial_units: 150, diluent_ml: 1,",
        ),
        "products/onabotulinumtoxinA.yaml",
        "reconstitution.0: no 150 U vial",
    ),
    (
        "file name and id disagree",
        lambda d: edit(d / "indications/gastroparesis.yaml", "id: gastroparesis", "id: gastro-paresis"),
        "indications/gastroparesis.yaml",
        "id: id 'gastro-paresis' does not match the file name",
    ),
    (
        "a maximum written bare, inheriting the protocol's citation",
        lambda d: edit(
            d / "indications/upper-limb-spasticity.yaml",
            "max_units_per_site: {value: 50, cite: {source: botox-pi-copy-spasticity, grade: label-secondary, "
            'kind: recommendation, at: "§2 Spasticity", quote: "no more than 50 Units per site should generally be '
            'administered"}}',
            "max_units_per_site: 50",
        ),
        "indications/upper-limb-spasticity.yaml",
        "protocols.0.max_units_per_site",
    ),
    (
        "a limit without its kind",
        lambda d: edit(d / "indications/overactive-bladder.yaml", "grade: label, kind: limit, ", "grade: label, "),
        "indications/overactive-bladder.yaml",
        "min_interval_days.cite.kind",
    ),
    (
        "a blocking limit without the label's words",
        lambda d: edit(
            d / "indications/overactive-bladder.yaml",
            'kind: limit, quote: "no sooner than 12 weeks from the prior bladder injection"',
            "kind: limit",
        ),
        "indications/overactive-bladder.yaml",
        "a blocking figure (kind: limit, graded from the label) needs the label's words",
    ),
    (
        "a limit worded as a recommendation",
        lambda d: edit(
            d / "indications/chronic-migraine.yaml",
            'kind: recommendation, at: "§2 Chronic Migraine", quote:',
            'kind: limit, at: "§2 Chronic Migraine", quote:',
        ),
        "indications/chronic-migraine.yaml",
        "the quoted words read as a recommendation, not a limit",
    ),
    (
        'a limit hedged with "generally"',
        lambda d: edit(
            d / "indications/upper-limb-spasticity.yaml",
            'kind: recommendation, quote: "generally, no sooner than 12 weeks"',
            'kind: limit, quote: "generally, no sooner than 12 weeks"',
        ),
        "indications/upper-limb-spasticity.yaml",
        "the quoted words read as a recommendation, not a limit",
    ),
    (
        "a dose given as a limit",
        lambda d: edit(
            d / "indications/overactive-bladder.yaml",
            "total_units: 100",
            "total_units: {value: 100, cite: {source: botox-hcp-oab, kind: limit, "
            'quote: "should not exceed 100 Units"}}',
        ),
        "indications/overactive-bladder.yaml",
        "protocols.0.total_units: a dose is a recommendation",
    ),
    (
        "a preparation whose label steps do not add up",
        lambda d: edit(
            d / "indications/neurogenic-detrusor-overactivity.yaml", "draw_ml: 2, add_ml: 8", "draw_ml: 2, add_ml: 7"
        ),
        "indications/neurogenic-detrusor-overactivity.yaml",
        "protocols.0.preparations.0: the label's steps (draw 2 mL, add 7 mL) do not add up",
    ),
    (
        "a preparation whose syringes do not hold the injections",
        lambda d: edit(
            d / "indications/neurogenic-detrusor-overactivity.yaml",
            "syringes: 3, syringe_ml: 10",
            "syringes: 2, syringe_ml: 10",
        ),
        "indications/neurogenic-detrusor-overactivity.yaml",
        "but 30 injections of 1 mL need 30 mL",
    ),
    (
        "a preparation's in-vial volume missing from the product's table",
        lambda d: edit(
            d / "products/onabotulinumtoxinA.yaml",
            "{vial_units: 200, diluent_ml: 6, intermediate: true,",
            "{vial_units: 200, diluent_ml: 5, intermediate: true,",
        ),
        "indications/neurogenic-detrusor-overactivity.yaml",
        "200 U in 6 mL = 3.3333 U per 0.1 mL is not a row of onabotulinumtoxinA's reconstitution table",
    ),
    (
        "a canvas pattern of an unknown muscle",
        lambda d: edit(d / "canvas.yaml", "    target: orbicularis-oculi\n", "    target: orbicularis-ocul\n"),
        "canvas.yaml",
        "unknown target 'orbicularis-ocul'",
    ),
    (
        "a regional view beyond its drawing",
        lambda d: edit(d / "canvas.yaml", "box: [24, 30, 52, 24]", "box: [60, 30, 52, 24]"),
        "canvas.yaml",
        "views.0: box [60, 30, 52, 24] is not a window inside the drawing's 0–100",
    ),
    (
        "a pattern point off its drawing",
        lambda d: edit(d / "canvas.yaml", "x: 40, y: 40.2", "x: 40, y: 140.2"),
        "canvas.yaml",
        "outside 0–100",
    ),
    (
        "not YAML",
        lambda d: (d / "vocabulary.yaml").write_text("conditions: [unclosed\n", encoding="utf-8"),
        "vocabulary.yaml",
        "(file)",
    ),
]


@pytest.mark.parametrize(("case", "breakage", "file", "field"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_a_broken_file_names_its_file_and_field(
    data_dir: Path, case: str, breakage: Callable[[Path], None], file: str, field: str
) -> None:
    breakage(data_dir)
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(data_dir)
    message = str(raised.value)
    assert message.startswith(file), message
    assert field in message, message
