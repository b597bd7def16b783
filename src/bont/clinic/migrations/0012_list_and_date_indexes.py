"""Indexes for the clinic-wide pages (issue 15): the patient list's name sort, and session date ranges
(billing, follow-up, research)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinic", "0011_patient_chart_key")]

    operations = [
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["family_name", "given_name"], name="clinic_pati_family__30aff5_idx"),
        ),
        migrations.AddIndex(
            model_name="treatmentsession",
            index=models.Index(fields=["date"], name="clinic_trea_date_f62e5d_idx"),
        ),
    ]
