"""wallet_update composes a rename and a credit-limit change (both or neither); wallet_create and
wallet_close hold who may open a wallet for someone else and who may close someone else's wallet —
the views only parse and render."""

from decimal import Decimal

import pytest

from users.tests.factories import StaffFactory, UserFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.exceptions import NotFoundError, PermissionDeniedError, ValidationFailed
from walletmanager.models import AuditEvent
from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def open_for(owner, *, actor=None, kind="debit") -> Wallet:
    return services.wallet_create(
        actor=actor or owner, owner=owner, name="Main", kind=kind, balance_kind="regular", currency="USD", pin="1234"
    )


def test_a_new_wallet_has_its_balance_and_asset_opened_in_the_same_transaction():
    wallet = open_for(UserFactory())

    assert (wallet.balance.kind, wallet.balance.currency_id) == ("regular", "USD")
    assert [asset.currency_id for asset in wallet.balance.assets.all()] == ["USD"]


def test_a_refused_currency_leaves_no_wallet_behind():
    owner = UserFactory()

    with pytest.raises(ValidationFailed) as refused:
        services.wallet_create(
            actor=owner, owner=owner, name="Main", balance_kind="regular", currency="XYZ", pin="1234"
        )

    assert refused.value.field == "currency"
    assert not Wallet.objects.filter(owner=owner).exists()
    assert not AuditEvent.objects.filter(action="wallet.created").exists()


def test_a_client_naming_another_owner_is_refused_before_the_owner_is_looked_up():
    client = UserFactory()

    with pytest.raises(PermissionDeniedError):
        services.wallet_create(actor=client, owner=10**12, name="Main", balance_kind="multi", currency=None, pin="1234")
    with pytest.raises(NotFoundError):
        services.wallet_create(
            actor=StaffFactory(groups=["Support"]),
            owner=10**12,
            name="Main",
            balance_kind="multi",
            currency=None,
            pin="1234",
        )

    assert not Wallet.objects.filter(system_role__isnull=True).exists()


def test_wallet_update_renames_and_changes_the_credit_limit_or_neither():
    finance = StaffFactory(groups=["Finance"])
    wallet = open_for(UserFactory(), actor=finance, kind="credit")

    with pytest.raises(ValidationFailed):
        services.wallet_update(actor=finance, wallet=wallet, name="Renamed", credit_limit="-1")
    wallet.refresh_from_db()
    assert wallet.name == "Main"
    assert not AuditEvent.objects.filter(action="wallet.updated").exists()

    request = services.wallet_update(actor=finance, wallet=wallet, name="Renamed", credit_limit="100", reason="line")

    wallet.refresh_from_db()
    assert isinstance(request, ApprovalRequest) and request.status == "pending"
    assert (wallet.name, wallet.credit_limit) == ("Renamed", Decimal(0))
    assert AuditEvent.objects.get(action="wallet.updated").data == {
        "before": {"name": "Main"},
        "after": {"name": "Renamed"},
    }


def test_closing_someone_elses_wallet_needs_the_block_wallet_permission():
    wallet = open_for(UserFactory())

    with pytest.raises(PermissionDeniedError):
        services.wallet_close(actor=StaffFactory(groups=["Finance"]), wallet=wallet, reason="asked")
    wallet.refresh_from_db()
    assert wallet.status == "active" and not AuditEvent.objects.filter(action="wallet.closed").exists()

    support = StaffFactory(groups=["Support"])
    services.wallet_close(actor=support, wallet=wallet, reason="asked")

    wallet.refresh_from_db()
    assert wallet.status == "closed"
    assert AuditEvent.objects.get(action="wallet.closed").actor == support


def test_the_admin_shows_the_services_refusal_to_rename_a_closed_wallet_and_writes_nothing():
    from django.test import Client

    from users.tests.factories import SuperuserFactory
    from walletmanager.testing.two_factor import verified_staff_login

    wallet = open_for(UserFactory())
    services.wallet_close(actor=None, wallet=wallet, reason="left")
    browser = Client()
    verified_staff_login(browser, SuperuserFactory())

    response = browser.post(f"/admin/wallets/wallet/{wallet.pk}/change/", {"name": "Renamed by ops"})

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == ["The wallet is closed. (wallet_closed)"]
    wallet.refresh_from_db()
    assert wallet.name == "Main" and not AuditEvent.objects.filter(action="wallet.updated").exists()
