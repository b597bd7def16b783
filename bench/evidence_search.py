"""Benchmark: the evidence library's search at 100,000 studies (issue 16), on SQLite (FTS5) and PostgreSQL
(text search over a GIN index), through the adapter the pages and the API use.

Fills a new database with the curated catalogue and, beside it, studies made from the curated ones (each a copy
with another title drawn from the catalogue's own words, another year and a key of its own) up to ``--studies``,
then times the first page of 25 results for searches as researchers type them: a rare word, two common words, a word in
most records, a prefix, filters alone and words with filters. Each median (and p95) is printed in milliseconds
beside the target (under 50 ms) and as a ratio against a plain indexed lookup of one study by its key, timed in
the same run on the same connection.

    .venv/bin/python bench/evidence_search.py [--studies 100000] [--engine sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from clinic_scale import database  # a new SQLite file, or a throwaway PostgreSQL server

TARGET_MS = 50
ROUNDS = 30


def fill(studies: int) -> None:
    """The curated catalogue, then copies of its studies with other titles and years up to ``studies``."""
    from django.db import connection  # noqa: TID251 (the studies written in bulk, beside the adapter)

    from bont.bootstrap import study_catalogue, study_library
    from bont.clinic import models
    from bont.clinic.evidence_records import _study_columns
    from bont.domain.studies import record_as_dict, uses_of

    study_library()  # writes the curated catalogue
    curated = study_catalogue().studies
    words = sorted({word for study in curated for word in study.title.split() if word.isalpha() and len(word) > 3})
    rng = random.Random(16)
    made = models.LibraryStudy.objects.count()
    batch = 5_000
    while made < studies:
        rows, records, uses = [], [], []
        for number in range(made, min(studies, made + batch)):
            template = rng.choice(curated)
            study = replace(
                template,
                key=f"bench-{number}",
                title=" ".join(rng.sample(words, 9)),
                year=rng.randint(1985, 2026),
                pmid=None,
                doi=None,
                nct=None,
            )
            rows.append(models.LibraryStudy(**_study_columns(study)))
            records.append(study)
            uses.append(list(uses_of(study.indications, study.products)))
        created = models.LibraryStudy.objects.bulk_create(rows)
        ids = dict(models.LibraryStudy.objects.filter(key__in=[row.key for row in rows]).values_list("key", "id"))
        models.LibraryStudyDocument.objects.bulk_create(
            models.LibraryStudyDocument(study_id=ids[study.key], record=record_as_dict(study)) for study in records
        )
        models.LibraryStudyText.objects.bulk_create(
            models.LibraryStudyText(study_id=ids[study.key], search_text=study.searchable_text()) for study in records
        )
        models.LibraryStudyUse.objects.bulk_create(
            models.LibraryStudyUse(study_id=ids[row.key], indication=indication, product=product)
            for row, pairs in zip(created, uses, strict=True)
            for indication, product in pairs
        )
        made += len(rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As autovacuum leaves a table after a bulk insert: statistics, and the visibility map that lets a
            # count of a word's matches read the text search index without visiting each row.
            cursor.execute("VACUUM ANALYZE")


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Median and p95 wall milliseconds of ``action`` over ``ROUNDS`` runs (after one to warm the caches)."""
    action()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--keep", type=Path, help="Write the SQLite database into this folder and keep it.")
    options = parser.parse_args()
    with contextlib.ExitStack() as stack:
        folder = str(options.keep or stack.enter_context(tempfile.TemporaryDirectory(prefix="bont-evidence-bench-")))
        url = stack.enter_context(database(options.engine, Path(folder)))
        os.environ["DATABASE_URL"] = url
        os.environ["BONT_DATA_DIR"] = folder
        from bont.bootstrap import setup_database

        setup_database()
        started = time.perf_counter()
        fill(options.studies)
        print(f"{options.engine}: {options.studies:,} studies written in {time.perf_counter() - started:.1f} s")
        measure()


def measure() -> None:
    from bont.clinic import models
    from bont.clinic.evidence_records import DjangoStudyLibrary
    from bont.domain.studies import Design, StudyFilter

    library = DjangoStudyLibrary()
    keys = [f"bench-{number}" for number in range(0, 90_000, 997)]
    lookups = iter(keys * (ROUNDS + 1))
    lookup, _ = timed(
        lambda: models.LibraryStudy.objects.filter(key=next(lookups)).values_list("document__record").first()
    )
    print(f"baseline: one study by its key (unique index): median {lookup:.2f} ms")
    searches = {
        "a rare word ('compel')": StudyFilter(text="compel"),
        "a word of one indication ('hemifacial')": StudyFilter(text="hemifacial"),
        "two common words ('onabotulinumtoxinA migraine')": StudyFilter(text="onabotulinumtoxinA migraine"),
        "a word in most records ('botulinum')": StudyFilter(text="botulinum"),
        "a prefix ('blephar')": StudyFilter(text="blephar"),
        "filters alone (cervical dystonia, RCT)": StudyFilter(indication="cervical-dystonia", design=Design.RCT),
        "words and filters ('placebo', chronic migraine, 2010-2020)": StudyFilter(
            text="placebo", indication="chronic-migraine", year_from=2010, year_to=2020
        ),
    }
    for name, where in searches.items():
        median, p95 = timed(lambda where=where: library.search_studies(where, 0, 25))  # type: ignore[misc]
        page = library.search_studies(where, 0, 25)
        found = f"{'about ' if page.total_is_estimate else ''}{page.total:,}"
        verdict = "met" if median < TARGET_MS else "NOT met"
        print(
            f"{name}: {found} found; median {median:.1f} ms, p95 {p95:.1f} ms "
            f"({median / lookup:.0f}x the lookup) target < {TARGET_MS} ms: {verdict}"
        )


if __name__ == "__main__":
    main()
