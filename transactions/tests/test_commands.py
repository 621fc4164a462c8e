"""Operator commands of the ledger: load_rates, export_transactions, expire_holds (SPEC §9)."""

import csv
import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models.query import QuerySet
from django.utils import timezone

from balances.models import BalanceAsset, Currency
from balances.tests.factories import WalletWithBalanceFactory
from transactions.csv_export import EXPORT_HEADER
from transactions.models import ExchangeRate
from transactions.services import transaction_transfer, transaction_withdraw
from walletmanager.testing.ledger import deposit
from wallets.tests.factories import DEFAULT_PIN

MANAGE_PY = Path(settings.BASE_DIR) / "manage.py"


@pytest.fixture
def usd() -> Currency:
    return Currency.objects.get(code="USD")


@pytest.fixture
def funded_wallet(usd):
    wallet = WalletWithBalanceFactory()
    deposit(wallet, "500.00")
    return wallet


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_manage_py(*args: str) -> subprocess.CompletedProcess:
    """The command as an operator runs it, in its own process: exit status and stderr are real."""
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
        cwd=settings.BASE_DIR,
    )


# --- load_rates ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_rates_loads_every_line_and_says_how_many(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("base,quote,rate,source\nEUR,USD,1.0850,ecb\nusd,gbp,0.79\n\nBTC,USD,64250.5,\n")

    out, _ = run_command("load_rates", str(path))

    assert "Loaded 3 exchange rates" in out
    rates = {(rate.base_id, rate.quote_id): rate for rate in ExchangeRate.objects.all()}
    assert rates[("EUR", "USD")].rate == Decimal("1.0850") and rates[("EUR", "USD")].source == "ecb"
    assert rates[("USD", "GBP")].rate == Decimal("0.79") and rates[("USD", "GBP")].source == "file:rates.csv"
    assert rates[("BTC", "USD")].rate == Decimal("64250.5")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("XYZ,USD,1.5", "line 3: unknown currency XYZ"),
        ("EUR,EUR,1", "line 3: base and quote are both EUR"),
        ("EUR,USD,0", "line 3: rate '0' must be a positive finite number"),
        ("EUR,USD,-2", "line 3: rate '-2' must be a positive finite number"),
        ("EUR,USD,NaN", "line 3: rate 'NaN' must be a positive finite number"),
        ("EUR,USD,Infinity", "line 3: rate 'Infinity' must be a positive finite number"),
        ("EUR,USD,abc", "line 3: rate 'abc' is not a number"),
        ("EUR,USD,1e400", "line 3: rate '1e400' is too large"),
        ("EUR,USD,0.0000000000000000001", "more than 18 decimal places"),
        ("EUR,USD", "line 3: expected 'base,quote,rate[,source]', got 2 fields"),
    ],
)
def test_load_rates_names_the_bad_line_and_loads_nothing(tmp_path, bad_line, message):
    path = tmp_path / "rates.csv"
    path.write_text(f"EUR,USD,1.08\nUSD,GBP,0.79\n{bad_line}\nGBP,EUR,1.17\n")

    with pytest.raises(CommandError) as error:
        run_command("load_rates", str(path))

    assert message in str(error.value)
    assert "nothing loaded" in str(error.value)
    assert ExchangeRate.objects.count() == 0


@pytest.mark.django_db
def test_load_rates_refuses_a_missing_file_and_an_empty_one(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_command("load_rates", str(tmp_path / "missing.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("base,quote,rate\n")
    with pytest.raises(CommandError, match="no rates in the file"):
        run_command("load_rates", str(empty))
    assert ExchangeRate.objects.count() == 0


# --- export_transactions -------------------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_export_writes_every_transaction_with_amounts_in_currency_decimals(funded_wallet, usd):
    receiver = WalletWithBalanceFactory()
    transfer = transaction_transfer(
        actor=funded_wallet.owner,
        wallet=funded_wallet,
        to_address=receiver.address,
        currency=usd,
        amount="12.5",
        pin=DEFAULT_PIN,
        description='=HYPERLINK("evil")',
    )

    out, _ = run_command("export_transactions")

    assert out.splitlines()[0] == ",".join(f'"{name}"' for name in EXPORT_HEADER)
    rows = read_csv(out)
    assert [row["kind"] for row in rows] == ["deposit", "transfer"]  # oldest first
    row = rows[1]
    assert row["id"] == str(transfer.pk)
    assert row["wallet"] == str(funded_wallet.pk) and row["to_wallet"] == str(receiver.pk)
    assert row["currency"] == "USD" and row["amount"] == "12.50" and row["fee"] == "0.00"
    assert row["status"] == "posted" and row["posted_at"]
    # A client's description is never a live spreadsheet formula.
    assert row["description"] == '\'=HYPERLINK("evil")'


@pytest.mark.django_db
def test_export_filters_by_wallet_and_dates_and_writes_a_file(funded_wallet, usd, tmp_path):
    other = WalletWithBalanceFactory()
    deposit(other, "1")
    between = timezone.now()
    later = deposit(funded_wallet, "2")
    output = tmp_path / "out.csv"

    _, err = run_command("export_transactions", "--wallet", funded_wallet.address, "--output", str(output))
    assert {row["wallet"] for row in read_csv(output.read_text())} == {str(funded_wallet.pk)}
    assert "Exported 2 transactions" in err

    out, _ = run_command("export_transactions", "--wallet", str(funded_wallet.pk), "--since", between.isoformat())
    assert [row["id"] for row in read_csv(out)] == [str(later.pk)]

    out, _ = run_command("export_transactions", "--until", between.isoformat())
    assert [row["amount"] for row in read_csv(out)] == ["500.00", "1.00"]

    # A date --until includes that whole day; a date --since starts at its midnight.
    today = timezone.localdate().isoformat()
    out, _ = run_command("export_transactions", "--since", today, "--until", today)
    assert len(read_csv(out)) == 3
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    out, _ = run_command("export_transactions", "--until", yesterday)
    assert read_csv(out) == []
    # An offset PostgreSQL would refuse (+20:00) names the same instant in UTC.
    out, _ = run_command(
        "export_transactions", "--since", (between + timedelta(hours=20)).replace(tzinfo=None).isoformat() + "+20:00"
    )
    assert [row["id"] for row in read_csv(out)] == [str(later.pk)]


@pytest.mark.django_db
def test_export_normalises_offsets_postgresql_refuses_and_refuses_impossible_instants(funded_wallet):
    out, _ = run_command("export_transactions", "--since", "2000-01-01T00:00:00+20:00")
    assert [row["amount"] for row in read_csv(out)] == ["500.00"]
    out, _ = run_command("export_transactions", "--until", "2000-01-01T00:00:00-16:00")
    assert read_csv(out) == []

    with pytest.raises(CommandError, match=r"^--since: '0001-01-01T00:00:00\+20:00' is out of range\.$"):
        run_command("export_transactions", "--since", "0001-01-01T00:00:00+20:00")


@pytest.mark.django_db
def test_export_streams_rows_from_a_server_side_cursor(funded_wallet, monkeypatch):
    """Constant memory: the rows come from QuerySet.iterator(), never a list of every transaction."""
    chunk_sizes = []
    real_iterator = QuerySet.iterator

    def recording_iterator(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return real_iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", recording_iterator)

    out, _ = run_command("export_transactions")

    assert chunk_sizes and chunk_sizes[0] >= 1000
    assert len(read_csv(out)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wallet", "NOSUCHWALLETNOSUCHWALLET22"], "No wallet with id or address"),
        (["--wallet", "00000000-0000-0000-0000-000000000000"], "No wallet with id or address"),
        (["--since", "yesterday"], "--since: 'yesterday' is not a date"),
        (["--until", "2025-02-30"], "--until: '2025-02-30' is not a date"),
        (["--since", "2025-03-01", "--until", "2025-02-01"], "--since must be before --until"),
    ],
)
def test_export_refuses_bad_arguments_in_one_line(args, message):
    with pytest.raises(CommandError) as error:
        run_command("export_transactions", *args)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


# --- expire_holds --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_expire_holds_expires_old_pending_withdrawals_and_releases_the_hold(funded_wallet, usd, clock_ahead):
    usd.withdrawal_approval_threshold = Decimal("100")
    usd.save()
    old = transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="150", pin=DEFAULT_PIN
    )
    # The database stamps the rows; the cut-off falls between the two withdrawals' times.
    time.sleep(0.05)
    boundary = timezone.now()
    time.sleep(0.05)
    fresh = transaction_withdraw(
        actor=funded_wallet.owner, wallet=funded_wallet, currency=usd, amount="120", pin=DEFAULT_PIN
    )
    clock_ahead(settings.HOLD_TTL - (timezone.now() - boundary))

    out, _ = run_command("expire_holds")

    assert "Expired 1 pending withdrawal, 0 pending deposits and 0 approval requests." in out
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == "expired" and fresh.status == "pending"
    asset = BalanceAsset.objects.get(balance__wallet=funded_wallet, currency=usd)
    assert asset.held == fresh.amount + fresh.fee

    out, _ = run_command("expire_holds")
    assert "Expired 0 pending withdrawals, 0 pending deposits and 0 approval requests." in out


# --- every command, run the way an operator runs it ----------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load_rates", "/nonexistent/rates.csv"], "no such file"),
        (["export_transactions", "--since", "not-a-date"], "is not a date"),
        (["reconcile", "--no-such-option"], "unrecognized arguments"),
        (["expire_holds", "unexpected"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_give_one_line_and_a_non_zero_exit_never_a_traceback(args, message):
    result = run_manage_py(*args)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert message in result.stderr
