"""The tamper-evident audit seal (SPEC §15): blocks hashed onto each other, checked by ``verify_audit``
and ``reconcile``. Tampering is planted the only way it could happen: as the database owner, with the
append-only trigger switched off for the moment of the change."""

import time
from contextlib import contextmanager

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from transactions.reconciliation import reconcile
from users.tests.factories import UserFactory
from walletmanager.audit import audit_record
from walletmanager.audit_seal import (
    GENESIS_HASH,
    audit_event_canonical,
    audit_seal,
    audit_unsealed_count,
    audit_verify,
)
from walletmanager.exceptions import AuditSealDeferred
from walletmanager.models import AuditEvent, AuditSeal
from walletmanager.testing.database import (
    Background,
    owner_connection,
    require_two_roles,
    run_manage,
    runtime_connection,
)

pytestmark = pytest.mark.django_db(transaction=True)


def record_events(count: int, **data) -> list[AuditEvent]:
    user = UserFactory()
    return [
        audit_record(
            actor=None, action="user.blocked", target=user, reason=f"reason {number}", data={"number": number, **data}
        )
        for number in range(count)
    ]


@contextmanager
def tampering():
    """An owner connection with the audit trail's append-only trigger off; committed at the end."""
    require_two_roles()
    with owner_connection() as owner:
        # Django's foreign keys are deferred; checked at once, the trigger can be switched back on.
        owner.execute("SET CONSTRAINTS ALL IMMEDIATE")
        owner.execute("ALTER TABLE walletmanager_auditevent DISABLE TRIGGER auditevent_append_only")
        yield owner
        owner.execute("ALTER TABLE walletmanager_auditevent ENABLE TRIGGER auditevent_append_only")


def test_sealed_events_verify_and_each_event_is_sealed_once():
    first = record_events(3)

    seals = audit_seal()

    assert [(seal.first_event_id, seal.last_event_id, seal.event_count) for seal in seals] == [
        (first[0].pk, first[-1].pk, 3)
    ]
    assert seals[0].previous_hash == GENESIS_HASH
    assert [event.pk for event in first] == list(range(first[0].pk, first[0].pk + 3))  # one id per event
    assert audit_unsealed_count() == 0
    later = record_events(2)
    assert audit_unsealed_count() == 2

    (second,) = audit_seal()

    assert (second.first_event_id, second.last_event_id, second.event_count) == (later[0].pk, later[-1].pk, 2)
    assert second.previous_hash == seals[0].hash
    assert audit_seal() == []
    verification = audit_verify()
    assert verification.ok
    assert (verification.blocks_checked, verification.events_checked) == (2, 5)


def test_an_event_changed_by_the_database_owner_breaks_its_block_in_verify_audit_and_reconcile(capsys):
    events = record_events(5)
    first_block, middle_block, last_block = audit_seal(block_size=2)
    assert [seal.event_count for seal in (first_block, middle_block, last_block)] == [2, 2, 1]
    call_command("verify_audit")
    assert capsys.readouterr().out.strip() == "3 blocks, 5 events verified."

    with tampering() as owner:
        owner.execute("UPDATE walletmanager_auditevent SET reason = 'nothing happened' WHERE id = %s", [events[3].pk])

    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit")
    assert exit_info.value.code == 1
    message = capsys.readouterr().err.strip()
    assert message == (
        f"Audit seal broken: block {middle_block.pk} (events {events[2].pk}–{events[3].pk}) no longer matches: "
        "an event's content changed."
    )

    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "DRIFT  audit_seal_holds" in out
    assert f"{middle_block.pk} | {events[2].pk} | {events[3].pk} | an event's content changed" in out
    assert "OK     entries_zero_sum" in out  # the ledger's own checks are unchanged


def test_a_deleted_event_or_one_slipped_into_a_sealed_range_breaks_the_seal():
    events = record_events(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="user.blocked", target=None, target_type="users.user")
        raise RuntimeError("rolled back: its id stays unused")
    events += record_events(2)
    (seal,) = audit_seal()
    assert reconcile().is_clean

    gap = events[1].pk + 1
    with tampering() as owner:
        owner.execute("ALTER TABLE walletmanager_auditevent DISABLE TRIGGER auditevent_number")
        owner.execute(
            "INSERT INTO walletmanager_auditevent (id, action, target_type, target_id, reason, data, created_at)"
            " VALUES (%s, 'user.unblocked', 'users.user', '1', '', '{}', now())",
            [gap],
        )
        owner.execute("ALTER TABLE walletmanager_auditevent ENABLE TRIGGER auditevent_number")
    assert audit_verify().broken.problem == "1 event(s) added inside its sealed range"

    with tampering() as owner:
        owner.execute("DELETE FROM walletmanager_auditevent WHERE id IN (%s, %s)", [gap, events[0].pk])
    broken = audit_verify().broken
    assert (broken.block, broken.problem) == (seal.pk, "1 sealed event(s) missing")
    report = reconcile()
    assert not report.is_clean
    assert next(check for check in report.checks if check.name == "audit_seal_holds").count == 1


def test_a_change_in_the_eighteenth_digit_of_a_number_is_noticed():
    record_events(1, rate=1.000000000000000001)
    audit_seal()

    with tampering() as owner:
        owner.execute("UPDATE walletmanager_auditevent SET data = jsonb_set(data, '{rate}', '1.000000000000000002')")

    assert audit_verify().broken.problem == "an event's content changed"


def test_the_canonical_form_of_an_event_is_fixed_because_every_existing_seal_depends_on_it():
    row = (
        7,
        None,
        "user.blocked",
        "users.user",
        "3",
        "fraud ✓",
        '{"rate": 1.50, "after": {"status": "blocked"}}',
        "10.0.0.1",
        "2026-01-31T12:00:00.000000Z",
    )

    assert (
        audit_event_canonical(row)
        == (
            '{"action":"user.blocked","actor_id":null,"created_at":"2026-01-31T12:00:00.000000Z",'
            '"data":{"after":{"status":"blocked"},"rate":"1.50"},"id":7,"ip":"10.0.0.1","reason":"fraud ✓",'
            '"target_id":"3","target_type":"users.user"}'
        ).encode()
    )


def test_a_removed_block_breaks_the_chain_at_the_block_after_it():
    record_events(4)
    first, second = audit_seal(block_size=2)
    require_two_roles()
    with owner_connection() as owner:
        owner.execute("ALTER TABLE walletmanager_auditseal DISABLE TRIGGER auditseal_append_only")
        owner.execute("DELETE FROM walletmanager_auditseal WHERE id = %s", [first.pk])
        owner.execute("ALTER TABLE walletmanager_auditseal ENABLE TRIGGER auditseal_append_only")

    broken = audit_verify().broken
    assert broken.block == second.pk
    assert broken.problem == "it does not follow the block before it (a block was removed or rewritten)"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE walletmanager_auditseal SET hash = previous_hash",
        "DELETE FROM walletmanager_auditseal",
        "TRUNCATE walletmanager_auditseal",
        "SELECT setval('walletmanager_auditevent_id_seq', 1)",
    ],
)
def test_the_runtime_role_cannot_rewrite_the_seal(statement):
    require_two_roles()
    record_events(2)
    (seal,) = audit_seal()

    with runtime_connection() as runtime:
        assert runtime.execute("SELECT current_user").fetchone()[0] == connection.runtime_role
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute(statement)

    assert AuditSeal.objects.get().hash == seal.hash
    assert audit_verify().ok


def test_not_even_the_owner_rewrites_a_seal_without_switching_its_trigger_off():
    require_two_roles()
    record_events(1)
    audit_seal()
    with owner_connection() as owner:
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            owner.execute("UPDATE walletmanager_auditseal SET hash = previous_hash")


def test_an_event_inserted_with_a_chosen_id_takes_the_next_one_instead():
    (sealed,) = record_events(1)
    audit_seal()

    # The runtime role cannot insert an event at all (SPEC §16); the owner, who can, names an id in vain.
    with runtime_connection() as runtime:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute(
                "INSERT INTO walletmanager_auditevent (id, action, target_type, target_id, reason, data, created_at)"
                " VALUES (%s, 'user.unblocked', 'users.user', '1', '', '{}', now())",
                [sealed.pk],
            )
    with owner_connection() as owner:
        owner.execute(
            "INSERT INTO walletmanager_auditevent (id, action, target_type, target_id, reason, data, created_at)"
            " VALUES (%s, 'user.unblocked', 'users.user', '1', '', '{}', now())",
            [sealed.pk],
        )

    assert AuditEvent.objects.filter(pk__gt=sealed.pk).count() == 1
    assert audit_verify().ok


def test_the_sealer_never_seals_past_an_event_whose_transaction_is_still_open():
    require_two_roles()
    with runtime_connection() as open_transaction:
        open_transaction.execute(
            "SELECT ledger.audit_append(NULL, 'user.blocked', 'users.user', '1', 'still open', '{}', NULL)"
        )
        (committed_after_it,) = record_events(1)

        with pytest.raises(AuditSealDeferred, match="nothing was sealed"):
            audit_seal(wait=0.3)
        assert not AuditSeal.objects.exists()

        # A sealer that may wait long enough seals both once the open transaction commits.
        sealer = Background(lambda: audit_seal(wait=20))
        time.sleep(0.3)
        assert sealer.thread.is_alive() and not AuditSeal.objects.exists()
        open_transaction.commit()
        sealed = sealer.join()

    (seal,) = sealed
    assert seal.event_count == 2 and seal.last_event_id == committed_after_it.pk
    assert AuditEvent.objects.get(reason="still open").pk < committed_after_it.pk
    assert audit_verify().ok


def test_two_sealers_at_once_chain_one_after_the_other():
    record_events(6)

    sealers = [Background(lambda: audit_seal(block_size=4)) for _ in range(2)]
    results = [sealer.join() for sealer in sealers]

    assert sorted(len(seals) for seals in results) == [0, 2]
    verification = audit_verify()
    assert (verification.ok, verification.blocks_checked, verification.events_checked) == (True, 2, 6)


def test_seal_audit_prints_what_it_sealed_and_refuses_a_bad_wait(capsys):
    events = record_events(2)

    call_command("seal_audit")

    seal = AuditSeal.objects.get()
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Sealed 2 event(s) in 1 block(s):",
        f"  block {seal.pk}  events {events[0].pk}–{events[1].pk}  {seal.hash}",
    ]
    call_command("seal_audit")
    assert capsys.readouterr().out.strip() == "Nothing new to seal."
    with pytest.raises(CommandError, match="--wait must be a number of seconds, 0 or more"):
        call_command("seal_audit", "--wait", "-1")
    with pytest.raises(CommandError, match="invalid float value"):
        call_command("seal_audit", "--wait", "soon")


def test_verify_audit_from_the_shell_exits_1_with_one_line_naming_the_block():
    events = record_events(2)
    (seal,) = audit_seal()
    with tampering() as owner:
        owner.execute("UPDATE walletmanager_auditevent SET reason = '' WHERE id = %s", [events[0].pk])

    result = run_manage("verify_audit")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Audit seal broken: block {seal.pk} (events {events[0].pk}–{events[1].pk}) no longer matches: "
        "an event's content changed."
    ]
