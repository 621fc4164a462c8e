"""The stored fingerprint of an idempotent request is keyed (SPEC §13): the body may carry a PIN."""

import hashlib
import json

import pytest

from transactions.idempotency import fingerprint


def test_the_fingerprint_is_keyed_and_gives_no_pin_away(settings):
    body = {"kind": "withdrawal", "wallet": "w", "currency": "USD", "amount": "1", "pin": "2468"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    settings.PIN_KEY = "first-key"
    first = fingerprint(body)
    settings.PIN_KEY = "second-key"

    assert first != hashlib.sha256(canonical.encode()).hexdigest()  # not an unkeyed hash anyone can recompute
    assert fingerprint(body) != first
    settings.PIN_KEY = "first-key"
    assert fingerprint(dict(reversed(body.items()))) == first  # still canonical: same body, same fingerprint


@pytest.mark.parametrize("pin", ["2468", "2469"])
def test_bodies_that_differ_only_in_the_pin_have_different_fingerprints(pin):
    body = {"kind": "withdrawal", "pin": "2468"}
    assert (fingerprint({**body, "pin": pin}) == fingerprint(body)) == (pin == "2468")
