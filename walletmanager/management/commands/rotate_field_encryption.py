"""``manage.py rotate_field_encryption``: re-encrypt every secret at rest under the first key of
FIELD_ENCRYPTION_KEYS (SPEC §13), so that an old key can then be dropped (docs/configuration.md)."""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.db import transaction

from walletmanager.commands import OperatorCommand
from walletmanager.encrypted_fields import EncryptedTextField

BATCH = 500


class Command(OperatorCommand):
    help = (
        "Re-encrypt every value encrypted at rest (TOTP keys, recovery codes, webhook secrets) under the first "
        "key of FIELD_ENCRYPTION_KEYS. Run it after putting a new key first; then the old keys can be removed."
    )

    def run(self, *args, **options):
        total = 0
        try:
            for model in apps.get_models():
                fields = [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
                if fields:
                    total += self._rotate(model, fields)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Re-encrypted {total} value{'s' if total != 1 else ''} under the first key.")

    def _rotate(self, model, fields: list[str]) -> int:
        """Read each row (any listed key decrypts it) and write it back (the first key encrypts it)."""
        done = 0
        pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), BATCH):
            with transaction.atomic():
                rows = list(model._default_manager.filter(pk__in=pks[start : start + BATCH]).only("pk", *fields))
                model._default_manager.bulk_update(rows, fields)
            done += len(rows) * len(fields)
        return done
