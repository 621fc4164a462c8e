"""A client nobody here wrote: openapi-python-client generates one from the schema a live server serves
at ``/api/schema/``, and a client developer's whole flow runs with it over HTTP (SPEC §7, docs/api.md).

The schema must make every generated module importable (JSON bodies only, one schema per transaction
kind) and describe what each response really holds (a client's transaction has no ``entries``).
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from enum import Enum
from uuid import UUID

import httpx
import pytest
from django.core.management import call_command

from transactions.models import Transaction

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "walletmanager_client"
PIN = "2468"
PASSWORD = "a long passphrase nobody guesses"


@contextlib.contextmanager
def imported_package(folder, name: str):
    """``name`` imported from ``folder``; gone from ``sys.path`` and ``sys.modules`` afterwards."""
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))
        for module in [module for module in sys.modules if module == name or module.startswith(f"{name}.")]:
            del sys.modules[module]


@pytest.fixture
def generated(live_server, tmp_path):
    """The client package generated from the live server's schema, imported."""
    schema = httpx.get(f"{live_server.url}/api/schema/", headers={"Accept": "application/json"}, timeout=30)
    assert schema.status_code == 200, schema.text
    (tmp_path / "schema.json").write_bytes(schema.content)
    # No post hooks: the generator would otherwise run ruff over the code it wrote.
    (tmp_path / "config.yaml").write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            "schema.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator names what it could not generate on stdout ("Warning(s) encountered").
    assert "Warning" not in result.stdout, result.stdout
    with imported_package(tmp_path, PACKAGE) as package:
        yield package


def test_every_generated_module_imports(generated):
    broken = {}
    modules = list(pkgutil.walk_packages(generated.__path__, f"{PACKAGE}."))
    for module in modules:
        try:
            importlib.import_module(module.name)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            broken[module.name] = repr(error)

    assert len(modules) > 50
    assert broken == {}
    # The transaction list's orderings are named, not VALUE_0 / VALUE_1.
    models = importlib.import_module(f"{PACKAGE}.models")
    enums = [enum for name in dir(models) if isinstance(enum := getattr(models, name), type) and issubclass(enum, Enum)]
    orderings = [enum for enum in enums if "-amount" in {member.value for member in enum}]
    assert orderings, "no enum holds -amount"
    assert {member.name: member.value for member in orderings[0]} == {
        "AMOUNT": "amount",
        "AMOUNT_DESCENDING": "-amount",
        "CREATED_AT": "created_at",
        "CREATED_AT_DESCENDING": "-created_at",
    }


def test_register_login_open_a_wallet_deposit_withdraw_list_and_read_with_the_generated_client(generated, live_server):
    models = importlib.import_module(f"{PACKAGE}.models")
    auth = importlib.import_module(f"{PACKAGE}.api.auth")
    wallets = importlib.import_module(f"{PACKAGE}.api.wallets")
    transactions = importlib.import_module(f"{PACKAGE}.api.transactions")
    client_module = importlib.import_module(f"{PACKAGE}.client")
    # Closed when the flow ends: a kept-alive socket would keep its server thread and database connection.
    with contextlib.ExitStack() as open_clients:
        anonymous = open_clients.enter_context(
            client_module.Client(base_url=live_server.url, raise_on_unexpected_status=True)
        )
        token = flow_as_anonymous(models, auth, anonymous)
        user = open_clients.enter_context(
            client_module.AuthenticatedClient(
                base_url=live_server.url, token=token, prefix="Token", raise_on_unexpected_status=True
            )
        )
        flow_as_user(models, wallets, transactions, user, live_server)


def flow_as_anonymous(models, auth, anonymous) -> str:
    """Register and log in; the token."""
    registered = importlib.import_module(f"{auth.__name__}.auth_register").sync_detailed(
        client=anonymous,
        body=models.RegisterInputRequest(
            email="ada@example.com", password=PASSWORD, first_name="Ada", last_name="Lovelace"
        ),
    )
    assert registered.status_code == 201, registered.content
    assert registered.parsed.email == "ada@example.com"

    login = importlib.import_module(f"{auth.__name__}.auth_login")
    refused = login.sync_detailed(
        client=anonymous, body=models.LoginInputRequest(email="ada@example.com", password="wrong")
    )
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Error)
    assert refused.parsed.code == models.ErrorCodeEnum.INVALID_CREDENTIALS
    return login.sync(client=anonymous, body=models.LoginInputRequest(email="ada@example.com", password=PASSWORD)).token


def flow_as_user(models, wallets, transactions, user, live_server) -> None:
    """Open a wallet, deposit (the provider confirms it), withdraw, list, read one transaction."""

    wallet = importlib.import_module(f"{wallets.__name__}.wallets_create").sync(
        client=user,
        body=models.WalletCreateInputRequest(
            name="Everyday", balance_kind=models.BalanceKindEnum.REGULAR, currency="USD", pin=PIN
        ),
    )
    assert isinstance(wallet, models.Wallet) and wallet.name == "Everyday"

    create = importlib.import_module(f"{transactions.__name__}.transactions_create")
    deposit = create.sync(
        client=user,
        body=models.DepositInputRequest(
            kind=models.DepositInputKindEnum.DEPOSIT, wallet=wallet.id, currency="USD", amount="120.00"
        ),
    )
    assert isinstance(deposit, models.Transaction)
    assert (deposit.kind, deposit.status) == (models.TransactionKindEnum.DEPOSIT, models.TransactionStatusEnum.PENDING)

    # The payment provider's signed callback, sent to the live server: the deposit posts.
    call_command("simulate_payment", deposit.reference, "--url", live_server.url)
    assert Transaction.objects.get(pk=deposit.id).status == Transaction.Status.POSTED

    withdrawal = create.sync_detailed(
        client=user,
        body=models.WithdrawalInputRequest(
            kind=models.WithdrawalInputKindEnum.WITHDRAWAL, wallet=wallet.id, currency="USD", amount="20", pin=PIN
        ),
        idempotency_key="withdraw-once",
    )
    assert withdrawal.status_code == 201, withdrawal.content
    assert withdrawal.parsed.amount == "20.00"
    refused = create.sync_detailed(
        client=user,
        body=models.WithdrawalInputRequest(
            kind=models.WithdrawalInputKindEnum.WITHDRAWAL, wallet=wallet.id, currency="USD", amount="5000", pin=PIN
        ),
    )
    assert refused.status_code == 409
    assert refused.parsed.code == models.ErrorCodeEnum.INSUFFICIENT_FUNDS

    listed = importlib.import_module(f"{transactions.__name__}.transactions_list").sync(client=user)
    assert [(item.kind, item.status) for item in listed.results] == [
        (models.TransactionKindEnum.WITHDRAWAL, models.TransactionStatusEnum.POSTED),
        (models.TransactionKindEnum.DEPOSIT, models.TransactionStatusEnum.POSTED),
    ]

    read = importlib.import_module(f"{transactions.__name__}.transactions_retrieve").sync(
        client=user, id=UUID(str(withdrawal.parsed.id))
    )
    assert isinstance(read, models.Transaction)
    assert (read.id, read.amount, read.kind) == (withdrawal.parsed.id, "20.00", models.TransactionKindEnum.WITHDRAWAL)

    balance = importlib.import_module(f"{wallets.__name__}.wallets_retrieve").sync(client=user, id=wallet.id).balance
    (asset,) = balance.assets
    assert (asset.currency, Decimal(asset.posted), Decimal(asset.available)) == ("USD", Decimal("100"), Decimal("100"))

    # The statement as files: the generated client hands back their bytes instead of parsing JSON.
    download = importlib.import_module(f"{wallets.__name__}.wallets_statement_download_retrieve")
    today = date.today().isoformat()
    formats = models.WalletsStatementDownloadRetrieveFormat
    files = {
        file_format.value: download.sync_detailed(
            client=user, id=wallet.id, currency="USD", from_=today, format_=file_format
        )
        for file_format in formats
    }
    for file_format, response in files.items():
        assert response.status_code == 200, response.content
        assert f'.{file_format}"' in response.headers["content-disposition"]
        assert response.parsed.payload.read() == response.content
    csv_lines = files["csv"].content.decode().splitlines()
    assert len(csv_lines) == 3 and "120.00" in csv_lines[1] and "-20.00" in csv_lines[2]  # header, deposit, withdrawal
    assert files["pdf"].content.startswith(b"%PDF")
