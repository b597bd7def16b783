"""Who runs the command: the operator named with ``bont --as USERNAME`` (or ``BONT_OPERATOR``), recorded as
the user of every change the command makes and as the reader of the patient data it shows or exports. Without
one, changes and reads are still made and the audit says "command line (no operator named)"."""

from __future__ import annotations

from contextvars import ContextVar

from bont import bootstrap
from bont.services.access_log import Access, Action, Channel, log_access

__all__ = ["Action", "log_cli_read", "operator"]

operator: ContextVar[str | None] = ContextVar("operator", default=None)


def log_cli_read(target: str, mrn: str | None = None, object_id: object = "", action: Action = Action.READ) -> None:
    """Append that the operator read ``target`` (``object_id``) of the patient ``mrn`` from the command line."""
    log_access(
        bootstrap.access_log(),  # looked up when called: a test wires in the fake
        Access(
            actor=operator.get(),
            channel=Channel.CLI,
            action=action,
            target=target,
            patient_mrn=mrn,
            object_id=str(object_id),
        ),
    )
