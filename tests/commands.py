"""The ``bont`` command run in this process, as Typer's test runner runs it, and a helper process that runs
commands for a test against a database another process (the web server) is using.

Typer's ``CliRunner.invoke`` builds the Click command from the Typer app again on every call (a fifth of a
second); :func:`bont` builds it once per process and otherwise does what ``invoke`` does: the same isolation
of stdin, stdout and stderr, the same exit codes. A result is a ``CompletedProcess`` (``returncode``,
``stdout``, ``stderr``), as ``subprocess.run`` gives for the installed command, so that a test reads the same
either way. An exception the command does not turn into an exit code is raised, not hidden in exit code 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from typer.main import get_command
from typer.testing import CliRunner

if TYPE_CHECKING:
    from typer._click import Command

ROOT = Path(__file__).parent.parent
INSTALLED = str(Path(sys.executable).with_name("bont"))


@cache
def _command() -> Command:
    from bont.cli.app import app

    return get_command(app)


def bont(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``bont ARGS`` in this process; ``stdin`` is what the command reads from standard input."""
    runner = CliRunner()
    code: int = 0
    with runner.isolation(input=stdin) as (out, err, _):
        try:
            _command().main(args=list(args), prog_name="bont")
        except SystemExit as exit_:
            code = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return subprocess.CompletedProcess(["bont", *args], code, stdout, stderr)


def bont_ok(*args: str) -> str:
    """Run ``bont ARGS`` in this process, which must succeed; its standard output."""
    result = bont(*args)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


# A child process serving ``bont`` commands, one JSON line in (arguments, stdin), one JSON line out (exit
# code, stdout, stderr), so that a test pays for importing bont and setting up Django once, not per command.
_SERVE = textwrap.dedent(
    """
    import json
    import sys
    import traceback

    from tests.commands import bont

    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        try:
            done = bont(*request["args"], stdin=request["stdin"])
            reply = {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
        except Exception:
            reply = {"returncode": 1, "stdout": "", "stderr": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\\n")
        replies.flush()
    """
)


class CommandProcess:
    """One Python process that runs ``bont`` commands in its own environment (its ``DATABASE_URL``, its
    ``BONT_TIME_ZONE``), as the installed command would, one after another."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE],
            env={**env, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"args": list(args), "stdin": stdin}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the command process ended (exit code {self.process.poll()})"
        reply = json.loads(line)
        return subprocess.CompletedProcess(["bont", *args], reply["returncode"], reply["stdout"], reply["stderr"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def installed_bont(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``bont`` command in a process of its own, as a user would."""
    return subprocess.run(
        [INSTALLED, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
