"""Idempotency-Key on POST /api/transactions/ (SPEC §5)."""

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from django.utils import timezone

from transactions.idempotency import fingerprint, idempotency_purge_expired
from transactions.models import IdempotencyKey, Transaction
from users.tests.factories import UserFactory
from walletmanager.testing.clients import authenticated
from walletmanager.testing.database import runtime_connection
from walletmanager.testing.ledger import PIN, make_wallet, position

pytestmark = pytest.mark.django_db

URL = "/api/transactions/"


@pytest.fixture
def api(api_client, client_user):
    api_client.force_authenticate(client_user)
    return api_client


def body(wallet, amount="10"):
    return {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": amount}


def test_same_key_same_body_replays_the_first_response(api, wallet):
    first = api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Transaction.objects.count() == 1


def test_same_key_other_body_is_422(api, wallet):
    api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="k-2")
    response = api.post(URL, body(wallet, "11"), HTTP_IDEMPOTENCY_KEY="k-2")

    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert Transaction.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_key_still_running_is_409_with_retry_after_and_free_at_once_when_it_ends(api, wallet, client_user):
    claim = IdempotencyKey.objects.create(user=client_user, key="k-3", request_fingerprint=fingerprint(body(wallet)))

    # The first request is running: its transaction holds the claim row's lock.
    with runtime_connection() as first_request:
        first_request.execute(f"SELECT id FROM {IdempotencyKey._meta.db_table} WHERE id = %s FOR UPDATE", [claim.pk])
        response = api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="k-3")

        assert (response.status_code, response.json()["code"]) == (409, "idempotency_in_progress")
        assert response["Retry-After"] == "1"
        assert Transaction.objects.count() == 0
        first_request.rollback()  # it died without storing a response

    retried = api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="k-3")

    assert retried.status_code == 201, retried.json()
    assert Transaction.objects.get().pk == UUID(retried.json()["id"])
    assert IdempotencyKey.objects.get(pk=claim.pk).response_status == 201


def test_a_fresh_claim_nobody_holds_is_taken_over_at_once(api, wallet, client_user):
    """A claim without a response whose row lock is free: its request is no longer running, however
    young the claim is; the retry does not wait 30 s."""
    claim = IdempotencyKey.objects.create(user=client_user, key="k-4", request_fingerprint=fingerprint(body(wallet)))

    response = api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="k-4")

    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == "10.00"
    assert Transaction.objects.get().pk == UUID(response.json()["id"])
    claim.refresh_from_db()
    assert (claim.response_status, claim.response_body["id"]) == (201, response.json()["id"])


def test_409_is_stored_and_replayed(api, funded_wallet):
    withdrawal = {
        "kind": "withdrawal",
        "wallet": str(funded_wallet.pk),
        "currency": "USD",
        "amount": "1000",
        "pin": PIN,
    }
    first = api.post(URL, withdrawal, HTTP_IDEMPOTENCY_KEY="k-5")
    second = api.post(URL, withdrawal, HTTP_IDEMPOTENCY_KEY="k-5")

    assert first.status_code == second.status_code == 409
    assert first.json()["code"] == "insufficient_funds"
    assert second.json() == first.json() and second["Idempotent-Replayed"] == "true"
    assert IdempotencyKey.objects.get(key="k-5").response_status == 409
    assert not Transaction.objects.filter(kind="withdrawal").exists()
    assert position(funded_wallet) == (Decimal("100"), Decimal("0"), Decimal("100"))


@pytest.mark.parametrize("amount, pin, status, code", [("abc", PIN, 400, "invalid"), ("1", "0000", 403, "invalid_pin")])
def test_other_outcomes_free_the_key_for_a_retry(api, funded_wallet, amount, pin, status, code):
    withdrawal = {
        "kind": "withdrawal",
        "wallet": str(funded_wallet.pk),
        "currency": "USD",
        "amount": amount,
        "pin": pin,
    }
    refused = api.post(URL, withdrawal, HTTP_IDEMPOTENCY_KEY="k-6")
    assert (refused.status_code, refused.json()["code"]) == (status, code)
    assert not IdempotencyKey.objects.filter(key="k-6").exists()
    assert not Transaction.objects.filter(kind="withdrawal").exists()

    fixed = {**withdrawal, "amount": "1", "pin": PIN}
    retried = api.post(URL, fixed, HTTP_IDEMPOTENCY_KEY="k-6")
    assert retried.status_code == 201, retried.json()
    assert not retried.has_header("Idempotent-Replayed")
    withdrawal_row = Transaction.objects.get(kind="withdrawal")
    assert (retried.json()["id"], retried.json()["status"]) == (str(withdrawal_row.pk), "posted")
    assert IdempotencyKey.objects.get(key="k-6").response_body["id"] == str(withdrawal_row.pk)
    assert position(funded_wallet) == (Decimal("99"), Decimal("0"), Decimal("99"))


def test_keys_are_per_user(api, wallet, client_user):
    mine = api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="shared")
    other_user = UserFactory()
    other = authenticated(other_user)
    other_wallet = make_wallet(owner=other_user)

    theirs = other.post(URL, body(other_wallet), HTTP_IDEMPOTENCY_KEY="shared")

    assert theirs.status_code == 201, theirs.json()
    assert not theirs.has_header("Idempotent-Replayed")  # not the first user's stored answer
    assert theirs.json()["wallet"] == str(other_wallet.pk) and theirs.json()["id"] != mine.json()["id"]
    assert Transaction.objects.count() == 2
    assert set(IdempotencyKey.objects.filter(key="shared").values_list("user_id", "response_body__id")) == {
        (client_user.pk, mine.json()["id"]),
        (other_user.pk, theirs.json()["id"]),
    }


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_key_length_is_checked(api, wallet, key):
    response = api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "Idempotency-Key": [{"code": "invalid", "detail": "Must be 1 to 255 printable ASCII characters."}]
    }
    assert Transaction.objects.count() == 0


def test_expired_keys_start_afresh_and_are_purged(api, wallet, client_user, settings):
    api.post(URL, body(wallet), HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(seconds=1))

    fresh = api.post(URL, body(wallet, "2"), HTTP_IDEMPOTENCY_KEY="old")
    assert fresh.status_code == 201, fresh.json()
    assert fresh.json()["amount"] == "2.00" and not fresh.has_header("Idempotent-Replayed")
    assert Transaction.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(seconds=1))
    assert idempotency_purge_expired() == 1
