"""Running schemathesis in-process against the app: the WSGI application, the checks the suite runs
(shared by the suite-wide fuzz and the statements fuzz), a real token, and aiming a generated case at
a real wallet. Fixture: ``wsgi_keeps_the_test_connection`` (``walletmanager/testing/fixtures.py``)."""

from __future__ import annotations

from django.core.wsgi import get_wsgi_application
from knox.models import AuthToken
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

APP = get_wsgi_application()
CONFIG = {
    # Every check but positive_data_acceptance ("a schema-valid request is not refused"): no schema can
    # say which currency codes exist, that a single-currency balance needs a currency, or that only a
    # credit wallet takes a credit limit, so such requests are rightly 400 although schema-valid.
    "checks": {"positive_data_acceptance": {"enabled": False}},
    # Like most HTTP APIs this one ignores query parameters it does not know (a cache-buster, the
    # browsable API's `format`): schemathesis need not send unknown ones as "invalid" input.
    "generation": {"allow-extra-parameters": False},
}


def token_header(user) -> dict[str, str]:
    _, token = AuthToken.objects.create(user)
    return {"Authorization": f"Token {token}"}


def made_invalid(case, location: ParameterLocation) -> bool:
    """Whether schemathesis made this part of the case invalid on purpose: it must stay as generated,
    or the negative-data check would see a valid request "accepted"."""
    component = case.meta.components.get(location) if case.meta is not None else None
    return component is not None and component.mode is GenerationMode.NEGATIVE


def aim_path_at(case, wallet) -> None:
    """The case's ``{id}`` names ``wallet`` (unless the generated id is the invalid part of the case)."""
    if not made_invalid(case, ParameterLocation.PATH):
        case.path_parameters["id"] = str(wallet.pk)
