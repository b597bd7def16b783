"""``bont research``: the de-identified registry's stored verdicts."""

from __future__ import annotations

import typer

from bont.cli.common import stderr, stdout

research_app = typer.Typer(help="The de-identified research registry.", no_args_is_help=True)

PROGRESS_EVERY = 10_000  # patients


@research_app.command("refresh")
def research_refresh() -> None:
    """Judge every patient's latest responder verdicts again with the knowledge in use, and summarise the Follow-up
    list again: after an upgrade, or when the knowledge files changed (the research page then shows no rate until
    this has run). Recording goes on meanwhile."""
    from bont.bootstrap import refresh_responder_verdicts

    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        if done - shown >= PROGRESS_EVERY or done == total:
            stderr.print(f"judged {done:,} of {total:,} patients")
            shown = done

    patients = refresh_responder_verdicts(progress)
    stdout.print(f"responder verdicts judged again and the Follow-up list summarised again for {patients:,} patients")
