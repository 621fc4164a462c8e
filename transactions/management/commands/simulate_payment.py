"""``manage.py simulate_payment REFERENCE [--amount A] [--failed] [--url URL]``: act as the payment
provider for a pending deposit — sign a callback with PAYMENT_CALLBACK_SECRET and send it the way
the provider would, so a demo (or an operator testing an integration) exercises the real path."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import CommandError
from django.test import Client

from transactions import deposits
from transactions.models import Transaction
from walletmanager.commands import OperatorCommand
from walletmanager.money import format_amount


class Command(OperatorCommand):
    help = (
        "Send a signed payment-provider callback for a pending deposit: 'succeeded' with the amount asked for "
        "(or --amount), or --failed. Without --url it is handled in this process by the same view the API serves; "
        "with --url (e.g. http://127.0.0.1:8000) it is POSTed to a running server."
    )

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The deposit's reference, e.g. WM-7K3Q-9XBD-2F.")
        parser.add_argument("--amount", help="The amount received (default: the amount asked for).")
        parser.add_argument("--failed", action="store_true", help="Report the payment as failed.")
        parser.add_argument("--provider-id", help="The provider's payment id (default: a new random one).")
        parser.add_argument("--url", help="Base URL of a running server to send the callback to.")

    def run(
        self,
        *args,
        reference: str,
        amount: str | None,
        failed: bool,
        provider_id: str | None,
        url: str | None,
        **options,
    ):
        deposit = Transaction.objects.filter(reference=reference.strip().upper(), kind=Transaction.Kind.DEPOSIT).first()
        if deposit is None:
            raise CommandError(f"No deposit has the reference {reference[:40]!r}.")
        event = {
            "reference": deposit.reference,
            "provider_id": provider_id or f"sim_{secrets.token_hex(8)}",
            "amount": amount
            if amount is not None
            else format_amount(deposit.amount, decimals=deposit.currency.decimals),
            "currency": deposit.currency_id,
            "status": "failed" if failed else "succeeded",
        }
        body = json.dumps(event).encode()
        signature = deposits.payment_signature(body, timestamp=int(time.time()))
        status, answer = self._send(body, signature, url)
        if status != 200:
            detail = answer.get("detail") if isinstance(answer, dict) else answer
            code = answer.get("code", status) if isinstance(answer, dict) else status
            raise CommandError(f"The callback was refused ({code}): {detail}")
        self.stdout.write(
            f"Payment {event['provider_id']} for {deposit.reference}: {event['status']}; the deposit is now "
            f"{answer['status']}{' (a replay: nothing changed)' if answer.get('replayed') else ''}."
        )

    def _send(self, body: bytes, signature: str, url: str | None) -> tuple[int, object]:
        headers = {"Content-Type": "application/json", deposits.SIGNATURE_HEADER: signature}
        if url is None:
            host = next((h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"), "localhost")
            response = Client(HTTP_HOST=host, raise_request_exception=False).post(
                "/api/payments/callback/",
                data=body,
                content_type="application/json",
                secure=True,
                headers={deposits.SIGNATURE_HEADER: signature},
            )
            return response.status_code, _json(response.content)
        request = urllib.request.Request(
            url.rstrip("/") + "/api/payments/callback/", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - an operator-given URL
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())
        except (urllib.error.URLError, OSError) as error:
            raise CommandError(f"Could not reach {url}: {error}") from None


def _json(content: bytes) -> object:
    try:
        return json.loads(content)
    except ValueError:
        return content.decode(errors="replace")[:200]
