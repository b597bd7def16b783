"""Severity and seriousness become two fields of an adverse event.

Until now "serious" was offered as a fourth severity beside mild, moderate and severe, mixing the intensity
of an event with the regulatory judgement of its outcome. From this migration ``severity`` is the intensity
only (mild, moderate, severe) and ``serious`` is a separate yes/no: serious when the event results in death,
is life-threatening, needs inpatient hospitalisation or prolongs it, results in persistent or significant
disability, is a congenital anomaly, or is another important medical event (ICH E2A; 21 CFR 312.32).

Existing rows are converted:

- severity "serious"  ->  severity "severe" and serious = true. The reporter judged the event serious, which
  is kept exactly; its intensity was not recorded, and "severe" is the closest intensity that never
  understates it (a clinician may correct it to a lower one; the correction is kept in the audit history).
- severity "mild", "moderate" or "severe"  ->  unchanged, with serious = false: none was reported as serious
  (a severe event that was in fact serious was not marked so, and still is not).

Every converted row gets a new version in its audit history (no user, with the reason), so the trail shows
the value before and after the conversion. Reversing sets severity "serious" again on every event marked
serious (the intensity recorded with it is then lost) and drops the field.
"""

from django.db import migrations, models
from django.utils import timezone

REASON = "migration 0005: severity 'serious' is now serious = yes"
REVERSE_REASON = "migration 0005 reversed: serious = yes is severity 'serious'"


def _record_versions(apps, rows, reason):
    """One audit version per changed row, as django-simple-history writes them (no user: a migration)."""
    historical = apps.get_model("clinic", "HistoricalAdverseEvent")
    now = timezone.now()
    historical.objects.bulk_create(
        historical(
            id=row.pk,
            patient_id=row.patient_id,
            suspected_session_id=row.suspected_session_id,
            event=row.event,
            onset=row.onset,
            severity=row.severity,
            serious=row.serious,
            outcome=row.outcome,
            notes=row.notes,
            history_date=now,
            history_type="~",
            history_change_reason=reason,
            history_user=None,
        )
        for row in rows
    )


def split_seriousness(apps, schema_editor):
    adverse_event = apps.get_model("clinic", "AdverseEvent")
    converted = list(adverse_event.objects.filter(severity="serious").order_by("pk"))
    for row in converted:
        row.severity = "severe"
        row.serious = True
    adverse_event.objects.bulk_update(converted, ["severity", "serious"])
    _record_versions(apps, converted, REASON)


def join_seriousness(apps, schema_editor):
    adverse_event = apps.get_model("clinic", "AdverseEvent")
    converted = list(adverse_event.objects.filter(serious=True).order_by("pk"))
    for row in converted:
        row.severity = "serious"
    adverse_event.objects.bulk_update(converted, ["severity"])
    _record_versions(apps, converted, REVERSE_REASON)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0004_outcomes_and_diaries"),
    ]

    operations = [
        migrations.AddField(
            model_name="adverseevent",
            name="serious",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="historicaladverseevent",
            name="serious",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(split_seriousness, join_seriousness),
        migrations.AlterField(
            model_name="adverseevent",
            name="severity",
            field=models.CharField(
                choices=[("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")], max_length=10
            ),
        ),
        migrations.AlterField(
            model_name="historicaladverseevent",
            name="severity",
            field=models.CharField(
                choices=[("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")], max_length=10
            ),
        ),
    ]
