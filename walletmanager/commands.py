"""The shape every WalletManager management command shares: bad input or a refused operation
prints one line on stderr and exits non-zero, never a traceback (SPEC §9)."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError

from walletmanager.exceptions import DomainError


class OperatorCommand(BaseCommand):
    """Subclasses implement ``run(*args, **options)``; domain errors become a one-line CommandError."""

    def handle(self, *args, **options):
        try:
            return self.run(*args, **options)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.detail}") from None
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        except ObjectDoesNotExist as error:
            raise CommandError(str(error) or "Not found.") from None

    def run(self, *args, **options):  # pragma: no cover - abstract
        """The hook every command overrides: parse nothing here, do the command's one job."""
        raise NotImplementedError

    def get_actor(self):
        """Commands act as the system (audit ``actor`` is empty); the operator is whoever ran the shell."""
        return None
