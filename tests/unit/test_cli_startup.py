"""Start-up of the knowledge-only commands: no records' frameworks, and the validated knowledge read back from
bont's cache instead of parsed and validated again (the figures are in bench/cli_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bont.bootstrap import build_knowledge, knowledge_cache_dir, load_knowledge_files
from bont.cli.app import app, app_for
from bont.domain.errors import KnowledgeError
from tests.commands import bont

# Libraries a plan needs none of: the records (Django, django-ninja), documents (fpdf2, jinja2), ICD-10-CM, the
# settings class, and, with the knowledge cached, the YAML loader and its schema.
NOT_FOR_A_PLAN = (
    "django",
    "ninja",
    "fpdf",
    "jinja2",
    "simple_icd_10_cm",
    "pydantic_settings",
    "yaml",
    "bont.knowledge.loader",
    "bont.clinic",
)

PLAN_IN_A_NEW_PROCESS = f"""
import contextlib, io, json, sys
import bont.cli.app
sys.argv = ["bont", "plan", "--product", "BOTOX", "--indication", "chronic-migraine"]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    bont.cli.app.main()
print(json.dumps(sorted(m for m in {NOT_FOR_A_PLAN!r} if m in sys.modules)))
"""


@pytest.fixture
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache folder of this test's own (for this process and the processes it starts)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BONT_KNOWLEDGE_DIR", raising=False)
    return knowledge_cache_dir()


def test_a_plan_imports_neither_the_records_frameworks_nor_the_knowledge_loader(own_cache: Path) -> None:
    load_knowledge_files()  # as `bont knowledge validate` does: the knowledge in use is now cached
    result = subprocess.run(
        [sys.executable, "-c", PLAN_IN_A_NEW_PROCESS], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout) == []


def test_the_cached_knowledge_is_the_validated_one_and_a_changed_file_is_validated_again(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setenv("BONT_KNOWLEDGE_DIR", str(data_dir))
    validated = load_knowledge_files()
    (entry,) = own_cache.glob("*.pickle")
    assert entry.stat().st_mode & 0o077 == 0  # owner-only
    assert build_knowledge.__wrapped__() == validated  # read back, not loaded: the same objects
    entry.write_bytes(b"damaged")
    assert build_knowledge.__wrapped__() == validated  # a damaged entry is passed over
    path = data_dir / "indications" / "sialorrhea.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("muscle: parotid-gland", "muscle: parotid", 1))
    with pytest.raises(KnowledgeError, match="unknown muscle 'parotid'"):
        build_knowledge.__wrapped__()


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--help"],
        ["plan", "--product", "BOTOX", "--indication", "no-such-indication"],
        ["plan", "--product", "BOTOX"],
        ["knowledge", "validate", "--help"],
        ["product", "show", "NO-SUCH-PRODUCT"],
    ],
)
def test_a_command_run_alone_answers_exactly_as_in_the_whole_app(args: list[str]) -> None:
    whole = bont(*args)
    alone = CliRunner().invoke(app_for(args), args, prog_name="bont")
    assert (alone.exit_code, alone.stdout, alone.stderr) == (whole.returncode, whole.stdout, whole.stderr)


@pytest.mark.parametrize("args", [[], ["--help"], ["--as", "someone", "plan"], ["plann"]])
def test_an_option_first_or_an_unknown_command_gets_the_whole_app(args: list[str]) -> None:
    assert app_for(args) is app
