"""``reconcile``: clean after money moved through the ledger, loud and specific after drift.

PostgreSQL refuses drift to the application's own role (SPEC §14), so drift is planted the way only a
real incident could: as the database owner with the ledger's triggers switched off
(``behind_the_ledger``), or through rows the application may write (a wallet's status or kind)."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from balances.models import BalanceAsset, Currency
from balances.tests.factories import WalletWithBalanceFactory
from transactions.models import Entry, ReconciliationRun, Transaction
from transactions.reconciliation import ROW_CAP, reconcile, reconciliation_last_run
from transactions.services import transaction_withdraw
from walletmanager.testing.database import behind_the_ledger, owner_connection, require_two_roles
from walletmanager.testing.ledger import PIN, deposit, make_wallet, seed_reference_data
from wallets.models import Wallet

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reference_data():
    seed_reference_data()


def post_balanced(
    *,
    kind: str,
    legs: list[tuple[Wallet, str, Decimal]],
    status: str = "posted",
    amount: Decimal | None = None,
    fee: Decimal | None = None,
) -> Transaction:
    """Write a posted transaction and its legs (PostgreSQL moves the client assets' ``posted``), for
    tests that must not depend on the services. Its amount, fee and recipient are what the legs say
    (the fees wallet's leg is the fee), unless ``amount`` or ``fee`` say otherwise."""
    client_legs = [leg for leg in legs if leg[0].system_role is None]
    first_wallet, currency, moved = client_legs[0] if client_legs else legs[0]
    if fee is None:
        fee = sum((leg[2] for leg in legs if leg[0].system_role == "fees"), Decimal(0))
    if amount is None:
        amount = moved + fee if kind == "deposit" else (-moved - fee if moved < 0 else moved)
    recipient = client_legs[1][0].pk if kind == "transfer" and len(client_legs) > 1 else None
    require_two_roles()
    # As the owner: the runtime role writes the ledger only through its functions (SPEC §16), and
    # these rows are the test's own, not a movement a function would make.
    with owner_connection() as owner:
        (transaction_id,) = owner.execute(
            "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, to_wallet_id,"
            " description, reason, created_at, posted_at) VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s, '',"
            " '', now(), CASE WHEN %s IN ('posted', 'reversed') THEN now() END) RETURNING id",
            [kind, status, first_wallet.pk, currency, abs(amount), fee, recipient, status],
        ).fetchone()
        for wallet, code, leg_amount in legs:
            if wallet.system_role is None:
                owner.execute("SELECT id FROM ledger.lock_assets(ARRAY[%s::uuid], ARRAY[%s])", [wallet.pk, code])
            owner.execute(
                "INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)"
                " VALUES (%s, %s, %s, %s, now())",
                [transaction_id, wallet.pk, code, leg_amount],
            )
        owner.execute(
            "SELECT ledger.audit_append(NULL, %s, 'transactions.transaction', %s, '', '{}', NULL)",
            [f"{kind}.{status}", str(transaction_id)],
        )
    return Transaction.objects.get(pk=transaction_id)


@pytest.fixture
def external() -> Wallet:
    return Wallet.objects.get(system_role="external")


@pytest.fixture
def fees() -> Wallet:
    return Wallet.objects.get(system_role="fees")


@pytest.fixture
def funded_wallet(external, fees) -> Wallet:
    wallet = WalletWithBalanceFactory()
    post_balanced(
        kind="deposit",
        legs=[(external, "USD", Decimal("-100")), (wallet, "USD", Decimal("99")), (fees, "USD", Decimal("1"))],
    )
    return wallet


def check(report, name):
    return next(result for result in report.checks if result.name == name)


def test_a_balanced_ledger_is_clean_and_the_run_is_stored(funded_wallet, external):
    other = WalletWithBalanceFactory()
    post_balanced(kind="transfer", legs=[(funded_wallet, "USD", Decimal("-40")), (other, "USD", Decimal("40"))])

    report = reconcile()

    assert report.is_clean, report.as_text()
    assert "Result: CLEAN" in report.as_text()
    totals = {currency: (clients, system) for currency, clients, system in report.totals}
    assert totals["USD"] == (Decimal("99"), Decimal("-99"))
    run = reconciliation_last_run()
    assert run.is_clean is True
    assert run.report["is_clean"] is True
    assert {check["name"] for check in run.report["checks"]} >= {"entries_zero_sum", "posted_matches_entries"}


def test_command_exits_zero_and_prints_ok_when_clean(funded_wallet, capsys):
    call_command("reconcile")

    out = capsys.readouterr().out
    assert "OK     posted_matches_entries" in out
    assert "Result: CLEAN" in out


def test_posted_changed_behind_the_ledger_is_drift_naming_the_asset(funded_wallet, capsys):
    require_two_roles()
    with behind_the_ledger() as owner:
        owner.execute("UPDATE balances_balanceasset SET posted = posted + 1")
    asset = BalanceAsset.objects.get(balance__wallet=funded_wallet)

    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile")

    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "DRIFT  posted_matches_entries" in out
    assert str(asset.pk) in out and funded_wallet.address in out
    assert "DRIFT  currency_totals_zero" in out
    assert "Result: DRIFT FOUND" in out
    run = ReconciliationRun.objects.latest("started_at")
    assert run.is_clean is False
    drift = next(check for check in run.report["checks"] if check["name"] == "posted_matches_entries")
    assert drift["count"] == 1 and drift["rows"][0][0] == asset.pk


def test_entries_in_a_currency_without_an_asset_row_are_drift(funded_wallet):
    require_two_roles()
    with behind_the_ledger() as owner:
        owner.execute("DELETE FROM balances_balanceasset WHERE balance_id = %s", [funded_wallet.balance.pk])

    report = reconcile()

    result = check(report, "posted_matches_entries")
    assert not result.ok
    assert result.rows[0][0] is None  # no asset row
    assert result.rows[0][1] == funded_wallet.pk


def test_unbalanced_entries_and_posted_without_entries_are_drift(funded_wallet, external):
    # What a corrupted ledger looks like (triggers disabled by hand, restored from a bad dump).
    require_two_roles()
    with behind_the_ledger() as owner:
        lopsided, empty = (
            owner.execute(
                "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, "
                "description, reason, created_at, posted_at) VALUES (gen_random_uuid(), %s, 'posted', %s, 'USD', "
                "%s, 0, '', '', now(), now()) RETURNING id",
                [kind, funded_wallet.pk, amount],
            ).fetchone()[0]
            for kind, amount in (("adjustment", 5), ("deposit", 3))
        )
        owner.execute(
            "INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at) "
            "VALUES (%s, %s, 'USD', 5, now())",
            [lopsided, funded_wallet.pk],
        )

    report = reconcile()

    assert check(report, "entries_zero_sum").rows == [(lopsided, "USD", Decimal("5"))]
    assert check(report, "posted_have_entries").rows[0][0] == empty
    assert not report.is_clean


def test_held_must_equal_pending_withdrawals(funded_wallet):
    require_two_roles()
    with owner_connection() as owner:
        owner.execute(
            "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, "
            "description, reason, created_at) VALUES (gen_random_uuid(), 'withdrawal', 'pending', %s, 'USD', 10, "
            "0.50, '', '', now())",
            [funded_wallet.pk],
        )
    assert BalanceAsset.objects.get(balance__wallet=funded_wallet).held == Decimal("10.50")  # PostgreSQL holds it
    assert check(reconcile(), "held_matches_pending").ok

    with behind_the_ledger() as owner:
        owner.execute("UPDATE balances_balanceasset SET held = 0")

    result = check(reconcile(), "held_matches_pending")
    assert result.count == 1
    assert result.rows[0][4] == Decimal(0) and result.rows[0][5] == Decimal("10.50")


def test_a_debit_asset_below_its_floor_is_reported():
    # The asset's own CHECK holds (its credit_limit mirror still says 100); the wallet it belongs to
    # was turned into a debit wallet behind the services' back.
    wallet = make_wallet(kind="credit", credit_limit=Decimal("100"))
    from transactions import services

    services.transaction_withdraw(
        actor=wallet.owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount="50", pin=PIN
    )
    Wallet.objects.filter(pk=wallet.pk).update(kind="debit", credit_limit=0)

    result = check(reconcile(), "assets_above_floor")

    assert result.count == 1 and result.rows[0][1] == wallet.pk


def test_a_closed_wallet_that_holds_money_is_reported():
    wallet = make_wallet()
    deposit(wallet, "10")
    Wallet.objects.filter(pk=wallet.pk).update(status="closed")

    result = check(reconcile(), "closed_wallets_hold_nothing")

    assert result.count == 1
    assert result.rows[0][1] == wallet.pk and result.rows[0][4] == Decimal("10")


def test_dust_below_the_currencys_smallest_unit_is_reported(funded_wallet):
    require_two_roles()
    with behind_the_ledger() as owner:
        owner.execute("UPDATE balances_balanceasset SET posted = posted + 0.000000000000000001")

    report = reconcile()

    result = check(report, "positions_in_whole_units")
    assert result.count == 1
    assert result.rows[0][0] == "asset posted" and result.rows[0][2] == "USD"
    assert not check(report, "running_balances_match").ok  # the last entry no longer says the position


def test_a_rewritten_running_balance_or_sequence_is_reported(funded_wallet):
    require_two_roles()
    deposit(funded_wallet, "1")
    assert check(reconcile(), "running_balances_match").ok
    first = Entry.objects.filter(wallet=funded_wallet).order_by("sequence").first()

    with behind_the_ledger() as owner:
        owner.execute("UPDATE transactions_entry SET balance_after = balance_after + 1 WHERE id = %s", [first.pk])

    result = check(reconcile(), "running_balances_match")
    assert result.count == 1
    assert result.rows[0] == (funded_wallet.pk, "USD", 1, 1, Decimal("100"), Decimal("99"))

    with behind_the_ledger() as owner:
        owner.execute(
            "UPDATE transactions_entry SET balance_after = balance_after - 1, sequence = 5 WHERE id = %s", [first.pk]
        )
    assert not check(reconcile(), "running_balances_match").ok


def test_the_report_lists_at_most_row_cap_rows_but_counts_all(external):
    require_two_roles()
    for _ in range(ROW_CAP + 3):
        make_wallet()  # a USD asset each, opened by balance_open
    with behind_the_ledger() as owner:
        owner.execute("UPDATE balances_balanceasset SET posted = 7")

    report = reconcile()

    result = check(report, "posted_matches_entries")
    assert result.count == ROW_CAP + 3
    assert len(result.rows) == ROW_CAP
    assert "… and 3 more" in report.as_text()


# --- the ledger's door (SPEC §16): what reconcile checks beyond the sums ------------------------------


def test_entries_that_do_not_match_their_movement_are_drift(funded_wallet, external, fees):
    # Balanced, but not what a withdrawal of 100 with no fee moves: 10 went to the fees wallet.
    odd = post_balanced(
        kind="withdrawal",
        legs=[(funded_wallet, "USD", Decimal("-50")), (external, "USD", Decimal("40")), (fees, "USD", Decimal("10"))],
        amount=Decimal("50"),
        fee=Decimal(0),
    )

    result = check(reconcile(), "entries_match_the_movement")

    assert {(row[0], row[2]) for row in result.rows} == {(odd.pk, "fees")}
    assert result.rows[0][5:] == (Decimal(0), Decimal("10"))


def test_a_reversal_that_does_not_mirror_its_original_is_drift(funded_wallet, external, fees, usd):
    require_two_roles()
    original = deposit(make_wallet(), "20")
    with owner_connection() as owner:
        (reversal,) = owner.execute(
            "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, description,"
            " reason, created_at, posted_at, reverses_id) VALUES (gen_random_uuid(), 'reversal', 'posted', %s, 'USD',"
            " 20, 0, '', 'test', now(), now(), %s) RETURNING id",
            [original.wallet_id, original.pk],
        ).fetchone()
        owner.execute(
            "INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)"
            " VALUES (%s, %s, 'USD', -5, now()), (%s, %s, 'USD', 5, now())",
            [reversal, original.wallet_id, reversal, external.pk],
        )

    result = check(reconcile(), "entries_match_the_movement")

    assert {row[0] for row in result.rows} == {reversal}
    assert (original.wallet_id, Decimal("-20"), Decimal("-5")) in {(row[3], row[5], row[6]) for row in result.rows}


def test_a_transaction_without_its_audit_event_is_drift(funded_wallet):
    require_two_roles()
    with behind_the_ledger() as owner:
        (silent,) = owner.execute(
            "INSERT INTO transactions_transaction (id, kind, status, wallet_id, currency_id, amount, fee, description,"
            " reason, created_at) VALUES (gen_random_uuid(), 'deposit', 'pending', %s, 'USD', 5, 0, '', '', now())"
            " RETURNING id",
            [funded_wallet.pk],
        ).fetchone()

    result = check(reconcile(), "movements_have_audit_events")

    assert [row[0] for row in result.rows] == [silent]
    assert check(reconcile(), "entries_match_the_movement").ok


def test_a_single_currency_balance_holding_another_currency_is_drift(funded_wallet):
    require_two_roles()
    with owner_connection() as owner:
        owner.execute(
            "INSERT INTO balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence,"
            " updated_at) VALUES (%s, 'EUR', 0, 0, 0, 0, now())",
            [funded_wallet.balance.pk],
        )

    result = check(reconcile(), "single_currency_balances_hold_one_currency")

    assert [(row[1], row[2], row[3]) for row in result.rows] == [(funded_wallet.pk, "USD", "EUR")]


def test_velocity_buckets_and_ledger_requests_are_checked(funded_wallet, usd):
    require_two_roles()
    transaction_withdraw(actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="10", pin=PIN)
    report = reconcile()
    assert check(report, "outgoing_volume_matches_transactions").ok
    assert check(report, "ledger_requests_name_their_transaction").ok

    with owner_connection() as owner:
        owner.execute("UPDATE transactions_outgoingvolume SET outgoing = outgoing + 1000")
        owner.execute(
            "INSERT INTO transactions_ledgerrequest (request_id, fingerprint, transaction_id, created_at)"
            " VALUES (gen_random_uuid(), repeat('0', 64), gen_random_uuid(), now())"
        )

    report = reconcile()
    drifted = check(report, "outgoing_volume_matches_transactions")
    assert [(row[0], row[3], row[4]) for row in drifted.rows] == [(funded_wallet.pk, Decimal("1010"), Decimal("10"))]
    assert check(report, "ledger_requests_name_their_transaction").count == 1
    assert not report.is_clean
