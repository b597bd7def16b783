"""What billing reads of each session given, one compact row per session (issue 15): derived from the records,
kept by the recording transactions, read by the billing export. Migration 0022 gives the table the shape it has
now and fills it for the sessions already stored; filled here, it would only be written again there."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0014_responder_verdicts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SessionClaimInputs",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("date", models.DateField()),
                ("indication", models.CharField(max_length=60)),
                ("product", models.CharField(max_length=40)),
                ("protocol", models.CharField(blank=True, max_length=120)),
                ("guidance", models.CharField(blank=True, max_length=120)),
                ("total_units", models.DecimalField(decimal_places=2, max_digits=10)),
                ("units_discarded", models.DecimalField(decimal_places=2, max_digits=10)),
                ("sites", models.TextField()),
                ("vials", models.TextField()),
                (
                    "clinician",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clinic.patient"
                    ),
                ),
                (
                    "session",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clinic.treatmentsession"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["date", "session"], name="claim_inputs_by_date")],
            },
        ),
    ]
