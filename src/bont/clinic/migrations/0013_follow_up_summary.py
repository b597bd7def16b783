"""The Follow-up list's summary per patient and indication (issue 15): derived from the records, kept by the
recording transactions; filled here for the records already stored."""

import os
from pathlib import Path
from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    """The summary of every patient already treated, in two set-based statements. Which diary serves which
    indication is the knowledge base's answer: the knowledge in use (``BONT_KNOWLEDGE_DIR``, as
    ``bont.bootstrap`` reads it), loaded only when there is a session to summarise, so that a new clinic (and
    each test database) migrates without it."""
    using = schema_editor.connection.alias
    if not apps.get_model("clinic", "TreatmentSession").objects.using(using).exists():
        return
    from bont.clinic.derived import fill_follow_up_summaries
    from bont.knowledge import load_knowledge

    configured = os.environ.get("BONT_KNOWLEDGE_DIR")
    # (the patients treated have a table of their own from migration 0023, which fills it from this summary)
    fill_follow_up_summaries(load_knowledge(Path(configured) if configured else None), using, treated_patients=False)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0012_list_and_date_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="FollowUpSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60)),
                ("family_name", models.CharField(max_length=100)),
                ("given_name", models.CharField(max_length=100)),
                ("last_session", models.DateField()),
                ("assessment_pending_since", models.DateField(blank=True, null=True)),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clinic.patient"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["assessment_pending_since", "family_name", "given_name", "patient", "indication"],
                        name="follow_up_due_order",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("patient", "indication"), name="one_follow_up_summary")
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
