"""The ledger has one door (SPEC §16): every attack of the runtime role on it, as the runtime role.

Each test connects as the application's runtime role (``DATABASE_URL``) on a connection of its own,
as a compromised web process would, and tries one way around the ledger's functions: a temporary
object standing in for a name the owner's code uses, a direct write to a ledger table, entries added
to an old transaction, a transaction made ``reversed`` without its reversal, a forged or far-reaching
seal, a balance moved to another wallet. Every one is refused and changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import psycopg
import pytest

from transactions import services
from transactions.models import Entry, Transaction
from walletmanager.audit_seal import GENESIS_HASH, audit_seal, audit_verify
from walletmanager.models import AuditEvent, AuditSeal
from walletmanager.testing.database import owner_connection, require_two_roles, runtime_connection
from walletmanager.testing.ledger import PIN, assert_ledger_consistent, deposit, make_wallet, position

pytestmark = pytest.mark.django_db(transaction=True)

# What the runtime role may never write itself: each table, and a statement of each kind.
LEDGER_TABLES = [
    "transactions_transaction",
    "transactions_entry",
    "balances_balanceasset",
    "balances_balance",
    "walletmanager_auditevent",
    "walletmanager_auditseal",
    "transactions_dailyvolume",
]


@pytest.fixture
def two_roles():
    require_two_roles()


@pytest.fixture
def transfer(two_roles, usd):
    """A posted transfer of 40.00 USD between two clients' wallets (100.00 deposited first)."""
    sender, recipient = make_wallet(), make_wallet()
    deposit(sender, "100")
    posted = services.transaction_transfer(
        actor=sender.owner, wallet=sender, to_address=recipient.address, currency=usd, amount="40", pin=PIN
    )
    return posted, sender, recipient


def refused(runtime: psycopg.Connection, statement: str, params=()) -> psycopg.Error:
    """Run ``statement`` as the runtime role; it must fail. Returns the error."""
    with pytest.raises(psycopg.Error) as caught:
        runtime.execute(statement, params)
    runtime.rollback()
    return caught.value


# --- no stand-ins: temporary objects ------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TEMP TABLE transactions_dailyvolume (id bigint)",
        "CREATE TEMP TABLE balances_balanceasset (id bigint)",
        "CREATE TEMP TABLE transactions_entry (id bigint)",
        "CREATE TEMP SEQUENCE walletmanager_auditevent_id_seq",
        "CREATE FUNCTION pg_temp.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS 'SELECT now()'",
        "CREATE TEMP VIEW wallets_wallet AS SELECT 1 AS id",
    ],
)
def test_the_runtime_role_creates_no_temporary_object(two_roles, statement):
    with runtime_connection() as runtime:
        error = refused(runtime, statement)
    assert isinstance(error, psycopg.errors.InsufficientPrivilege)


def test_every_definer_and_trigger_function_resolves_no_name_through_the_callers_path(two_roles):
    """Even a role that may create temporary objects (the owner) cannot make the ledger's code run
    its own: each function of the ``ledger`` schema and each function behind a trigger of the
    application's tables runs with an empty search_path."""
    with owner_connection() as owner:
        rows = owner.execute(
            """
            SELECT p.oid::regprocedure::text, p.prosecdef, COALESCE(p.proconfig, '{}')
              FROM pg_proc p
             WHERE p.pronamespace = 'ledger'::regnamespace
                OR p.oid IN (SELECT t.tgfoid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                              WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
                                AND c.relname NOT LIKE 'procrastinate%%')
            """
        ).fetchall()
    assert len(rows) >= 15

    def safe(definer: bool, config: list[str]) -> bool:
        # Empty, or (for the one invoker helper that runs Procrastinate's unqualified triggers) pg_temp last.
        return 'search_path=""' in config or (not definer and "search_path=public, pg_temp" in config)

    unsafe = [name for name, definer, config in rows if not safe(definer, config)]
    assert unsafe == []
    definers = {name for name, definer, _ in rows if definer}
    assert {
        "ledger.move(uuid,text,bigint,inet,uuid,text,numeric,numeric,text,uuid,text,numeric,numeric,text,text,text,text)",
        "ledger.resolve(uuid,text,text,bigint,inet,text,numeric,numeric,text,timestamp with time zone,boolean,bigint,"
        "text,text)",
        "ledger.reverse(uuid,bigint,inet,text)",
        "ledger.lock_assets(uuid[],text[])",
    } <= definers


def test_a_temporary_table_of_the_owner_does_not_stand_in_for_the_ledgers(transfer, usd):
    """The owner may create temporary tables; one named like an asset table, with a trigger that would
    add a million, changes nothing when the ledger's functions post in that session."""
    _, sender, recipient = transfer
    with owner_connection() as owner:
        owner.execute("CREATE TEMP TABLE balances_balanceasset (LIKE public.balances_balanceasset INCLUDING DEFAULTS)")
        owner.execute("INSERT INTO balances_balanceasset SELECT * FROM public.balances_balanceasset")
        owner.execute("UPDATE balances_balanceasset SET posted = posted + 1000000")
        owner.execute("SET search_path = pg_temp, public")
        owner.execute("SELECT * FROM ledger.lock_assets(ARRAY[%s::uuid], ARRAY['USD'])", [sender.pk])
    assert position(sender) == (Decimal("60"), 0, Decimal("60"))
    assert_ledger_consistent()


# --- no direct writes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_the_runtime_role_writes_no_ledger_table_itself(transfer, table):
    posted, sender, _ = transfer
    with runtime_connection() as runtime:
        for statement in (
            f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
            f"ALTER TABLE {table} DISABLE TRIGGER USER",
        ):
            assert isinstance(refused(runtime, statement), psycopg.errors.InsufficientPrivilege), statement
    assert Transaction.objects.get(pk=posted.pk).status == "posted"
    assert position(sender) == (Decimal("60"), 0, Decimal("60"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transactions_transaction SET status = 'reversed'",
        "UPDATE transactions_transaction SET amount = amount * 2",
        "UPDATE transactions_entry SET amount = amount * 2",
        "UPDATE balances_balanceasset SET posted = posted + 1000000",
        "UPDATE balances_balanceasset SET held = 0",
        "UPDATE balances_balanceasset SET balance_id = balance_id",
        "UPDATE walletmanager_auditevent SET reason = 'rewritten'",
        "UPDATE walletmanager_auditseal SET hash = repeat('0', 64)",
        "UPDATE transactions_dailyvolume SET amount = 0",
    ],
)
def test_the_runtime_role_rewrites_no_ledger_row(transfer, statement):
    posted, sender, recipient = transfer
    audit_seal(wait=5)
    with runtime_connection() as runtime:
        assert isinstance(refused(runtime, statement), psycopg.errors.InsufficientPrivilege)
    assert (Transaction.objects.get(pk=posted.pk).status, position(sender)) == ("posted", (Decimal(60), 0, Decimal(60)))
    assert audit_verify().ok
    assert_ledger_consistent()


def test_a_balance_cannot_be_moved_to_another_wallet(two_roles):
    rich, poor = make_wallet(), make_wallet()
    deposit(rich, "500")
    with runtime_connection() as runtime:
        error = refused(
            runtime,
            "UPDATE balances_balance SET wallet_id = %s WHERE wallet_id = %s",
            [poor.pk, rich.pk],
        )
        assert isinstance(error, psycopg.errors.InsufficientPrivilege)
        # What an operator changes through the freeze service stays writable, and only that.
        runtime.execute("UPDATE balances_balance SET freeze_reason = freeze_reason WHERE wallet_id = %s", [rich.pk])
        runtime.rollback()
    assert position(rich) == (Decimal("500"), 0, Decimal("500"))
    assert position(poor) == (0, 0, 0)


# --- the functions refuse what is not a movement ----------------------------------------------------------

RESOLVE = "SELECT * FROM ledger.resolve(%s, %s, %s, NULL, NULL, 'attack', 0, NULL, NULL, NULL, false, NULL, NULL, NULL)"


def test_no_entries_can_be_added_to_an_old_transaction(transfer, usd):
    """No function takes entries from its caller; the one that writes entries for an existing
    transaction, ledger.resolve, takes only a pending one."""
    posted, sender, recipient = transfer
    entries_before = Entry.objects.filter(transaction=posted).count()
    with runtime_connection() as runtime:
        for kind in ("withdrawal", "deposit", "transfer"):
            with pytest.raises(psycopg.Error) as caught:
                runtime.execute(RESOLVE, [posted.pk, kind, "post"])
            runtime.rollback()
            assert (caught.value.diag.sqlstate, caught.value.diag.message_detail) == ("WM409", "invalid_state")
    assert Entry.objects.filter(transaction=posted).count() == entries_before
    assert position(recipient) == (Decimal("40"), 0, Decimal("40"))
    assert_ledger_consistent()


def test_a_caller_names_no_entries_the_kind_does_not_make(two_roles, usd):
    """ledger.move derives a movement's legs from its kind: called as the runtime role directly, a
    transfer moves the sender's amount + fee, the recipient's amount and the fee, nothing else."""
    sender, recipient, bystander = make_wallet(), make_wallet(), make_wallet()
    deposit(sender, "100")
    with runtime_connection() as runtime:
        (text,) = runtime.execute(
            "SELECT txn::text FROM ledger.move(gen_random_uuid(), 'transfer', NULL, NULL, %s, 'USD', 40, 1.5, %s,"
            " %s, NULL, NULL, NULL, '', '', NULL, NULL)",
            [sender.pk, recipient.address, bystander.pk],
        ).fetchone()
        runtime.commit()
    moved = Transaction.objects.get(pk=json.loads(text)["id"])
    assert moved.to_wallet_id == recipient.pk  # the address decides, not a wallet id on the side
    assert sorted((entry.wallet_id == sender.pk, entry.amount) for entry in moved.entries.all()) == [
        (False, Decimal("1.5")),
        (False, Decimal("40")),
        (True, Decimal("-41.5")),
    ]
    assert position(bystander) == (0, 0, 0)
    assert_ledger_consistent()


def test_reversed_only_together_with_its_reversal(transfer, usd):
    posted, sender, recipient = transfer
    with runtime_connection() as runtime:
        with pytest.raises(psycopg.Error) as caught:
            runtime.execute(RESOLVE, [posted.pk, "transfer", "reverse"])
        runtime.rollback()
        assert caught.value.diag.sqlstate in {"WM400", "WM409"}
    assert Transaction.objects.get(pk=posted.pk).status == "posted"
    assert not Transaction.objects.filter(kind="reversal").exists()


def test_a_reversal_moves_back_exactly_what_the_original_moved_and_only_once(transfer):
    posted, sender, recipient = transfer
    with runtime_connection() as runtime:
        runtime.execute("SELECT * FROM ledger.reverse(%s, NULL, NULL, 'wrong recipient')", [posted.pk])
        runtime.commit()
        with pytest.raises(psycopg.Error) as caught:
            runtime.execute("SELECT * FROM ledger.reverse(%s, NULL, NULL, 'again')", [posted.pk])
        runtime.rollback()
    assert caught.value.diag.message_detail == "already_reversed"
    reversal = Transaction.objects.get(kind="reversal")
    assert Transaction.objects.get(pk=posted.pk).status == "reversed" and reversal.reverses_id == posted.pk
    assert position(sender) == (Decimal("100"), 0, Decimal("100"))
    assert position(recipient) == (0, 0, 0)
    assert_ledger_consistent()


# --- the seal ---------------------------------------------------------------------------------------------


def _seal_args(*, first, last, count, previous=None, block_hash="ab" * 32):
    return [first, last, count, previous, block_hash]


def test_a_forged_or_far_reaching_seal_is_refused(transfer):
    audit_seal(wait=5)
    tip = AuditSeal.objects.order_by("-last_event_id").first()
    deposit(make_wallet(), "1")  # new, unsealed events
    unsealed = list(AuditEvent.objects.filter(id__gt=tip.last_event_id).order_by("id").values_list("id", flat=True))
    first, last = unsealed[0], unsealed[-1]
    attempts = {
        "not onto the newest block": _seal_args(first=first, last=last, count=len(unsealed), previous=GENESIS_HASH),
        "past the last event": _seal_args(first=first, last=last + 1000, count=len(unsealed) + 1000, previous=tip.hash),
        "skipping events": _seal_args(first=first + 1, last=last, count=len(unsealed) - 1, previous=tip.hash),
        "miscounted": _seal_args(first=first, last=last, count=len(unsealed) + 1, previous=tip.hash),
    }
    with runtime_connection() as runtime:
        assert isinstance(
            refused(
                runtime,
                "INSERT INTO walletmanager_auditseal (first_event_id, last_event_id, event_count, previous_hash,"
                " hash, sealed_at) VALUES (%s, %s, %s, %s, %s, now())",
                [first, last + 10**9, 1, tip.hash, "00" * 32],
            ),
            psycopg.errors.InsufficientPrivilege,
        )
        for what, args in attempts.items():
            with pytest.raises(psycopg.Error) as caught:
                runtime.execute("SELECT ledger.audit_seal_append(%s, %s, %s, %s, %s)", args)
            runtime.rollback()
            assert caught.value.diag.sqlstate == "WM409", what
    assert AuditSeal.objects.order_by("-last_event_id").first() == tip
    # The real sealer carries on from the newest block and the chain verifies.
    assert audit_seal(wait=5)
    assert audit_verify().ok


def test_the_runtime_role_appends_audit_events_only_as_events_of_now(two_roles):
    with runtime_connection() as runtime:
        (event_id, created_at) = runtime.execute(
            "SELECT id, created_at FROM ledger.audit_append(NULL, 'test.action', 'users.user', '1', '', '{}', NULL)"
        ).fetchone()
        (now,) = runtime.execute("SELECT clock_timestamp()").fetchone()
        runtime.commit()
    event = AuditEvent.objects.get(pk=event_id)
    assert event.action == "test.action" and abs((now - created_at).total_seconds()) < 5
