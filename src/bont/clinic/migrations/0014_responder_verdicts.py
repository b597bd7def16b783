"""The latest responder verdict per patient, indication and instrument, and the sessions per patient, indication and
product, with their totals (issue 15): derived from the records, kept by the recording transactions, read by the
research page.

The session tallies and their totals are filled here, by two aggregates. The verdicts are not: judging a cycle
needs the knowledge base and the outcome code of the bont that runs (a migration is frozen history, run again years
later by a newer bont), and takes minutes at a large clinic's size. A clinic that already holds measurements or diary days is
marked instead ("" as the basis), and its research page asks for ``bont research refresh`` until it has run."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def tally_sessions_and_mark_verdicts(apps: Any, schema_editor: Any) -> None:
    session = apps.get_model("clinic", "TreatmentSession")._meta.db_table
    tally = apps.get_model("clinic", "SessionTally")._meta.db_table
    quote = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(tally)} (patient_id, indication, product, sessions) "
            f"SELECT patient_id, indication, product, COUNT(*) FROM {quote(session)} "
            "WHERE withdrawn_reason = '' GROUP BY patient_id, indication, product"
        )
        total = apps.get_model("clinic", "SessionTotal")._meta.db_table
        cursor.execute(
            f"INSERT INTO {quote(total)} (indication, product, sessions, patients) "
            f"SELECT indication, product, SUM(sessions), COUNT(*) FROM {quote(tally)} GROUP BY indication, product"
        )
    using = schema_editor.connection.alias
    measured = (
        apps.get_model("clinic", "OutcomeRecord").objects.using(using).exists()
        or apps.get_model("clinic", "DiaryDay").objects.using(using).exists()
    )
    if measured:
        apps.get_model("clinic", "ResponderVerdictBasis").objects.using(using).create(pk=1, basis="")


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
                "constraints": [
                    models.UniqueConstraint(
                        fields=("patient", "indication", "instrument"), name="one_responder_verdict"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SessionTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60)),
                ("product", models.CharField(max_length=40)),
                ("sessions", models.PositiveIntegerField()),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="clinic.patient"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("patient", "indication", "product"), name="one_session_tally")
                ],
            },
        ),
        migrations.CreateModel(
            name="VerdictTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60)),
                ("instrument", models.CharField(max_length=60)),
                ("status", models.CharField(max_length=20)),
                ("patients", models.IntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("indication", "instrument", "status"), name="one_verdict_total")
                ],
            },
        ),
        migrations.CreateModel(
            name="SessionTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60)),
                ("product", models.CharField(max_length=40)),
                ("sessions", models.IntegerField()),
                ("patients", models.IntegerField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("indication", "product"), name="one_session_total")],
            },
        ),
        migrations.CreateModel(
            name="ResponderVerdictBasis",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("basis", models.CharField(blank=True, max_length=64)),
            ],
        ),
        migrations.RunPython(tally_sessions_and_mark_verdicts, migrations.RunPython.noop, elidable=False),
    ]
