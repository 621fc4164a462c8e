"""SPEC §11: who may call what. Every endpoint × anonymous / the owner / another client / Support /
Finance. A refused call changes nothing: the wallet, the transaction and the audit trail stay as they were."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from balances.models import Currency
from transactions import deposits, services
from transactions.models import Transaction
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_request
from walletmanager.models import AuditEvent
from walletmanager.testing.ledger import PIN, deposit, make_wallet, position

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


# What an allowed call answers and changes. Each check gets the world, the response body and the caller.
def wallet_shown(world, body, caller):
    assert body["id"] == str(world["wallet"].pk) and body["name"] == world["wallet"].name
    assert body["balance"]["assets"] == [
        {"currency": "USD", "posted": "550.00", "held": "150.00", "available": "400.00"}
    ]
    # What staff write for staff (block and freeze reasons) never reaches the client.
    assert ("block_reason" in body) == caller.is_staff and ("freeze_reason" in body["balance"]) == caller.is_staff


def wallet_renamed(world, body, caller):
    world["wallet"].refresh_from_db()
    assert body["name"] == world["wallet"].name == "Renamed" and body["status"] == "active"


def wallet_blocked(world, body, caller):
    world["wallet"].refresh_from_db()
    assert (body["status"], body["block_reason"]) == ("blocked", "matrix")
    assert (world["wallet"].status, world["wallet"].block_reason) == ("blocked", "matrix")
    assert world["wallet"].balance.status == "active"


def balance_frozen(world, body, caller):
    balance = world["wallet"].balance
    balance.refresh_from_db()
    assert (body["status"], body["balance"]["status"], body["balance"]["freeze_reason"]) == (
        "active",
        "frozen",
        "matrix",
    )
    assert (balance.status, balance.freeze_reason) == ("frozen", "matrix")


def transaction_shown(world, body, caller):
    posted = world["posted"]
    assert (body["id"], body["kind"], body["status"], body["amount"]) == (str(posted.pk), "deposit", "posted", "50.00")
    # The operator's reason and the ledger's entries are staff's view; the client sees neither.
    assert ("reason" in body) == caller.is_staff and ("entries" in body) == caller.is_staff
    if caller.is_staff:
        assert sorted(entry["amount"] for entry in body["entries"]) == ["-50.00", "50.00"]


def withdrawal_approved(world, body, caller):
    world["pending"].refresh_from_db()
    assert (body["id"], body["status"], body["reason"]) == (str(world["pending"].pk), "posted", "matrix")
    assert body["balance_after"] == {"posted": "400.00", "held": "0.00", "available": "400.00"}
    assert world["pending"].status == "posted"
    assert position(world["wallet"]) == (Decimal("400"), Decimal("0"), Decimal("400"))


def withdrawal_rejected(world, body, caller):
    world["pending"].refresh_from_db()
    assert (body["id"], body["status"], body["reason"]) == (str(world["pending"].pk), "rejected", "matrix")
    assert world["pending"].status == "rejected"
    assert position(world["wallet"]) == (Decimal("550"), Decimal("0"), Decimal("550"))


def reversal_requested(world, body, caller):
    """A reversal is a request for a second Finance operator: nothing moves yet."""
    posted = world["posted"]
    request = ApprovalRequest.objects.get(pk=body["id"])
    assert (body["action"], body["status"], body["payload"]) == ("reverse", "pending", {"transaction": str(posted.pk)})
    assert (request.action, request.status, request.requested_by, request.reason) == (
        "reverse",
        "pending",
        caller,
        "matrix",
    )
    posted.refresh_from_db()
    assert posted.status == "posted"
    assert position(world["wallet"]) == (Decimal("550"), Decimal("150"), Decimal("400"))


def adjustment_requested(world, body, caller):
    """An adjustment is a request for a second Finance operator: nothing moves yet."""
    request = ApprovalRequest.objects.get(pk=body["id"])
    payload = {"wallet": str(world["wallet"].pk), "currency": "USD", "amount": "1", "direction": "credit"}
    assert (body["action"], body["status"], body["payload"]) == ("adjust", "pending", payload)
    assert (request.action, request.status, request.requested_by, request.reason) == (
        "adjust",
        "pending",
        caller,
        "matrix",
    )
    assert position(world["wallet"]) == (Decimal("550"), Decimal("150"), Decimal("400"))


def user_blocked(world, body, caller):
    world["owner"].refresh_from_db()
    assert (body["id"], body["status"]) == (world["owner"].pk, "blocked")
    assert world["owner"].status == "blocked"


def deposit_confirmed(world, body, caller):
    deposit = world["pending_deposit"]
    deposit.refresh_from_db()
    assert (body["id"], body["status"], body["received_amount"]) == (str(deposit.pk), "posted", "70.00")
    assert body["balance_after"] == {"posted": "620.00", "held": "150.00", "available": "470.00"}
    assert deposit.status == "posted"
    assert position(world["wallet"]) == (Decimal("620"), Decimal("150"), Decimal("470"))


def deposit_rejected(world, body, caller):
    deposit = world["pending_deposit"]
    deposit.refresh_from_db()
    assert (body["id"], body["status"], body["reason"]) == (str(deposit.pk), "rejected", "matrix")
    assert deposit.status == "rejected"
    assert position(world["wallet"]) == (Decimal("550"), Decimal("150"), Decimal("400"))


def approvals_listed(world, body, caller):
    # Support decides no action, so it sees none; Finance sees the adjustment waiting for a checker.
    if caller.groups.filter(name="Finance").exists():
        assert body["count"] == 1
        assert [(row["id"], row["action"], row["status"]) for row in body["results"]] == [
            (world["request"].pk, "adjust", "pending")
        ]
    else:
        assert (body["count"], body["results"]) == (0, [])


def request_approved(world, body, caller):
    request = world["request"]
    request.refresh_from_db()
    adjustment = Transaction.objects.get(kind="adjustment")
    assert (body["id"], body["status"], body["decision_reason"]) == (request.pk, "approved", "matrix")
    assert body["result"] == {"transaction": str(adjustment.pk)}
    assert (request.status, request.decided_by) == ("approved", caller)
    assert (adjustment.status, adjustment.amount, adjustment.wallet_id) == ("posted", Decimal("1"), world["wallet"].pk)
    assert position(world["wallet"]) == (Decimal("551"), Decimal("150"), Decimal("401"))


def request_rejected(world, body, caller):
    request = world["request"]
    request.refresh_from_db()
    assert (body["id"], body["status"], body["decision_reason"]) == (request.pk, "rejected", "matrix")
    assert (request.status, request.decided_by) == ("rejected", caller)
    assert not Transaction.objects.filter(kind="adjustment").exists()


# endpoint: (status, check of the body and the database, the audit actions it writes, new transactions)
ALLOWED = {
    "wallet detail": (200, wallet_shown, [], 0),
    "wallet rename": (200, wallet_renamed, ["wallet.updated"], 0),
    "wallet block": (200, wallet_blocked, ["wallet.blocked"], 0),
    "wallet freeze": (200, balance_frozen, ["balance.frozen"], 0),
    "transaction detail": (200, transaction_shown, [], 0),
    "approve": (200, withdrawal_approved, ["withdrawal.approved"], 0),
    "reject": (200, withdrawal_rejected, ["withdrawal.rejected"], 0),
    "reverse": (202, reversal_requested, ["approval.requested"], 0),
    "adjust": (202, adjustment_requested, ["approval.requested"], 0),
    "user block": (200, user_blocked, ["user.blocked"], 0),
    "confirm deposit": (200, deposit_confirmed, ["deposit.confirmed"], 0),
    "reject deposit": (200, deposit_rejected, ["deposit.rejected"], 0),
    "approvals list": (200, approvals_listed, [], 0),
    "approve request": (200, request_approved, ["adjustment.posted", "approval.approved"], 1),
    "reject request": (200, request_rejected, ["approval.rejected"], 0),
}


def test_every_allowed_call_has_its_check():
    allowed = {endpoint for endpoint, row in EXPECTED.items() if None in row.values()}
    assert allowed == set(ALLOWED)


@pytest.mark.parametrize(("endpoint", "who"), CASES, ids=[f"{e}-{w}" for e, w in CASES])
def test_permission_matrix(world, endpoint, who):
    method, url, body = endpoints(world)[endpoint]
    expected = EXPECTED[endpoint][who]
    wallet, pending = world["wallet"], world["pending"]
    audit_before = AuditEvent.objects.count()
    last_audit = AuditEvent.objects.order_by("pk").values_list("pk", flat=True).last()
    transactions_before = Transaction.objects.count()

    response = (
        getattr(client_for(world, who), method)(url, body, format="json")
        if body
        else getattr(client_for(world, who), method)(url)
    )

    if expected is None:
        status, check, audited, new_transactions = ALLOWED[endpoint]
        caller = world["users"][who]
        assert response.status_code == status, (response.status_code, response.content)
        check(world, response.json(), caller)
        written = AuditEvent.objects.filter(pk__gt=last_audit).order_by("pk").values_list("action", "actor_id")
        assert list(written) == [(action, caller.pk) for action in audited]
        assert Transaction.objects.count() == transactions_before + new_transactions
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
