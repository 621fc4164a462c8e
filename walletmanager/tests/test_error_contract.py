"""One error contract (STYLE "One error contract", docs/api.md): one ErrorCode enum, one status per
code, every operation's error responses in the schema, JSON-only bodies."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from users.tests.factories import UserFactory
from walletmanager.error_codes import ErrorCode
from walletmanager.exceptions import Conflict, DomainError
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def every_domain_error() -> list[type[DomainError]]:
    for config in apps.get_app_configs():
        try:
            importlib.import_module(f"{config.name}.exceptions")
        except ModuleNotFoundError:
            pass
    found, queue = [], [DomainError]
    while queue:
        cls = queue.pop()
        found.append(cls)
        queue.extend(cls.__subclasses__())
    return found


def test_every_domain_error_names_a_code_whose_status_it_answers_with():
    errors = every_domain_error()

    assert len(errors) > 30
    for error in errors:
        assert isinstance(error.code, ErrorCode), error
        assert error.status_code == error.code.status, error
    statuses = {}
    for error in errors:
        statuses.setdefault(error.code, set()).add(error.status_code)
    assert {code: found for code, found in statuses.items() if len(found) > 1} == {}
    assert ErrorCode.USER_BLOCKED.status == 409 and ErrorCode.ACCOUNT_BLOCKED.status == 403
    assert ErrorCode.IDEMPOTENCY_KEY_REUSED.status == 422


def test_a_code_outside_the_enum_cannot_be_raised():
    with pytest.raises(ValueError):
        type("Invented", (Conflict,), {"code": "invented_code"})
    with pytest.raises(ValueError):
        Conflict("no", code="invented_code")
    # An overriding code brings its own status along.
    assert Conflict("gone", code=ErrorCode.NOT_FOUND).status_code == 404


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        if path == "/api/health/":  # no database, no authentication: neither can fail
            assert not {"401", "503"} & set(responses)
            continue
        assert "503" in responses, (path, method)
        if any(operation.get("security", [{}])):  # it takes credentials: a bad token is 401
            assert "401" in responses, (path, method)
        if "{" in path:
            assert "404" in responses, (path, method)
        if method in ("post", "patch", "put", "delete"):
            assert {"409", "415"} <= set(responses), (path, method)
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"] == {"application/json": {"schema": error_ref}}, (path, method, status)
        assert responses["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "429" in schema["paths"]["/api/auth/login/"]["post"]["responses"]
    assert "429" in schema["paths"]["/api/transactions/"]["post"]["responses"]
    assert "422" in schema["paths"]["/api/transactions/"]["post"]["responses"]
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail"]
    enum = schema["components"]["schemas"]["ErrorCodeEnum"]["enum"]
    assert enum == [code.value for code in ErrorCode]


def test_request_bodies_are_json_only_and_strict_ones_refuse_unknown_fields(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], (path, method)
    components = schema["components"]["schemas"]
    create = components["TransactionCreateRequest"]
    assert create["discriminator"]["propertyName"] == "kind"
    for kind, ref in create["discriminator"]["mapping"].items():
        body = components[ref.rsplit("/", 1)[1]]
        assert body["additionalProperties"] is False
        assert "kind" in body["required"]
        kind_schema = body["properties"]["kind"]
        if "$ref" in kind_schema:
            kind_schema = components[kind_schema["$ref"].rsplit("/", 1)[1]]
        assert kind_schema["enum"] == [kind]
    assert components["AdjustmentInputRequest"]["required"] == [
        "amount",
        "currency",
        "direction",
        "kind",
        "reason",
        "wallet",
    ]
    assert "reason" in components["WalletRequiredReasonInputRequest"]["required"]
    assert "reason" in components["RequiredReasonInputRequest"]["required"]


def test_a_transaction_is_documented_as_a_client_or_a_staff_member_gets_it(schema):
    components = schema["components"]["schemas"]
    retrieve = schema["paths"]["/api/transactions/{id}/"]["get"]
    assert retrieve["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert components["TransactionAsSeen"] == {
        "anyOf": [{"$ref": "#/components/schemas/Transaction"}, {"$ref": "#/components/schemas/TransactionDetail"}]
    }
    assert "entries" not in components["Transaction"]["properties"]
    assert "entries" in components["TransactionDetail"]["required"]
    for name in ("kind", "status"):
        reference = {"$ref": f"#/components/schemas/Transaction{name.title()}Enum"}
        assert components["Transaction"]["properties"][name]["allOf"] == [reference]
    owner = next(p for p in schema["paths"]["/api/wallets/"]["get"]["parameters"] if p["name"] == "owner")
    assert owner["schema"]["type"] == "integer"


def test_the_client_documentation_lists_every_code_with_its_status():
    text = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, flags=re.MULTILINE))

    assert documented == {code.value: str(code.status) for code in ErrorCode}


def test_the_browsable_api_offers_a_json_form_and_posts_it_as_json():
    """The browsable API's raw-content form sends its text with the media type chosen in the form
    (rest_framework/js/ajax-form.js); JSON is the only one offered, and it works under CSRF."""
    owner = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    page = browser.get("/api/wallets/", HTTP_ACCEPT="text/html")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_content_type"' in html and 'value="application/json"' in html
    assert "multipart/form-data" not in html and "application/x-www-form-urlencoded" not in html
    created = browser.post(
        "/api/wallets/",
        json.dumps({"name": "From the browser", "balance_kind": "regular", "currency": "USD", "pin": "1357"}),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert created.status_code == 201, created.content
    assert Wallet.objects.get(owner=owner).name == "From the browser"
