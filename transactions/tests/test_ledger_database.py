"""The database is the ledger (SPEC §14): PostgreSQL derives positions, the runtime role cannot
rewrite history, and statuses are locked against concurrent movements."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from balances.models import Currency
from balances.services import balance_freeze
from transactions import deposits, services
from transactions.models import Entry, ExchangeRate, Transaction
from users.services import user_block
from walletmanager.exceptions import DomainError, ValidationFailed
from walletmanager.testing.database import Background, owner_connection, require_two_roles, runtime_connection
from walletmanager.testing.ledger import (
    PIN,
    assert_ledger_consistent,
    asset_of,
    deposit,
    make_wallet,
    seed_reference_data,
)
from wallets.services import wallet_close

# --- positions PostgreSQL derives ---------------------------------------------------------------


@pytest.mark.django_db
def test_entries_move_posted_and_carry_running_balance_and_sequence(wallet, usd):
    deposit(wallet, "100")
    withdrawal = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="30", pin=PIN)
    deposit(wallet, "5.25")

    entries = list(Entry.objects.filter(wallet=wallet, currency=usd).order_by("sequence"))
    assert [(entry.sequence, entry.amount, entry.balance_after) for entry in entries] == [
        (1, Decimal("100"), Decimal("100")),
        (2, Decimal("-30"), Decimal("70")),
        (3, Decimal("5.25"), Decimal("75.25")),
    ]
    assert [entry.created_at for entry in entries] == sorted(entry.created_at for entry in entries)
    asset = asset_of(wallet)
    assert (asset.posted, asset.held, asset.sequence) == (Decimal("75.25"), Decimal(0), 3)
    # The response's balance_after is the database's position, not a second computation.
    assert withdrawal.balance_after.posted == Decimal("70")
    # System wallets have no asset rows: their entries carry no running balance.
    external = Entry.objects.filter(transaction=withdrawal, wallet__system_role="external").get()
    assert (external.balance_after, external.sequence) == (None, None)


@pytest.mark.django_db
def test_held_follows_pending_withdrawals_starting_and_ending(wallet, usd, staff):
    usd.withdrawal_approval_threshold = Decimal("50")
    usd.save()
    deposit(wallet, "200")

    first = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="60", pin=PIN)
    second = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="70", pin=PIN)
    assert asset_of(wallet).held == Decimal("130")

    services.transaction_reject(actor=staff, transaction=first, reason="Not today")
    assert asset_of(wallet).held == Decimal("70")
    services.transaction_approve(actor=staff, transaction=second)
    asset = asset_of(wallet)
    assert (asset.posted, asset.held) == (Decimal("130"), Decimal(0))
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_a_pending_transaction_cannot_change_the_money_it_holds(wallet, usd):
    require_two_roles()
    usd.withdrawal_approval_threshold = Decimal("50")
    usd.save()
    deposit(wallet, "200")
    pending = services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="60", pin=PIN)

    # Not even the owner, whom the privileges let through: the guard trigger refuses.
    with owner_connection() as owner:
        with pytest.raises(psycopg.errors.RestrictViolation, match="only its resolution may change it"):
            owner.execute("UPDATE transactions_transaction SET amount = 1 WHERE id = %s", [pending.pk])
    assert asset_of(wallet).held == Decimal("60")


@pytest.mark.django_db(transaction=True)
def test_a_new_asset_starts_at_zero(multi_wallet):
    require_two_roles()
    with owner_connection() as owner:
        with pytest.raises(psycopg.errors.RestrictViolation, match="starts at zero"):
            owner.execute(
                "INSERT INTO balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence,"
                " updated_at) VALUES (%s, 'EUR', 1000, 0, 0, 0, now())",
                [multi_wallet.balance.pk],
            )
    assert asset_of(multi_wallet, "EUR") is None


# --- what the runtime role may not do -----------------------------------------------------------

REFUSED_TO_THE_RUNTIME_ROLE = [
    "UPDATE balances_balanceasset SET posted = posted + 1",
    "UPDATE balances_balanceasset SET held = held + 1",
    "UPDATE transactions_entry SET amount = amount * 2",
    "DELETE FROM transactions_entry",
    "DELETE FROM transactions_transaction",
    "UPDATE walletmanager_auditevent SET reason = 'nothing happened'",
    "DELETE FROM walletmanager_auditevent",
    "TRUNCATE walletmanager_auditevent",
    "TRUNCATE transactions_entry CASCADE",
    "ALTER TABLE transactions_entry DISABLE TRIGGER ALL",
    "ALTER TABLE balances_balanceasset DISABLE TRIGGER asset_positions_guard",
    "DROP TRIGGER entry_move_posted ON transactions_entry",
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("statement", REFUSED_TO_THE_RUNTIME_ROLE)
def test_the_runtime_role_cannot_rewrite_the_ledger(statement):
    require_two_roles()
    seed_reference_data()
    wallet = make_wallet()
    deposit(wallet, "100")
    with runtime_connection() as runtime:
        assert runtime.execute("SELECT current_user").fetchone()[0] == connection.runtime_role
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.RestrictViolation)):
            runtime.execute(statement)
    asset = asset_of(wallet)
    assert asset.posted == Decimal("100")
    assert Entry.objects.filter(wallet=wallet).count() == 1
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_not_even_the_owner_writes_a_position_or_truncates_by_accident():
    require_two_roles()
    seed_reference_data()
    wallet = make_wallet()
    deposit(wallet, "100")
    with owner_connection() as owner:
        with pytest.raises(psycopg.errors.RestrictViolation, match="only through entries and holds"):
            owner.execute("UPDATE balances_balanceasset SET posted = posted + 1")
        owner.rollback()
        with pytest.raises(psycopg.errors.RestrictViolation, match="cannot be truncated"):
            owner.execute("TRUNCATE walletmanager_auditevent")
    assert asset_of(wallet).posted == Decimal("100")


# --- the ledger's functions give the runtime role no new power ----------------------------------------
# (every way around them, as the runtime role, is in test_ledger_door.py)


@pytest.mark.django_db(transaction=True)
def test_the_ledger_functions_cannot_rewrite_a_posted_transaction():
    require_two_roles()
    seed_reference_data()
    wallet = make_wallet()
    posted = deposit(wallet, "100")
    resolve = (
        "SELECT * FROM ledger.resolve(%s, 'deposit', %s, NULL, NULL, 'nothing happened', 99, 1000, NULL, NULL,"
        " false, NULL, NULL, NULL)"
    )
    with runtime_connection() as runtime:
        for outcome in ("post", "reject", "expire"):
            with pytest.raises(psycopg.Error) as refused:
                runtime.execute(resolve, [posted.pk, outcome])
            runtime.rollback()
            assert (refused.value.diag.sqlstate, refused.value.diag.message_detail) == ("WM409", "invalid_state")
    stored = Transaction.objects.get(pk=posted.pk)
    assert (stored.status, stored.fee, stored.reason) == ("posted", 0, posted.reason)
    assert asset_of(wallet).posted == Decimal("100")
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_entries_that_do_not_sum_to_zero_never_commit_whoever_writes_them():
    require_two_roles()
    seed_reference_data()
    wallet = make_wallet()
    template = deposit(wallet, "100")
    minted = (
        "WITH t AS (INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee,"
        " description, reason, created_at, posted_at) VALUES (gen_random_uuid(), 'adjustment', 'posted', %s, 'USD',"
        " 1000000, 0, '', '', now(), now()) RETURNING id)"
        " INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)"
        " SELECT id, %s, 'USD', 1000000, now() FROM t"
    )
    # Not even the owner, who may insert rows: the entry moves the position at once…
    with owner_connection() as owner:
        owner.execute(minted, [template.wallet_id, template.wallet_id])
        with pytest.raises(psycopg.errors.CheckViolation, match="do not sum to zero"):
            owner.commit()  # …and the zero sum refuses the whole transaction at COMMIT
    assert asset_of(wallet).posted == Decimal("100")
    assert Transaction.objects.count() == 1
    assert_ledger_consistent()


# --- exact amounts and honest rates -------------------------------------------------------------


@pytest.mark.django_db
def test_dust_beyond_the_currencys_decimals_is_refused(wallet):
    api = APIClient()
    api.force_authenticate(wallet.owner)

    response = api.post(
        "/api/transactions/",
        {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "10000000000.000000000000000001"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["amount"]
    assert not Transaction.objects.filter(wallet=wallet).exists()
    assert asset_of(wallet).posted == 0


@pytest.mark.django_db
def test_trailing_zeros_are_not_decimals(wallet):
    tx = deposit(wallet, "12.50000000000000000000000000000000")
    assert tx.amount == Decimal("12.5")


@pytest.mark.django_db
def test_an_older_direct_rate_cannot_be_arbitraged_against_a_newer_inverse(client_user, usd, eur):
    wallet = make_wallet(owner=client_user, balance_kind="multi", currency=None)
    deposit(wallet, "1000", "USD")
    yesterday = ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.92"))
    ExchangeRate.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(hours=20))
    ExchangeRate.objects.create(base_id="EUR", quote_id="USD", rate=Decimal("1.12"))

    out = services.transaction_exchange(
        actor=client_user, wallet=wallet, from_currency=usd, to_currency=eur, amount="1000"
    )
    back = services.transaction_exchange(
        actor=client_user, wallet=wallet, from_currency=eur, to_currency=usd, amount=str(out.to_amount)
    )

    assert out.to_amount == Decimal("892.85")  # 1 000 / 1.12, rounded down
    assert back.to_amount <= Decimal("1000")
    assert asset_of(wallet, "USD").posted <= Decimal("1000")


@pytest.mark.django_db
def test_load_rates_refuses_a_rate_whose_round_trip_would_gain(tmp_path):
    ExchangeRate.objects.create(base_id="EUR", quote_id="USD", rate=Decimal("1.12"))
    path = tmp_path / "rates.csv"
    path.write_text("USD,EUR,0.92\n")

    with pytest.raises(CommandError, match="USD/EUR|EUR/USD"):
        call_command("load_rates", str(path))

    assert not ExchangeRate.objects.filter(base_id="USD").exists()
    path.write_text("USD,EUR,0.89\n")  # 0.89 × 1.12 = 0.9968: no gain
    call_command("load_rates", str(path))
    assert ExchangeRate.objects.filter(base_id="USD", quote_id="EUR", rate=Decimal("0.89")).exists()


@pytest.mark.django_db
def test_a_file_with_both_directions_is_checked_against_itself(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("USD,EUR,0.92\nEUR,USD,1.12\n")
    with pytest.raises(CommandError, match="nothing loaded"):
        call_command("load_rates", str(path))
    assert not ExchangeRate.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_an_arbitrage_rate(admin_client):
    ExchangeRate.objects.create(base_id="EUR", quote_id="USD", rate=Decimal("1.12"))
    response = admin_client.post(
        "/admin/transactions/exchangerate/add/", {"base": "USD", "quote": "EUR", "rate": "0.92", "source": "manual"}
    )
    assert response.status_code == 200
    assert "would turn 1 USD into" in response.content.decode()
    assert not ExchangeRate.objects.filter(base_id="USD").exists()


@pytest.mark.django_db
def test_exchange_rates_check_names_the_rate_field():
    with pytest.raises(ValidationFailed) as error:
        from transactions.pricing import exchange_rates_check

        exchange_rates_check([("USD", "EUR", Decimal("2")), ("EUR", "USD", Decimal("0.6"))])
    assert error.value.field == "rate"


# --- statuses locked against movements (real threads) --------------------------------------------


def _waiting_for_locks() -> int:
    with runtime_connection() as observer:
        return observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]


def _wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_close_cannot_race_a_deposit_in_a_new_currency():
    seed_reference_data()
    wallet = make_wallet(balance_kind="multi", currency=None)
    eur = Currency.objects.get(code="EUR")
    pending = deposits.transaction_deposit(actor=wallet.owner, wallet=wallet, currency=eur, amount="50")
    with runtime_connection() as other:
        # Another session is creating the wallet's EUR asset: the deposit's confirmation, which needs
        # that row, waits for it half-way through — the moment a close used to slip in.
        other.execute("SELECT id FROM ledger.lock_assets(ARRAY[%s::uuid], ARRAY['EUR'])", [wallet.pk])
        depositing = Background(lambda: deposits.deposit_confirm(actor=None, transaction=pending, reason="arrived"))
        _wait_until(lambda: _waiting_for_locks() >= 1)
        closing = Background(lambda: wallet_close(actor=None, wallet=wallet, reason="Customer left"))
        _wait_until(lambda: _waiting_for_locks() >= 2)
        other.rollback()

    deposited, closed = depositing.join(), closing.join()

    assert isinstance(deposited, Transaction) and deposited.status == "posted"
    assert isinstance(closed, DomainError) and closed.code == "wallet_not_empty"
    wallet.refresh_from_db()
    assert wallet.status == "active"
    assert asset_of(wallet, "EUR").posted == Decimal("50")


def _hold_asset_lock(other: psycopg.Connection, wallet) -> None:
    other.execute("SELECT id FROM balances_balanceasset WHERE balance_id = %s FOR UPDATE", [wallet.balance.pk])


@pytest.mark.django_db(transaction=True)
def test_a_block_waits_for_a_transfer_in_flight_and_the_next_transfer_sees_it():
    seed_reference_data()
    sender, recipient = make_wallet(), make_wallet()
    deposit(sender, "100")
    usd = Currency.objects.get(code="USD")

    def transfer():
        return services.transaction_transfer(
            actor=sender.owner, wallet=sender, to_address=recipient.address, currency=usd, amount="10", pin=PIN
        )

    with runtime_connection() as other:
        _hold_asset_lock(other, sender)
        transferring = Background(transfer)
        _wait_until(lambda: _waiting_for_locks() >= 1)
        blocking = Background(lambda: user_block(actor=None, user=sender.owner, reason="Fraud suspicion"))
        _wait_until(lambda: _waiting_for_locks() >= 2)
        assert blocking.thread.is_alive()  # the block waits for the transfer that read "active"
        other.rollback()

    assert isinstance(transferring.join(), Transaction)
    assert blocking.join().status == "blocked"
    refused = Background(transfer).join()
    assert isinstance(refused, DomainError) and refused.code == "user_blocked"
    assert asset_of(sender).posted == Decimal("90")
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_that_read_active_commits_before_a_freeze_and_none_after():
    seed_reference_data()
    wallet = make_wallet()
    deposit(wallet, "100")
    usd = Currency.objects.get(code="USD")

    def withdraw():
        return services.transaction_withdraw(actor=wallet.owner, wallet=wallet, currency=usd, amount="10", pin=PIN)

    with runtime_connection() as other:
        _hold_asset_lock(other, wallet)
        withdrawing = Background(withdraw)
        _wait_until(lambda: _waiting_for_locks() >= 1)
        freezing = Background(lambda: balance_freeze(actor=None, balance=wallet.balance, reason="Court order"))
        _wait_until(lambda: _waiting_for_locks() >= 2)
        assert freezing.thread.is_alive()
        other.rollback()

    assert isinstance(withdrawing.join(), Transaction)
    assert freezing.join().status == "frozen"
    refused = Background(withdraw).join()
    assert isinstance(refused, DomainError) and refused.code == "balance_frozen"
    assert asset_of(wallet).posted == Decimal("90")


@pytest.mark.django_db(transaction=True)
def test_closes_blocks_and_limit_changes_against_movements_never_deadlock():
    seed_reference_data()
    from wallets.services import wallet_set_credit_limit

    usd = Currency.objects.get(code="USD")
    credit = make_wallet(kind="credit", credit_limit=Decimal("100"))
    others = [make_wallet() for _ in range(3)]
    for other in others:
        deposit(other, "100")

    functions = []
    for index, other in enumerate(others):
        functions.append(
            lambda other=other: services.transaction_transfer(
                actor=other.owner, wallet=other, to_address=credit.address, currency=usd, amount="5", pin=PIN
            )
        )
        functions.append(lambda other=other: deposit(other, "7"))
        functions.append(
            lambda index=index: wallet_set_credit_limit(actor=None, wallet=credit, credit_limit=Decimal(200 + index))
        )
    functions.append(lambda: balance_freeze(actor=None, balance=others[0].balance, reason="Check"))
    functions.append(lambda: user_block(actor=None, user=others[1].owner, reason="Check"))

    barrier = threading.Barrier(len(functions))

    def start(function):
        barrier.wait()
        return function()

    workers = [Background(lambda function=function: start(function)) for function in functions]
    results = [worker.join() for worker in workers]

    errors = [result for result in results if isinstance(result, Exception)]
    assert all(isinstance(error, DomainError) for error in errors), errors  # a deadlock would be a DatabaseError
    assert_ledger_consistent()
