"""The evidence library's tables (studies, their records and search texts, registered trials, the indication ×
product each is about) and their full-text search: on SQLite an FTS5 table per kind over ``search_text``, kept
by triggers; on PostgreSQL a stored English text search vector per row (``search_vector``, computed by
PostgreSQL) with a GIN index."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

# (the table holding search_text, its id column, the search table or index)
SEARCHED = (
    ("clinic_librarystudytext", "study_id", "library_study_search"),
    ("clinic_librarytrial", "id", "library_trial_search"),
)


def create_search(apps: Any, schema_editor: Any) -> None:
    for table, key, search in SEARCHED:
        if schema_editor.connection.vendor == "sqlite":
            # External content: the FTS5 table indexes the rows' search_text without a second copy of it.
            schema_editor.execute(
                f"CREATE VIRTUAL TABLE {search} USING fts5(search_text, content='{table}', content_rowid='{key}',"
                " tokenize='porter unicode61 remove_diacritics 2')"
            )
            forget = (
                f"INSERT INTO {search}({search}, rowid, search_text) VALUES ('delete', old.{key}, old.search_text);"
            )
            remember = f"INSERT INTO {search}(rowid, search_text) VALUES (new.{key}, new.search_text);"
            schema_editor.execute(f"CREATE TRIGGER {search}_insert AFTER INSERT ON {table} BEGIN {remember} END")
            schema_editor.execute(f"CREATE TRIGGER {search}_delete AFTER DELETE ON {table} BEGIN {forget} END")
            schema_editor.execute(
                f"CREATE TRIGGER {search}_update AFTER UPDATE OF search_text ON {table} BEGIN {forget} {remember} END"
            )
        else:
            # Stored, so that ranking a match reads its vector instead of parsing its text again.
            schema_editor.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector"
                " GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED"
            )
            schema_editor.execute(f"CREATE INDEX {search} ON {table} USING gin (search_vector)")


def drop_search(apps: Any, schema_editor: Any) -> None:
    for table, _, search in SEARCHED:
        if schema_editor.connection.vendor == "sqlite":
            for event in ("insert", "delete", "update"):
                schema_editor.execute(f"DROP TRIGGER {search}_{event}")
            schema_editor.execute(f"DROP TABLE {search}")
        else:
            schema_editor.execute(f"DROP INDEX {search}")
            schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0015_session_claim_inputs"),
    ]

    operations = [
        migrations.CreateModel(
            name="LibraryCatalogue",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("fingerprint", models.CharField(max_length=64)),
                ("written_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="LibraryStudy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True)),
                ("origin", models.CharField(max_length=10)),
                ("year", models.IntegerField(null=True)),
                ("sort_year", models.IntegerField()),
                ("design", models.CharField(max_length=30)),
                ("design_rank", models.SmallIntegerField()),
                ("pmid", models.CharField(max_length=12, null=True, unique=True)),
                ("doi", models.CharField(max_length=200, null=True, unique=True)),
                ("nct", models.CharField(db_index=True, max_length=11, null=True)),
                ("source", models.CharField(db_index=True, max_length=80, null=True)),
                ("brought_by_import", models.BooleanField(default=False)),
            ],
        ),
        migrations.CreateModel(
            name="LibraryStudyGrade",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60, null=True)),
                ("product", models.CharField(max_length=40, null=True)),
                ("rank", models.SmallIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="LibraryStudyUse",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60)),
                ("product", models.CharField(max_length=40)),
            ],
        ),
        migrations.CreateModel(
            name="LibraryTrial",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("nct", models.CharField(max_length=11, unique=True)),
                ("origin", models.CharField(max_length=10)),
                ("title", models.TextField()),
                ("status", models.CharField(max_length=30)),
                ("phase", models.CharField(blank=True, max_length=60)),
                ("start", models.DateField(null=True)),
                ("search_text", models.TextField()),
                ("record", models.JSONField()),
                ("brought_by_import", models.BooleanField(default=False)),
            ],
        ),
        migrations.CreateModel(
            name="LibraryTrialUse",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("indication", models.CharField(max_length=60)),
                ("product", models.CharField(max_length=40)),
            ],
        ),
        migrations.CreateModel(
            name="LibraryStudyDocument",
            fields=[
                (
                    "study",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="document",
                        serialize=False,
                        to="clinic.librarystudy",
                    ),
                ),
                ("record", models.JSONField()),
            ],
        ),
        migrations.CreateModel(
            name="LibraryStudyText",
            fields=[
                (
                    "study",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="text",
                        serialize=False,
                        to="clinic.librarystudy",
                    ),
                ),
                ("search_text", models.TextField()),
            ],
        ),
        migrations.AddIndex(
            model_name="librarystudy",
            index=models.Index(fields=["sort_year", "id"], name="library_study_by_year"),
        ),
        migrations.AddField(
            model_name="librarystudygrade",
            name="study",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="grades", to="clinic.librarystudy"
            ),
        ),
        migrations.AddField(
            model_name="librarystudyuse",
            name="study",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="uses",
                to="clinic.librarystudy",
            ),
        ),
        migrations.AddField(
            model_name="librarytrialuse",
            name="trial",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="uses",
                to="clinic.librarytrial",
            ),
        ),
        migrations.AddIndex(
            model_name="librarystudyuse",
            index=models.Index(fields=["indication", "product", "study"], name="library_study_by_use"),
        ),
        migrations.AddIndex(
            model_name="librarystudyuse",
            index=models.Index(fields=["product", "study"], name="library_study_by_product"),
        ),
        migrations.AddConstraint(
            model_name="librarystudyuse",
            constraint=models.UniqueConstraint(
                fields=("study", "indication", "product"), name="library_study_use_once"
            ),
        ),
        migrations.AddIndex(
            model_name="librarytrialuse",
            index=models.Index(fields=["indication", "product", "trial"], name="library_trial_by_use"),
        ),
        migrations.AddConstraint(
            model_name="librarytrialuse",
            constraint=models.UniqueConstraint(
                fields=("trial", "indication", "product"), name="library_trial_use_once"
            ),
        ),
        migrations.RunPython(create_search, drop_search),
    ]
