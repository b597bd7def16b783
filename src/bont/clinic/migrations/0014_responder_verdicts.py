"""The latest responder verdict per patient, indication and instrument (issue 15): derived from the records, kept by
the recording transactions, counted by the research page."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0013_follow_up_summary"),
    ]

    operations = [
        migrations.CreateModel(
            name="ResponderVerdict",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60)),
                ("instrument", models.CharField(max_length=60)),
                ("status", models.CharField(max_length=20)),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clinic.patient"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["indication", "instrument", "status"], name="responder_verdict_counts")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("patient", "indication", "instrument"), name="one_responder_verdict"
                    )
                ],
            },
        ),
    ]
