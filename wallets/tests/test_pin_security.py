"""Wallet PINs (SPEC §13): keyed hashes, lazy re-keying of old hashes, throttles per user and wallet."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password

from walletmanager.models import AuditEvent
from wallets import services
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN


def with_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def close(api, wallet, pin):
    return api.post(f"/api/wallets/{wallet.pk}/close/", {"pin": pin}, format="json")


@pytest.mark.django_db
def test_the_pin_hash_depends_on_the_server_key(settings, client_user, open_wallet):
    settings.PIN_KEY = "key-one"
    first = open_wallet(client_user)
    settings.PIN_KEY = "key-two"

    assert first.pin.startswith("hmac-sha256$") and DEFAULT_PIN not in first.pin
    assert services.wallet_pin_hash(DEFAULT_PIN) != first.pin  # a copied table without the key tells nothing
    with pytest.raises(services.InvalidPin):
        services.wallet_verify_pin(wallet=first, pin=DEFAULT_PIN)


@pytest.mark.django_db
def test_an_old_password_hashed_pin_is_re_keyed_on_its_next_right_entry(client_user, open_wallet):
    wallet = open_wallet(client_user)
    legacy = make_password("2468")
    Wallet.objects.filter(pk=wallet.pk).update(pin=legacy)
    wallet.refresh_from_db()

    with pytest.raises(services.InvalidPin):
        services.wallet_verify_pin(wallet=wallet, pin="1357")
    still_legacy = Wallet.objects.get(pk=wallet.pk).pin
    services.wallet_verify_pin(wallet=wallet, pin="2468")

    assert still_legacy == legacy
    assert Wallet.objects.get(pk=wallet.pk).pin == services.wallet_pin_hash("2468")
    services.wallet_verify_pin(wallet=Wallet.objects.get(pk=wallet.pk), pin="2468")  # and checks the new way


@pytest.mark.django_db
def test_pin_attempts_are_throttled_per_wallet(settings, client_api, wallet):
    with_rates(settings, pin="100/min", pin_wallet="3/min")

    codes = [close(client_api, wallet, "0000").status_code for _ in range(4)]

    assert codes == [403, 403, 403, 429]
    assert Wallet.objects.get(pk=wallet.pk).status == "active"


@pytest.mark.django_db
def test_pin_attempts_are_throttled_per_user_across_wallets(settings, client_user, client_api, open_wallet):
    with_rates(settings, pin="3/min", pin_wallet="100/min")
    first, second = open_wallet(client_user), open_wallet(client_user, name="Second")

    codes = [
        close(client_api, first, "0000").status_code,
        close(client_api, first, "0000").status_code,
        close(client_api, second, "0000").status_code,
        close(client_api, second, "0000").status_code,
    ]

    assert codes == [403, 403, 403, 429]
    assert close(client_api, second, "0000").data["code"] == "throttled"


@pytest.mark.django_db
def test_withdrawals_are_throttled_per_wallet_and_deposits_are_not(settings, client_api, wallet):
    with_rates(settings, pin="100/min", pin_wallet="2/min")
    withdrawal = {"kind": "withdrawal", "wallet": str(wallet.pk), "currency": "USD", "amount": "1", "pin": "0000"}
    deposit = {"kind": "deposit", "wallet": str(wallet.pk), "currency": "USD", "amount": "1"}

    codes = [client_api.post("/api/transactions/", withdrawal, format="json").status_code for _ in range(3)]
    deposits = [client_api.post("/api/transactions/", deposit, format="json").status_code for _ in range(3)]

    assert codes == [403, 403, 429]
    assert 429 not in deposits
    assert not AuditEvent.objects.filter(action="wallet.pin_locked").exists()
