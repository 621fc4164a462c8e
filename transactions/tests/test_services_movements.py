"""Deposits, withdrawals, transfers, exchanges and adjustments through the service layer (SPEC §5)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from balances.exceptions import BalanceFrozen, CurrencyNotAllowed, InsufficientFunds
from balances.models import Balance, Currency
from transactions import deposits, services
from transactions.exceptions import AmountTooSmall, RateUnavailable, RecipientUnavailable
from transactions.models import Entry, ExchangeRate, FeeRule, Transaction
from users.models import User
from walletmanager.audit import audit_context
from walletmanager.exceptions import NotFoundError, PermissionDeniedError, UserBlocked, ValidationFailed
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, assert_ledger_consistent, deposit, make_wallet, position, system_position
from wallets.exceptions import InvalidPin, WalletBlocked, WalletClosed
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def entries_of(transaction):
    return sorted(
        (entry.wallet.system_role or str(entry.wallet_id), entry.currency_id, entry.amount)
        for entry in transaction.entries.select_related("wallet")
    )


# --- deposit ---------------------------------------------------------------------------------------


def test_deposit_credits_the_wallet_against_external_and_audits(wallet, usd, client_user):
    pending = deposits.transaction_deposit(
        actor=client_user, wallet=wallet, currency=usd, amount="10.50", description="pay"
    )
    assert (pending.status, pending.reference[:3]) == ("pending", "WM-")
    assert position(wallet) == (0, 0, 0)

    tx = deposits.deposit_confirm(actor=None, transaction=pending, reason="seen on the bank statement")

    assert (tx.kind, tx.status, tx.amount, tx.fee) == ("deposit", "posted", Decimal("10.50"), 0)
    assert tx.posted_at is not None and tx.created_by == client_user and tx.received_amount == Decimal("10.50")
    assert position(wallet) == (Decimal("10.50"), 0, Decimal("10.50"))
    assert entries_of(tx) == sorted([("external", "USD", Decimal("-10.50")), (str(wallet.pk), "USD", Decimal("10.50"))])
    assert tx.balance_after.posted == Decimal("10.50")
    assert AuditEvent.objects.get(action="deposit.requested", target_id=str(tx.pk)).actor == client_user
    event = AuditEvent.objects.get(action="deposit.settled", target_id=str(tx.pk))  # confirmed by the system
    assert event.actor is None and event.data["amount"] == "10.50"
    assert_ledger_consistent()


def test_deposit_fee_goes_to_the_fees_wallet(wallet, usd):
    FeeRule.objects.create(kind="deposit", currency=None, percent_bps=100, flat=Decimal("0.10"))

    tx = deposit(wallet, "20")

    assert tx.fee == Decimal("0.30")
    assert position(wallet)[0] == Decimal("19.70")
    assert system_position("fees") == Decimal("0.30")
    assert system_position("external") == Decimal("-20")
    assert_ledger_consistent()


def test_deposit_not_covering_the_fee_is_refused(wallet, usd):
    FeeRule.objects.create(kind="deposit", currency=usd, flat=Decimal("1"))

    with pytest.raises(AmountTooSmall) as error:
        deposit(wallet, "1")

    assert error.value.field == "amount"
    # The request stands (pending); what arrived cannot be credited, so nothing posted.
    assert list(Transaction.objects.values_list("status", flat=True)) == ["pending"]
    assert Entry.objects.count() == 0


@pytest.mark.parametrize("amount", ["0", "-1", "NaN", "Infinity", "1e400", "0.001", "abc", "", None, 1.5, True])
def test_invalid_amounts_are_refused_unrounded(wallet, usd, amount):
    with pytest.raises(ValidationFailed) as error:
        deposits.transaction_deposit(actor=None, wallet=wallet, currency=usd, amount=amount)

    assert error.value.field == "amount"
    assert Transaction.objects.count() == 0 and Entry.objects.count() == 0


def test_largest_amount_with_all_decimals_is_exact(client_user):
    wallet = make_wallet(owner=client_user, currency="ETH")
    amount = Decimal("999999999999999.123456789012345678")

    deposit(wallet, amount, "ETH")

    assert position(wallet, "ETH")[0] == amount


def test_deposit_to_a_multi_balance_creates_the_asset(multi_wallet):
    deposit(multi_wallet, "0.5", "BTC")
    deposit(multi_wallet, "0.25", "BTC")

    assert position(multi_wallet, "BTC") == (Decimal("0.75"), 0, Decimal("0.75"))
    assert_ledger_consistent()


def test_client_cannot_deposit_to_someone_elses_wallet(other_wallet, usd, client_user):
    with pytest.raises(NotFoundError):
        deposits.transaction_deposit(actor=client_user, wallet=other_wallet, currency=usd, amount="1")


# --- rules common to every movement --------------------------------------------------------------


def test_blocked_owner_cannot_move_money(funded_wallet, usd):
    User.objects.filter(pk=funded_wallet.owner_id).update(status="blocked")

    with pytest.raises(UserBlocked) as error:
        deposit(funded_wallet, "1")

    assert error.value.code == "user_blocked"


@pytest.mark.parametrize("status, exception", [("blocked", WalletBlocked), ("closed", WalletClosed)])
def test_inactive_wallet_refuses_money_both_ways(funded_wallet, usd, status, exception):
    Wallet.objects.filter(pk=funded_wallet.pk).update(status=status)

    with pytest.raises(exception):
        deposit(funded_wallet, "1")
    with pytest.raises(exception):
        services.transaction_withdraw(
            actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="1", pin=PIN
        )
    assert position(funded_wallet)[0] == Decimal(100)


def test_regular_balance_refuses_another_currency(wallet, eur):
    with pytest.raises(CurrencyNotAllowed) as error:
        deposits.transaction_deposit(actor=None, wallet=wallet, currency=eur, amount="1")

    assert error.value.code == "currency_not_allowed"


def test_inactive_currency_is_refused(multi_wallet):
    Currency.objects.filter(code="TON").update(is_active=False)

    with pytest.raises(CurrencyNotAllowed):
        deposit(multi_wallet, "1", "TON")


def test_frozen_balance_receives_but_does_not_send(funded_wallet, usd):
    Balance.objects.filter(wallet=funded_wallet).update(status="frozen")

    deposit(funded_wallet, "5")
    with pytest.raises(BalanceFrozen) as error:
        services.transaction_withdraw(
            actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="1", pin=PIN
        )

    assert error.value.code == "balance_frozen"
    assert position(funded_wallet)[0] == Decimal(105)


# --- withdrawal ----------------------------------------------------------------------------------


def test_withdrawal_debits_amount_plus_fee(funded_wallet, usd):
    FeeRule.objects.create(kind="withdrawal", currency=usd, percent_bps=150)

    tx = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="10", pin=PIN
    )

    assert (tx.status, tx.fee) == ("posted", Decimal("0.15"))
    assert position(funded_wallet) == (Decimal("89.85"), 0, Decimal("89.85"))
    assert entries_of(tx) == sorted(
        [
            (str(funded_wallet.pk), "USD", Decimal("-10.15")),
            ("external", "USD", Decimal("10")),
            ("fees", "USD", Decimal("0.15")),
        ]
    )
    assert_ledger_consistent()


def test_withdrawal_cannot_overdraw(funded_wallet, usd):
    with pytest.raises(InsufficientFunds) as error:
        services.transaction_withdraw(
            actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="100.01", pin=PIN
        )

    assert error.value.code == "insufficient_funds"
    assert position(funded_wallet)[0] == Decimal(100)
    assert Transaction.objects.count() == 1


def test_withdrawal_of_everything_leaves_zero(funded_wallet, usd):
    services.transaction_withdraw(actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="100", pin=PIN)

    assert position(funded_wallet) == (0, 0, 0)


def test_withdrawal_fee_counts_against_available(funded_wallet, usd):
    FeeRule.objects.create(kind="withdrawal", currency=None, flat=Decimal("1"))

    with pytest.raises(InsufficientFunds):
        services.transaction_withdraw(
            actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="100", pin=PIN
        )


def test_withdrawal_needs_the_right_pin(funded_wallet, usd):
    with pytest.raises(InvalidPin):
        services.transaction_withdraw(
            actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="1", pin="9999"
        )

    assert Transaction.objects.count() == 1


def test_withdrawal_by_someone_else_is_not_found(funded_wallet, usd, staff):
    with pytest.raises(NotFoundError):
        services.transaction_withdraw(actor=staff, wallet=funded_wallet, currency=usd, amount="1", pin=PIN)


def test_credit_wallet_may_go_down_to_its_limit(client_user, usd):
    wallet = make_wallet(owner=client_user, kind="credit", credit_limit=Decimal("50"))

    services.transaction_withdraw(actor=client_user, wallet=wallet, currency=usd, amount="50", pin=PIN)
    with pytest.raises(InsufficientFunds):
        services.transaction_withdraw(actor=client_user, wallet=wallet, currency=usd, amount="0.01", pin=PIN)

    assert position(wallet) == (Decimal("-50"), 0, 0)
    assert_ledger_consistent()


# --- transfer ------------------------------------------------------------------------------------


def test_transfer_moves_amount_and_charges_the_sender_the_fee(funded_wallet, other_wallet, usd):
    FeeRule.objects.create(kind="transfer", currency=usd, flat=Decimal("0.5"))

    tx = services.transaction_transfer(
        actor=funded_wallet.owner,
        wallet=funded_wallet,
        to_address=other_wallet.address,
        currency=usd,
        amount="40",
        pin=PIN,
        description="rent",
    )

    assert (tx.kind, tx.to_wallet_id, tx.fee, tx.description) == ("transfer", other_wallet.pk, Decimal("0.5"), "rent")
    assert position(funded_wallet)[0] == Decimal("59.5")
    assert position(other_wallet)[0] == Decimal("40")
    assert system_position("fees") == Decimal("0.5")
    assert_ledger_consistent()


def test_a_movement_and_its_audit_event_are_written_in_one_statement(funded_wallet, other_wallet, usd):
    FeeRule.objects.create(kind="transfer", currency=usd, flat=Decimal("0.5"))

    with CaptureQueriesContext(connection) as queries, audit_context(ip="203.0.113.7"):
        tx = services.transaction_transfer(
            actor=funded_wallet.owner,
            wallet=funded_wallet,
            to_address=other_wallet.address,
            currency=usd,
            amount="40",
            pin=PIN,
        )

    writes = [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith("SELECT")]
    assert [sql for sql in writes if "SAVEPOINT" not in sql] == []  # everything through the ledger's function
    # One statement moves the money: the fee rules read (the cache was just cleared) and the call.
    statements = [query["sql"] for query in queries if "SAVEPOINT" not in query["sql"]]
    assert sum("ledger.move(" in sql for sql in statements) == 1
    assert [sql for sql in statements if "ledger." not in sql and "transactions_feerule" not in sql] == []
    event = AuditEvent.objects.get(target_type="transactions.transaction", target_id=str(tx.pk))
    assert (event.action, event.actor, event.ip, event.reason) == (
        "transfer.posted",
        funded_wallet.owner,
        "203.0.113.7",
        "",
    )
    assert event.data == {
        "kind": "transfer",
        "status": "posted",
        "wallet": str(funded_wallet.pk),
        "currency": "USD",
        "amount": "40.00",
        "fee": "0.50",
        "to_wallet": str(other_wallet.pk),
        "after": {"posted": "59.50", "held": "0.00"},
    }
    assert position(funded_wallet)[0] == Decimal("59.5") and tx.balance_after.posted == Decimal("59.5")
    assert event.created_at >= tx.created_at
    assert_ledger_consistent()


def test_a_multi_currency_wallet_opens_an_asset_the_first_time_it_receives_a_currency(multi_wallet, funded_wallet, usd):
    assert not multi_wallet.balance.assets.exists()

    for amount in ("5", "7"):
        services.transaction_transfer(
            actor=funded_wallet.owner,
            wallet=funded_wallet,
            to_address=multi_wallet.address,
            currency=usd,
            amount=amount,
            pin=PIN,
        )

    assets = list(multi_wallet.balance.assets.values_list("currency_id", "posted", "held", "sequence"))
    assert assets == [("USD", Decimal("12"), Decimal("0"), 2)]
    assert_ledger_consistent()


def test_a_movement_that_posts_at_once_is_posted_the_instant_it_is_created(funded_wallet, other_wallet, usd):
    transfer = services.transaction_transfer(
        actor=funded_wallet.owner,
        wallet=funded_wallet,
        to_address=other_wallet.address,
        currency=usd,
        amount="1",
        pin=PIN,
    )
    withdrawal = services.transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="1", pin=PIN
    )

    for tx in (transfer, withdrawal):
        stored = Transaction.objects.get(pk=tx.pk)
        assert stored.status == "posted" and stored.posted_at == stored.created_at  # never posted before created


def test_transfer_to_an_unknown_or_system_address_is_not_found(funded_wallet, usd):
    system = Wallet.objects.get(system_role="fees")
    for address in ["NOPE", system.address, "x" * 1000]:
        with pytest.raises(NotFoundError):
            services.transaction_transfer(
                actor=funded_wallet.owner, wallet=funded_wallet, to_address=address, currency=usd, amount="1", pin=PIN
            )


def test_transfer_to_itself_is_refused(funded_wallet, usd):
    with pytest.raises(ValidationFailed) as error:
        services.transaction_transfer(
            actor=funded_wallet.owner,
            wallet=funded_wallet,
            to_address=funded_wallet.address,
            currency=usd,
            amount="1",
            pin=PIN,
        )
    assert error.value.field == "to_address"


def test_a_transfer_to_a_wallet_that_cannot_receive_says_only_that(funded_wallet, usd):
    # Whether the recipient is blocked, closed or in another currency is not the sender's business.
    eur_wallet = make_wallet(currency="EUR")
    blocked = make_wallet()
    Wallet.objects.filter(pk=blocked.pk).update(status="blocked", block_reason="AML suspicion")
    closed = make_wallet()
    Wallet.objects.filter(pk=closed.pk).update(status="closed")
    blocked_owner = make_wallet()
    User.objects.filter(pk=blocked_owner.owner_id).update(status="blocked")
    for recipient in (eur_wallet, blocked, closed, blocked_owner):
        with pytest.raises(RecipientUnavailable) as error:
            services.transaction_transfer(
                actor=funded_wallet.owner,
                wallet=funded_wallet,
                to_address=recipient.address,
                currency=usd,
                amount="1",
                pin=PIN,
            )
        assert error.value.code == "recipient_unavailable"
        assert "AML" not in error.value.detail and "blocked" not in error.value.detail
    assert position(funded_wallet)[0] == Decimal(100)


def test_transfer_to_a_frozen_balance_is_allowed(funded_wallet, other_wallet, usd):
    Balance.objects.filter(wallet=other_wallet).update(status="frozen")

    services.transaction_transfer(
        actor=funded_wallet.owner,
        wallet=funded_wallet,
        to_address=other_wallet.address.lower(),
        currency=usd,
        amount="1",
        pin=PIN,
    )

    assert position(other_wallet)[0] == Decimal(1)


# --- exchange ------------------------------------------------------------------------------------


@pytest.fixture
def usd_eur(db):
    return ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.9"))


def test_exchange_within_a_multi_wallet_goes_through_fx(multi_wallet, usd, eur, usd_eur):
    deposit(multi_wallet, "100", "USD")
    FeeRule.objects.create(kind="exchange", currency=None, percent_bps=100)

    tx = services.transaction_exchange(
        actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=eur, amount="10.01"
    )

    # fee = ROUND_UP(0.1001) = 0.11; to_amount = ROUND_DOWN(9.90 × 0.9 = 8.91)
    assert (tx.fee, tx.rate, tx.to_amount, tx.to_wallet_id) == (
        Decimal("0.11"),
        Decimal("0.9"),
        Decimal("8.91"),
        multi_wallet.pk,
    )
    assert position(multi_wallet, "USD")[0] == Decimal("89.99")
    assert position(multi_wallet, "EUR")[0] == Decimal("8.91")
    assert system_position("fx", "USD") == Decimal("9.90")
    assert system_position("fx", "EUR") == Decimal("-8.91")
    assert system_position("fees", "USD") == Decimal("0.11")
    assert_ledger_consistent()


def test_exchange_rounds_the_result_down(multi_wallet, usd, eur):
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.919999"))
    deposit(multi_wallet, "10", "USD")

    tx = services.transaction_exchange(
        actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=eur, amount="1.99"
    )

    assert tx.to_amount == Decimal("1.83")  # 1.83079801 rounded down


def test_exchange_uses_the_inverse_of_the_opposite_pair(multi_wallet, usd, btc):
    ExchangeRate.objects.create(base_id="BTC", quote_id="USD", rate=Decimal("30000"))
    deposit(multi_wallet, "100", "USD")

    tx = services.transaction_exchange(
        actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=btc, amount="100"
    )

    assert tx.rate == Decimal("0.000033333333333333")
    assert tx.to_amount == Decimal("0.00333333")


def test_exchange_uses_the_newest_rate_of_either_direction(multi_wallet, usd, eur):
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.5"))
    ExchangeRate.objects.create(base_id="USD", quote_id="EUR", rate=Decimal("0.8"))
    ExchangeRate.objects.create(base_id="EUR", quote_id="USD", rate=Decimal("4"))
    deposit(multi_wallet, "10", "USD")

    tx = services.transaction_exchange(
        actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=eur, amount="10"
    )

    # EUR/USD 4 is newer than USD/EUR 0.8: 1 USD buys 1/4 EUR.
    assert tx.rate == Decimal("0.25")
    assert tx.to_amount == Decimal("2.50")


def test_stale_or_missing_rate_is_unavailable(multi_wallet, usd, eur, settings):
    deposit(multi_wallet, "10", "USD")
    with pytest.raises(RateUnavailable) as error:
        services.transaction_exchange(
            actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=eur, amount="1"
        )
    assert error.value.code == "rate_unavailable"

    rate = ExchangeRate.objects.create(base_id="EUR", quote_id="USD", rate=Decimal("1.1"))
    ExchangeRate.objects.filter(pk=rate.pk).update(
        created_at=timezone.now() - settings.EXCHANGE_RATE_MAX_AGE - timezone.timedelta(seconds=1)
    )
    with pytest.raises(RateUnavailable):
        services.transaction_exchange(
            actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=eur, amount="1"
        )
    assert position(multi_wallet, "USD")[0] == Decimal(10)


def test_exchange_between_two_wallets_of_the_owner(client_user, usd, eur, usd_eur):
    source = make_wallet(owner=client_user)
    target = make_wallet(owner=client_user, currency="EUR")
    deposit(source, "10")

    tx = services.transaction_exchange(
        actor=client_user, wallet=source, from_currency=usd, to_currency=eur, amount="10", to_wallet=target
    )

    assert position(target, "EUR")[0] == Decimal("9")
    assert tx.balance_after.posted == 0
    assert_ledger_consistent()


def test_exchange_to_someone_elses_wallet_is_refused(funded_wallet, usd, eur, usd_eur):
    target = make_wallet(currency="EUR")
    with pytest.raises(ValidationFailed) as error:
        services.transaction_exchange(
            actor=funded_wallet.owner,
            wallet=funded_wallet,
            from_currency=usd,
            to_currency=eur,
            amount="1",
            to_wallet=target,
        )
    assert error.value.field == "to_wallet"


def test_exchange_same_currency_is_a_bad_request(multi_wallet, usd):
    with pytest.raises(ValidationFailed) as error:
        services.transaction_exchange(
            actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=usd, amount="1"
        )
    assert error.value.status_code == 400


def test_exchange_too_small_to_buy_anything(multi_wallet, usd, btc):
    ExchangeRate.objects.create(base_id="USD", quote_id="BTC", rate=Decimal("0.000000001"))
    deposit(multi_wallet, "10", "USD")

    with pytest.raises(AmountTooSmall):
        services.transaction_exchange(
            actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=btc, amount="1"
        )
    assert Transaction.objects.count() == 1


def test_exchange_from_a_regular_wallet_into_itself_is_not_allowed(funded_wallet, usd, eur, usd_eur):
    with pytest.raises(CurrencyNotAllowed):
        services.transaction_exchange(
            actor=funded_wallet.owner, wallet=funded_wallet, from_currency=usd, to_currency=eur, amount="1"
        )


def test_exchange_cannot_overdraw(multi_wallet, usd, eur, usd_eur):
    deposit(multi_wallet, "5", "USD")
    with pytest.raises(InsufficientFunds):
        services.transaction_exchange(
            actor=multi_wallet.owner, wallet=multi_wallet, from_currency=usd, to_currency=eur, amount="6"
        )


# --- adjustment ----------------------------------------------------------------------------------


def test_adjustment_credit_and_debit(wallet, usd, staff):
    credit = services.transaction_adjust(
        actor=staff, wallet=wallet, currency=usd, amount="7", direction="credit", reason="goodwill"
    )
    debit = services.transaction_adjust(
        actor=staff, wallet=wallet, currency=usd, amount="2", direction="debit", reason="fix"
    )

    assert position(wallet)[0] == Decimal(5)
    assert entries_of(debit) == sorted([(str(wallet.pk), "USD", Decimal("-2")), ("external", "USD", Decimal("2"))])
    assert credit.reason == "goodwill"
    assert AuditEvent.objects.get(target_id=str(debit.pk)).reason == "fix"
    with pytest.raises(InsufficientFunds):
        services.transaction_adjust(
            actor=staff, wallet=wallet, currency=usd, amount="6", direction="debit", reason="fix"
        )
    assert_ledger_consistent()


def test_adjustment_needs_staff_a_reason_and_a_direction(wallet, usd, staff):
    with pytest.raises(PermissionDeniedError):
        services.transaction_adjust(
            actor=wallet.owner, wallet=wallet, currency=usd, amount="1", direction="credit", reason="x"
        )
    with pytest.raises(ValidationFailed) as error:
        services.transaction_adjust(
            actor=staff, wallet=wallet, currency=usd, amount="1", direction="credit", reason="  "
        )
    assert error.value.field == "reason"
    with pytest.raises(ValidationFailed) as error:
        services.transaction_adjust(actor=staff, wallet=wallet, currency=usd, amount="1", direction="up", reason="x")
    assert error.value.field == "direction"
