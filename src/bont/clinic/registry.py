"""Record keeping for the demo clinic and older callers: patients, users and lots are registered through the
services (``bont.services.patients``, ``bont.services.users``, ``bont.services.inventory``) on their Django
adapters; billing and recall live in ``bont.services.billing`` and ``bont.services.inventory``.

Each function is one transaction. Errors never repeat identifiers (MRN, names): messages may be logged.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone

from bont.services import users
from bont.services.clock import SystemClock
from bont.services.patients import NewPatient as NewPatient  # re-exported for the demo and the contract tests
from bont.services.patients import register_patient

ROLES = users.ROLES


def add_user(username: str, role: str, password: str | None = None, npi: str | None = None) -> None:
    """Add a user with a role and, optionally, their NPI (``bont.services.users.add_user`` on the Django
    adapter)."""
    from bont.clinic.accounts import DjangoUserAccounts

    users.add_user(DjangoUserAccounts(), username, role, password, npi)


def add_patient(new: NewPatient) -> int:
    """Register a patient (``bont.services.patients.register_patient`` on the Django adapter)."""
    from bont.clinic.patient_records import DjangoPatientRegistry

    return register_patient(DjangoPatientRegistry(), SystemClock(timezone.get_current_timezone()), new)


def add_lot(
    product: str, lot_number: str, expiry: date, vial_units: Decimal, quantity: int, received_on: date, ndc: str = ""
) -> list[int]:
    """Receive a lot (``bont.services.inventory.receive_lot`` on the Django adapter); returns the vial ids."""
    from bont.clinic.inventory_records import DjangoInventory
    from bont.services.inventory import NewLot, receive_lot

    new = NewLot(product, lot_number, expiry, vial_units, quantity, received_on, ndc)
    return list(receive_lot(DjangoInventory(), new))
