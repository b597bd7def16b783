"""The Follow-up list's summary per patient and indication (issue 15): derived from the records, kept by the
recording transactions; filled here for the records already stored."""

import django.db.models.deletion
from django.db import migrations, models


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
    ]
