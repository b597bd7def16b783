"""The patients treated, one row each (issue 15): derived from the Follow-up summary, kept with it, counted by the
Follow-up list; filled here from the summary as it stands."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    from bont.clinic.derived import fill_treated_patients

    with schema_editor.connection.cursor() as cursor:
        fill_treated_patients(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0022_claim_content"),
    ]

    operations = [
        migrations.CreateModel(
            name="TreatedPatient",
            fields=[
                (
                    "patient",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="clinic.patient",
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
