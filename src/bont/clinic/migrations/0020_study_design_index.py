# The evidence library's design filter counted from an index (issue 16: a filter alone at 100,000 studies).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0019_saved_cohort'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='librarystudy',
            index=models.Index(fields=['design', 'id'], name='library_study_by_design'),
        ),
    ]
