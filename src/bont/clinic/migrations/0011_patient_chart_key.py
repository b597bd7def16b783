"""Each chart gets a random key for its address, so that URLs carry no MRN (issue 14).

Added nullable, filled one key per patient (and copied onto the patient's history rows), then made unique."""

import secrets

from django.db import migrations, models

import bont.clinic.models


def give_each_chart_a_key(apps, schema_editor):  # type: ignore[no-untyped-def]
    patients = apps.get_model("clinic", "Patient")
    history = apps.get_model("clinic", "HistoricalPatient")
    for patient_id in patients.objects.values_list("id", flat=True).iterator():
        key = secrets.token_urlsafe(12)
        patients.objects.filter(id=patient_id).update(chart_key=key)
        history.objects.filter(id=patient_id).update(chart_key=key)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0010_accounts_tokens_and_access_log")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="chart_key",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="historicalpatient",
            name="chart_key",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.RunPython(give_each_chart_a_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="patient",
            name="chart_key",
            field=models.CharField(
                default=bont.clinic.models.new_chart_key, editable=False, max_length=24, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="historicalpatient",
            name="chart_key",
            field=models.CharField(
                db_index=True, default=bont.clinic.models.new_chart_key, editable=False, max_length=24
            ),
        ),
    ]
