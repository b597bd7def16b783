"""The sessions' claim inputs as a few numbers each (issue 15): what many sessions gave alike (product, indication,
protocol, guidance, units, sites and vial draws) stored once as a claim content, and the index by date holding
every column the export reads. Derived rows only: the table is made anew and filled from the records."""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    """Every session given, in date order (``bont.clinic.derived.fill_claim_inputs``). No knowledge is needed:
    nothing stored depends on it."""
    from bont.clinic.derived import fill_claim_inputs

    using = schema_editor.connection.alias
    if apps.get_model("clinic", "TreatmentSession").objects.using(using).exists():
        fill_claim_inputs(using)


def fill_earlier_shape(apps: Any, schema_editor: Any) -> None:
    """Undoing: the table as migration 0015 made it, filled from the records again (it held the claim content in
    each session's row)."""
    from bont.clinic.derived import claim_inputs_query

    connection = schema_editor.connection
    columns = (
        "session_id, date, patient_id, clinician_id, indication, product, protocol, guidance, total_units,"
        " units_discarded, sites, vials"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO clinic_sessionclaiminputs ({columns}) SELECT {columns}"
            f" FROM ({claim_inputs_query(connection.vendor, '1 = 1')}) given ORDER BY date, session_id"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0021_site_position_on_canvas"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # (undone last, once the table has its earlier shape again)
        migrations.RunPython(migrations.RunPython.noop, fill_earlier_shape),
        migrations.DeleteModel(name="SessionClaimInputs"),
        migrations.CreateModel(
            name="ClaimContent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("indication", models.CharField(max_length=60)),
                ("product", models.CharField(max_length=40)),
                ("protocol", models.CharField(blank=True, max_length=120)),
                ("guidance", models.CharField(blank=True, max_length=120)),
                ("total_units", models.DecimalField(decimal_places=2, max_digits=10)),
                ("units_discarded", models.DecimalField(decimal_places=2, max_digits=10)),
                ("sites", models.TextField()),
                ("vials", models.TextField()),
            ],
        ),
        migrations.CreateModel(
            name="SessionClaimInputs",
            fields=[
                (
                    "session",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="clinic.treatmentsession",
                    ),
                ),
                ("date", models.DateField()),
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
                    "content",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="clinic.claimcontent",
                    ),
                ),
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
                        fields=["date", "session", "patient", "clinician", "content"], name="claim_inputs_by_date"
                    )
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
