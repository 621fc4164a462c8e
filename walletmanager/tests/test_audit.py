import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, transaction

from walletmanager.audit import audit_record
from walletmanager.models import AuditEvent


@pytest.mark.django_db
def test_audit_events_cannot_be_updated_or_deleted_even_with_raw_queries():
    event = audit_record(actor=None, action="test.action", target=None, target_type="users.user")

    # Refused by the runtime role's privileges (SPEC §14) and, for any role, by the append-only trigger.
    with pytest.raises((IntegrityError, InternalError, ProgrammingError)), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises((IntegrityError, InternalError, ProgrammingError)), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    event.refresh_from_db()
    assert event.reason == ""
