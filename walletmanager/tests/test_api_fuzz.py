"""SPEC §11: fuzz the OpenAPI schema with schemathesis; no input ever produces a 5xx, and the schema
tells the truth about every answer.

The schema is the one the app serves at ``/api/schema/``; every operation is called in-process through
the Django WSGI application with inputs generated from it (valid and invalid ones), as a client with a
funded wallet and as a Finance operator, each with a real knox token. Every schemathesis check runs
(see CONFIG for the one left out and why): no 5xx, every status code documented, content types and
headers as documented, every body matching its schema, schema-violating input refused (4xx), unsupported
methods 405. The database rolls back after each operation.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from users.tests.factories import StaffFactory, UserFactory
from walletmanager.testing.fuzz import APP, CONFIG, aim_path_at, made_invalid, token_header
from walletmanager.testing.ledger import deposit, make_wallet

pytestmark = pytest.mark.usefixtures("wsgi_keeps_the_test_connection")


# The client run does every phase: the schema's examples, the coverage phase (deterministic boundary and
# type-violating values for every parameter and body field, ~1 500 requests, most of the run time) and a
# few random examples per operation.
schema = schemathesis.openapi.from_wsgi("/api/schema/", APP, config=schemathesis.Config.from_dict(CONFIG))
# Staff see everyone's objects and may call the operator actions: fuzz the operations where a staff caller
# takes other code paths than a client (auth endpoints, the profile and reference lists are the same),
# without the coverage phase the client run already did, to stay within the time budget.
staff_schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", APP, config=schemathesis.Config.from_dict({**CONFIG, "phases": {"coverage": {"enabled": False}}})
).include(path_regex=r"^/api/(wallets|transactions|users)/")


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,  # random examples per operation (the fuzzing phase)
        deadline=None,
        derandomize=True,  # the same requests on every run
        database=None,
        suppress_health_check=list(HealthCheck),
    )


TURNS = itertools.count()


@pytest.fixture
def funded_client(db):
    """A client's USD wallet holding 500.00, and the client's token header."""
    owner = UserFactory()
    wallet = make_wallet(owner=owner)
    deposit(wallet, "500")
    return wallet, token_header(owner)


def aim_every_other_case_at(case, wallet, turn: int) -> None:
    """Generated ids are random, so nearly every call would stop at a 404 before any business rule.
    Every other case (deterministically) names the client's real wallet instead, in the path of the
    wallet operations and in the ``wallet`` field of a transaction body, so that a case whose other
    fields pass validation reaches the services and the ledger rather than a 404."""
    if turn % 2:
        return
    if "id" in (case.path_parameters or {}) and case.operation.path.startswith("/api/wallets/"):
        aim_path_at(case, wallet)
    if (
        case.operation.path == "/api/transactions/"
        and isinstance(case.body, dict)
        and "wallet" in case.body
        and not made_invalid(case, ParameterLocation.BODY)
    ):
        case.body["wallet"] = str(wallet.pk)


@pytest.fixture
def staff_headers(db):
    return token_header(StaffFactory(groups=["Finance"]))


@pytest.mark.django_db
@schema.parametrize()
@fuzz_settings(max_examples=5)
def test_no_input_makes_a_server_error_for_a_client(case, funded_client):
    wallet, headers = funded_client
    aim_every_other_case_at(case, wallet, next(TURNS))
    case.call_and_validate(headers=headers)


@pytest.mark.django_db
@staff_schema.parametrize()
@fuzz_settings(max_examples=10)
def test_no_input_makes_a_server_error_for_staff(case, staff_headers):
    case.call_and_validate(headers=staff_headers)
