"""Deliveries are signed so that the ``standardwebhooks`` library verifies them (SPEC §15)."""

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from walletmanager.webhooks.signing import secret_generate, signature_headers

BODY = b'{"id":"evt_1","type":"transaction.posted","created_at":"2026-01-05T10:00:00Z","data":{"amount":"12.50"}}'


def test_a_generated_secret_is_whsec_and_32_random_bytes():
    secret = secret_generate()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert secret_generate() != secret


def test_the_standardwebhooks_library_accepts_what_we_sign():
    secret = secret_generate()
    headers = signature_headers(secret=secret, message_id="evt_1", timestamp=int(time.time()), body=BODY)

    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers)["data"] == {"amount": "12.50"}


def test_a_changed_body_is_refused():
    secret = secret_generate()
    headers = signature_headers(secret=secret, message_id="evt_1", timestamp=int(time.time()), body=BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"12.50", b"92.50"), headers)


def test_another_secret_is_refused():
    headers = signature_headers(secret=secret_generate(), message_id="evt_1", timestamp=int(time.time()), body=BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(BODY, headers)


def test_a_changed_id_or_timestamp_is_refused():
    secret = secret_generate()
    now = int(time.time())
    headers = signature_headers(secret=secret, message_id="evt_1", timestamp=now, body=BODY)

    for changed in ({"webhook-id": "evt_2"}, {"webhook-timestamp": str(now - 1)}):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY, {**headers, **changed})


def test_known_answer_of_the_reference_libraries():
    """The vector every Standard Webhooks reference library tests its ``sign`` against (the
    specification's own example shows a signature without its secret)."""
    headers = signature_headers(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=b'{"test": 2432232314}',
    )

    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!"])
def test_a_malformed_secret_is_a_value_error(secret):
    with pytest.raises(ValueError):
        signature_headers(secret=secret, message_id="evt_1", timestamp=1, body=BODY)
