"""SPEC §11: who may call what. Every endpoint × anonymous / the owner / another client / Support /
Finance. A refused call changes nothing: the wallet, the transaction and the audit trail stay as they were."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import deposits, services
from transactions.models import Transaction
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.approvals.services import approval_request
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet

pytestmark = pytest.mark.django_db

ANONYMOUS, OWNER, OTHER, SUPPORT, FINANCE = "anonymous", "owner", "other", "support", "finance"


@pytest.fixture
def world():
    owner = UserFactory()
    wallet = make_wallet(owner=owner)
    deposit(wallet, "500")
    Currency.objects.filter(code="USD").update(withdrawal_approval_threshold=Decimal("100"))
    pending = services.transaction_withdraw(
        actor=owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount=Decimal("150"), pin=PIN
    )
    posted = deposit(wallet, "50")  # reversible: the wallet keeps enough after the hold
    pending_deposit = deposits.transaction_deposit(
        actor=owner, wallet=wallet, currency=Currency.objects.get(code="USD"), amount="70"
    )
    maker = StaffFactory(groups=["Finance"])
    request = approval_request(
        actor=maker,
        action="adjust",
        reason="matrix",
        wallet=wallet,
        currency=Currency.objects.get(code="USD"),
        amount="1",
        direction="credit",
    )
    users = {
        OWNER: owner,
        OTHER: UserFactory(),
        SUPPORT: StaffFactory(groups=["Support"]),
        FINANCE: StaffFactory(groups=["Finance"]),
    }
    return {
        "wallet": wallet,
        "pending": pending,
        "posted": posted,
        "users": users,
        "owner": owner,
        "pending_deposit": pending_deposit,
        "request": request,
        "maker": maker,
    }


def client_for(world, who: str) -> APIClient:
    client = APIClient()
    if who != ANONYMOUS:
        client.force_authenticate(world["users"][who])
    return client


def endpoints(world):
    wallet, pending, posted, owner = world["wallet"], world["pending"], world["posted"], world["owner"]
    return {
        "wallet detail": ("get", f"/api/wallets/{wallet.pk}/", None),
        "wallet rename": ("patch", f"/api/wallets/{wallet.pk}/", {"name": "Renamed"}),
        "wallet block": ("post", f"/api/wallets/{wallet.pk}/block/", {"reason": "matrix"}),
        "wallet freeze": ("post", f"/api/wallets/{wallet.pk}/freeze/", {"reason": "matrix"}),
        "transaction detail": ("get", f"/api/transactions/{posted.pk}/", None),
        "approve": ("post", f"/api/transactions/{pending.pk}/approve/", {"reason": "matrix"}),
        "reject": ("post", f"/api/transactions/{pending.pk}/reject/", {"reason": "matrix"}),
        "reverse": ("post", f"/api/transactions/{posted.pk}/reverse/", {"reason": "matrix"}),
        "adjust": (
            "post",
            "/api/transactions/",
            {
                "kind": "adjustment",
                "wallet": str(wallet.pk),
                "currency": "USD",
                "amount": "1",
                "direction": "credit",
                "reason": "matrix",
            },
        ),
        "user block": ("post", f"/api/users/{owner.pk}/block/", {"reason": "matrix"}),
        "confirm deposit": ("post", f"/api/transactions/{world['pending_deposit'].pk}/confirm/", {"reason": "matrix"}),
        "reject deposit": ("post", f"/api/transactions/{world['pending_deposit'].pk}/reject/", {"reason": "matrix"}),
        "approvals list": ("get", "/api/approvals/", None),
        "approve request": ("post", f"/api/approvals/{world['request'].pk}/approve/", {"reason": "matrix"}),
        "reject request": ("post", f"/api/approvals/{world['request'].pk}/reject/", {"reason": "matrix"}),
        "unsigned payment callback": (
            "post",
            "/api/payments/callback/",
            {
                "reference": world["pending_deposit"].reference,
                "provider_id": "x",
                "amount": "70",
                "currency": "USD",
                "status": "succeeded",
            },
        ),
    }


# The status each caller gets; None means "allowed" (2xx).
EXPECTED = {
    "wallet detail": {ANONYMOUS: 401, OWNER: None, OTHER: 404, SUPPORT: None, FINANCE: None},
    "wallet rename": {ANONYMOUS: 401, OWNER: None, OTHER: 404, SUPPORT: None, FINANCE: None},
    "wallet block": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: None, FINANCE: 403},
    "wallet freeze": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: None, FINANCE: 403},
    "transaction detail": {ANONYMOUS: 401, OWNER: None, OTHER: 404, SUPPORT: None, FINANCE: None},
    "approve": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 403, FINANCE: None},
    "reject": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 403, FINANCE: None},
    "reverse": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 403, FINANCE: None},
    "adjust": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 403, FINANCE: None},
    "user block": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: None, FINANCE: 403},
    "confirm deposit": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 403, FINANCE: None},
    "reject deposit": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 403, FINANCE: None},
    # Staff only; Support sees an empty list (it decides no action), clients are refused.
    "approvals list": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: None, FINANCE: None},
    "approve request": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 404, FINANCE: None},
    "reject request": {ANONYMOUS: 401, OWNER: 403, OTHER: 403, SUPPORT: 404, FINANCE: None},
    # Only the provider's signature opens it: everyone else is 401, whoever they are.
    "unsigned payment callback": {ANONYMOUS: 401, OWNER: 401, OTHER: 401, SUPPORT: 401, FINANCE: 401},
}

CASES = [(endpoint, who) for endpoint, row in EXPECTED.items() for who in row]


@pytest.mark.parametrize(("endpoint", "who"), CASES, ids=[f"{e}-{w}" for e, w in CASES])
def test_permission_matrix(world, endpoint, who):
    method, url, body = endpoints(world)[endpoint]
    expected = EXPECTED[endpoint][who]
    wallet, pending = world["wallet"], world["pending"]
    audit_before = AuditEvent.objects.count()
    transactions_before = Transaction.objects.count()

    response = (
        getattr(client_for(world, who), method)(url, body, format="json")
        if body
        else getattr(client_for(world, who), method)(url)
    )

    if expected is None:
        assert 200 <= response.status_code < 300, (response.status_code, response.content)
        return
    request_before = world["request"].status
    assert response.status_code == expected, response.content
    payload = response.json()
    if expected in (401, 403):
        assert "detail" in payload
    if expected == 403:
        assert payload["code"] in {"permission_denied", "not_authenticated"}
    # Refused: nothing changed.
    wallet.refresh_from_db()
    pending.refresh_from_db()
    assert wallet.name != "Renamed" and wallet.status == "active" and wallet.balance.status == "active"
    assert pending.status == "pending"
    world["pending_deposit"].refresh_from_db()
    world["request"].refresh_from_db()
    assert world["pending_deposit"].status == "pending" and world["request"].status == request_before == "pending"
    assert Transaction.objects.count() == transactions_before
    assert AuditEvent.objects.count() == audit_before


def test_the_maker_never_checks_and_nobody_decides_on_their_own_wallet(world):
    maker = APIClient()
    maker.force_authenticate(world["maker"])
    own = maker.post(f"/api/approvals/{world['request'].pk}/approve/", {}, format="json")
    assert (own.status_code, own.json()["code"]) == (403, "same_operator")

    owner_operator = StaffFactory(groups=["Finance"])
    wallet = make_wallet(owner=owner_operator)
    pending = deposits.transaction_deposit(
        actor=owner_operator, wallet=wallet, currency=wallet.balance.currency, amount="10"
    )
    client = APIClient()
    client.force_authenticate(owner_operator)
    response = client.post(f"/api/transactions/{pending.pk}/confirm/", {"reason": "mine"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "own_wallet")
    world["request"].refresh_from_db()
    pending.refresh_from_db()
    assert world["request"].status == "pending" and pending.status == "pending"


def test_insufficient_funds_names_amounts_without_storage_precision(world):
    client = client_for(world, OWNER)
    response = client.post(
        "/api/transactions/",
        {"kind": "withdrawal", "wallet": str(world["wallet"].pk), "currency": "USD", "amount": "5000", "pin": PIN},
        format="json",
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "insufficient_funds",
        "detail": "Not enough available USD: 400 available, 5000 needed.",
    }
