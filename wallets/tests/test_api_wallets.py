import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from balances.tests.factories import WalletWithBalanceFactory
from users.tests.factories import StaffFactory, UserFactory
from walletmanager.approvals.models import ApprovalRequest
from walletmanager.approvals.services import approval_approve
from walletmanager.models import AuditEvent
from walletmanager.testing.clients import authenticated
from walletmanager.testing.ledger import place_hold, post_adjustment
from wallets.models import Wallet
from wallets.tests.factories import DEFAULT_PIN

pytestmark = pytest.mark.django_db

LIST = "/api/wallets/"


def detail(wallet, suffix=""):
    return f"/api/wallets/{wallet.pk}/{suffix}"


# --- create ---------------------------------------------------------------------------------------


def test_client_opens_a_wallet(client_api, client_user):
    response = client_api.post(
        LIST, {"name": "Holidays", "balance_kind": "regular", "currency": "EUR", "pin": "2468"}, format="json"
    )

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["owner"] == client_user.pk and body["kind"] == "debit" and body["status"] == "active"
    assert body["credit_limit"] == "0.00"
    assert body["balance"] == {
        "kind": "regular",
        "currency": "EUR",
        "status": "active",
        "assets": [{"currency": "EUR", "posted": "0.00", "held": "0.00", "available": "0.00"}],
    }
    assert "pin" not in body
    assert Wallet.objects.get(pk=body["id"]).owner == client_user


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "balance_kind": "regular", "pin": "1234"}, "currency"),
        ({"name": "x", "balance_kind": "regular", "currency": "DOGE", "pin": "1234"}, "currency"),
        ({"name": "x", "balance_kind": "multi", "currency": "USD", "pin": "1234"}, "currency"),
        ({"name": "x", "balance_kind": "regular", "currency": "USD", "pin": "12"}, "pin"),
        ({"name": "x", "balance_kind": "regular", "currency": "USD", "pin": 12.5}, "pin"),
        ({"name": "x", "balance_kind": "regular", "currency": "USD", "pin": "12345a"}, "pin"),
        ({"name": "", "balance_kind": "regular", "currency": "USD", "pin": "1234"}, "name"),
        ({"name": "x", "balance_kind": "gold", "currency": "USD", "pin": "1234"}, "balance_kind"),
        ({"name": "x", "balance_kind": "regular", "currency": "USD", "pin": "1234", "colour": "red"}, "colour"),
        ({"name": ["x"], "balance_kind": "regular", "currency": "USD", "pin": "1234"}, "name"),
    ],
)
def test_invalid_create_is_400_naming_the_field(client_api, client_user, payload, field):
    response = client_api.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"], response.json()
    assert not Wallet.objects.filter(owner=client_user).exists()


@pytest.mark.parametrize("body", ["[]", '"wallet"', "{", '{"name": NaN}', "1e400"])
def test_malformed_bodies_are_400_not_500(client_api, body):
    response = client_api.post(LIST, body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "extra",
    [{"kind": "credit"}, {"credit_limit": "10"}, {"owner": 999999}],
)
def test_clients_cannot_use_staff_fields(client_api, client_user, extra):
    payload = {"name": "x", "balance_kind": "regular", "currency": "USD", "pin": "1234", **extra}

    response = client_api.post(LIST, payload, format="json")

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Wallet.objects.filter(owner=client_user).exists()


def test_finance_opens_a_credit_wallet_whose_limit_a_second_operator_approves(staff_api, finance_user, client_user):
    payload = {
        "name": "Credit line",
        "kind": "credit",
        "balance_kind": "regular",
        "currency": "USD",
        "pin": "1234",
        "owner": client_user.pk,
        "credit_limit": "500.25",
        "reason": "Salary domiciled here",
    }
    assert staff_api.post(LIST, payload, format="json").status_code == 403  # Support

    response = authenticated(finance_user).post(LIST, payload, format="json")

    assert response.status_code == 201, response.data
    body = response.json()
    assert body["owner"] == client_user.pk and body["kind"] == "credit" and body["credit_limit"] == "0.00"
    request = ApprovalRequest.objects.get(action="set_credit_limit")
    assert (request.reason, request.payload["credit_limit"]) == ("Salary domiciled here", "500.25")
    approve_request(request)
    shown = authenticated(finance_user).get(detail(Wallet.objects.get(pk=body["id"]))).json()
    assert shown["credit_limit"] == "500.25"
    assert shown["balance"]["assets"] == [{"currency": "USD", "posted": "0.00", "held": "0.00", "available": "500.25"}]


def test_staff_opening_for_an_unknown_owner_is_404(staff_api):
    payload = {"name": "x", "balance_kind": "regular", "currency": "USD", "pin": "1234", "owner": 987654321}
    assert staff_api.post(LIST, payload, format="json").status_code == 404


@override_settings(MAX_WALLETS_PER_USER=2)
def test_wallet_limit_is_409(client_api):
    payload = {"name": "x", "balance_kind": "multi", "pin": "1234"}
    assert client_api.post(LIST, payload, format="json").status_code == 201
    assert client_api.post(LIST, payload, format="json").status_code == 201

    response = client_api.post(LIST, payload, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "wallet_limit_reached"


# --- read -----------------------------------------------------------------------------------------


def test_clients_list_their_own_wallets_only_and_never_system_wallets(
    client_api, staff_api, client_user, other_client, open_wallet
):
    mine = open_wallet(client_user)
    theirs = open_wallet(other_client)

    mine_listed = {row["id"] for row in client_api.get(LIST).json()["results"]}
    staff_listed = {row["id"] for row in staff_api.get(LIST, {"page_size": 200}).json()["results"]}

    assert mine_listed == {str(mine.pk)}
    assert staff_listed == {str(mine.pk), str(theirs.pk)}  # every client wallet, no system wallet
    assert not Wallet.objects.filter(pk__in=staff_listed, system_role__isnull=False).exists()


def test_staff_filter_by_owner_status_and_kind(staff_api, finance_user, client_user, other_client, open_wallet):
    mine = open_wallet(client_user)
    credit = open_wallet(other_client, actor=finance_user, kind="credit", credit_limit=Decimal(10))
    blocked = open_wallet(other_client)
    staff_api.post(detail(blocked, "block/"), {"reason": "x"}, format="json")

    def ids(**params):
        return {row["id"] for row in staff_api.get(LIST, params).json()["results"]}

    assert ids(owner=client_user.pk) == {str(mine.pk)}
    assert ids(kind="credit") == {str(credit.pk)}
    assert ids(status="blocked") == {str(blocked.pk)}
    assert ids(owner=other_client.pk, status="active") == {str(credit.pk)}
    assert staff_api.get(LIST, {"status": "sleeping"}).status_code == 400
    assert staff_api.get(LIST, {"owner": "abc"}).status_code == 400


def test_wallet_detail_shows_formatted_amounts(client_api, client_user, open_wallet):
    wallet = open_wallet(client_user, balance_kind="multi")

    post_adjustment(wallet, "1.5", "BTC")
    place_hold(wallet, "0.25", "BTC")

    body = client_api.get(detail(wallet)).json()

    assert body["balance"]["currency"] is None
    assert body["balance"]["assets"] == [
        {"currency": "BTC", "posted": "1.50000000", "held": "0.25000000", "available": "1.25000000"}
    ]


def test_system_wallets_are_404_by_id(client_api, staff_api, system_wallet):
    assert client_api.get(detail(system_wallet)).status_code == 404
    assert staff_api.get(detail(system_wallet)).status_code == 404


@pytest.mark.parametrize("wallet_id", ["not-a-uuid", str(uuid.uuid4()), "1"])
def test_unknown_or_malformed_ids_are_404(client_api, wallet_id):
    response = client_api.get(f"/api/wallets/{wallet_id}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- another client's wallet is 404 everywhere; staff-only is 403; anonymous is 401 -------------

ENDPOINTS = [
    ("get", "", None),
    ("patch", "", {"name": "mine now"}),
    ("post", "close/", {"pin": DEFAULT_PIN}),
    ("post", "block/", {"reason": "x"}),
    ("post", "unblock/", {"reason": "x"}),
    ("post", "freeze/", {"reason": "x"}),
    ("post", "unfreeze/", {"reason": "x"}),
]
STAFF_ONLY = ["block/", "unblock/", "freeze/", "unfreeze/"]


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
def test_another_clients_wallet_is_404_or_403_for_staff_actions(other_api, wallet, method, suffix, body):
    response = getattr(other_api, method)(detail(wallet, suffix), body, format="json")

    if suffix in STAFF_ONLY:
        assert response.status_code == 403
    else:
        assert response.status_code == 404
    wallet.refresh_from_db()
    assert (wallet.status, wallet.name, wallet.balance.status) == ("active", "Main", "active")


@pytest.mark.parametrize("suffix", STAFF_ONLY)
def test_staff_actions_are_403_with_a_code_for_the_owner(client_api, wallet, suffix):
    response = client_api.post(detail(wallet, suffix), {"reason": "x"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(("method", "suffix", "body"), [*ENDPOINTS, ("get", None, None), ("post", None, {})])
def test_anonymous_is_401(api_client, wallet, method, suffix, body):
    url = LIST if suffix is None else detail(wallet, suffix)
    response = getattr(api_client, method)(url, body, format="json")
    assert response.status_code == 401


# --- update and commands --------------------------------------------------------------------------


def test_owner_renames_but_cannot_change_the_credit_limit(client_api, credit_wallet):
    response = client_api.patch(detail(credit_wallet), {"name": "Renamed", "credit_limit": "1000"}, format="json")

    assert response.status_code == 403
    credit_wallet.refresh_from_db()
    assert (credit_wallet.name, credit_wallet.credit_limit) == ("Main", Decimal(100))  # nothing changed

    response = client_api.patch(detail(credit_wallet), {"name": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Renamed"


def test_finance_raises_the_credit_limit_through_a_second_operator(staff_api, finance_user, credit_wallet):
    assert staff_api.patch(detail(credit_wallet), {"credit_limit": 250.5}, format="json").status_code == 403  # Support
    finance = authenticated(finance_user)

    response = finance.patch(detail(credit_wallet), {"credit_limit": 250.5, "reason": "Income proof"}, format="json")

    assert response.status_code == 202, response.data
    assert (response.json()["action"], response.json()["payload"]["credit_limit"]) == ("set_credit_limit", "250.5")
    assert finance.get(detail(credit_wallet)).json()["credit_limit"] == "100.00"
    approve_request(ApprovalRequest.objects.get(pk=response.json()["id"]))
    shown = finance.get(detail(credit_wallet)).json()
    assert shown["credit_limit"] == "250.50" and shown["balance"]["assets"][0]["available"] == "250.50"


def test_owner_closes_an_empty_wallet_with_the_pin(client_api, wallet):
    wrong = client_api.post(detail(wallet, "close/"), {"pin": "0000"}, format="json")
    assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_pin"

    response = client_api.post(detail(wallet, "close/"), {"pin": DEFAULT_PIN}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "closed"


def test_closing_a_wallet_with_money_is_409(staff_api, wallet):
    post_adjustment(wallet, "3.00")

    response = staff_api.post(detail(wallet, "close/"), {}, format="json")

    assert response.status_code == 409 and response.json()["code"] == "wallet_not_empty"


def test_pin_lockout_through_the_api(client_api, wallet):
    for _ in range(4):
        assert client_api.post(detail(wallet, "close/"), {"pin": "0000"}, format="json").json()["code"] == "invalid_pin"
    assert client_api.post(detail(wallet, "close/"), {"pin": "0000"}, format="json").json()["code"] == "pin_locked"

    response = client_api.post(detail(wallet, "close/"), {"pin": DEFAULT_PIN}, format="json")

    assert response.status_code == 403 and response.json()["code"] == "pin_locked"
    wallet.refresh_from_db()
    assert wallet.status == "active"
    # The lock left its audit event (close verifies the PIN outside its transaction).
    assert AuditEvent.objects.filter(action="wallet.pin_locked", target_id=str(wallet.pk)).count() == 1


def test_block_unblock_freeze_unfreeze_through_the_api(staff_api, staff_user, wallet):
    refused = staff_api.post(detail(wallet, "block/"), {}, format="json").json()
    assert refused["fields"] == {"reason": [{"code": "required", "detail": "This field is required."}]}
    blank = staff_api.post(detail(wallet, "freeze/"), {"reason": "  "}, format="json").json()
    assert blank["fields"] == {"reason": [{"code": "blank", "detail": "This field may not be blank."}]}

    blocked = staff_api.post(detail(wallet, "block/"), {"reason": "fraud"}, format="json").json()
    assert (blocked["status"], blocked["block_reason"]) == ("blocked", "fraud")
    frozen = staff_api.post(detail(wallet, "freeze/"), {"reason": "AML"}, format="json").json()
    assert (frozen["balance"]["status"], frozen["balance"]["freeze_reason"]) == ("frozen", "AML")
    assert staff_api.post(detail(wallet, "unfreeze/"), {}, format="json").json()["balance"]["status"] == "active"
    assert staff_api.post(detail(wallet, "unblock/"), {}, format="json").json()["status"] == "active"

    actions = list(AuditEvent.objects.filter(actor=staff_user).order_by("id").values_list("action", "reason"))
    assert actions == [
        ("wallet.blocked", "fraud"),
        ("balance.frozen", "AML"),
        ("balance.unfrozen", ""),
        ("wallet.unblocked", ""),
    ]


def test_refused_transitions_are_409_with_their_code(staff_api, wallet):
    staff_api.post(detail(wallet, "close/"), {}, format="json")

    for suffix in ("block/", "unblock/", "freeze/"):
        response = staff_api.post(detail(wallet, suffix), {"reason": "x"}, format="json")
        assert response.status_code == 409 and response.json()["code"] == "wallet_closed"


# --- query counts ---------------------------------------------------------------------------------


def make_wallets(owner, count):
    for _ in range(count):
        WalletWithBalanceFactory(owner=owner)  # its balance opened with its asset, as wallet_create does


def test_wallet_list_runs_the_same_queries_for_2_and_20_wallets(django_assert_max_num_queries, staff_api):
    owner = UserFactory()
    api = authenticated(owner)
    counts = []
    for target, add in ((2, 2), (20, 18)):
        make_wallets(owner, add)
        for client in (api, staff_api):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(LIST, {"page_size": 50})
            assert len(response.json()["results"]) == target
            counts.append(len(queries))

    assert counts[0] == counts[2] and counts[1] == counts[3]
    # count, the wallets with balance and currency, their assets, the assets' currencies
    with django_assert_max_num_queries(4):
        api.get(LIST, {"page_size": 50})


# --- hostile input never makes a 500 --------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"owner": "1e400"},
        {"owner": "-1"},
        {"owner": "9" * 40},
        {"kind": "x" * 10000},
        {"page_size": "-5"},
        {"page_size": "null"},
        {"page_size": "0"},
        {"status": "'; drop table"},
    ],
)
def test_hostile_list_parameters_are_400_naming_the_parameter(staff_api, params):
    response = staff_api.get(LIST, params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == list(params)


def test_a_page_that_is_no_page_is_404(staff_api):
    response = staff_api.get(LIST, {"page": "abc"})

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Invalid page."}


def test_empty_filters_filter_nothing_and_a_big_page_size_gives_at_most_200_rows(staff_api):
    """What the browsable API's filter form sends: every field, most of them empty."""
    wallets = {str(WalletWithBalanceFactory().pk) for _ in range(3)}

    response = staff_api.get(LIST, {"owner": "", "status": "", "kind": "", "page_size": "100000"})

    assert response.status_code == 200
    assert wallets <= {row["id"] for row in response.json()["results"]}
    assert response.json()["count"] == len(response.json()["results"]) <= 200


@pytest.mark.parametrize(
    "body",
    [
        {"credit_limit": "1e400"},
        {"credit_limit": "NaN"},
        {"credit_limit": -1},
        {"credit_limit": None},
        {"credit_limit": [1]},
        {"credit_limit": "0.001"},
        {"name": "x" * 1000},
        {"name": None},
        {"owner": 1},
    ],
)
def test_hostile_patch_bodies_are_400_and_change_nothing(finance_user, credit_wallet, body):
    response = authenticated(finance_user).patch(detail(credit_wallet), body, format="json")

    assert response.status_code == 400
    credit_wallet.refresh_from_db()
    assert (credit_wallet.name, credit_wallet.credit_limit) == ("Main", Decimal(100))


@pytest.mark.parametrize("field", ["name", "currency", "pin"])
def test_nul_characters_are_400_not_a_database_error(client_api, field):
    payload = {"name": "x", "balance_kind": "regular", "currency": "USD", "pin": "1234", field: "12\x0034"}
    assert client_api.post(LIST, payload, format="json").status_code == 400


def approve_request(request: ApprovalRequest) -> None:
    """A second Finance operator approves ``request``."""
    approval_approve(actor=StaffFactory(groups=["Finance"]), request=request)


def test_multi_currency_assets_are_plain_decimals_at_each_currencys_decimals(
    client_api, staff_api, client_user, open_wallet
):
    """Issue 13: TON and ETH assets of a multi-currency wallet read "held": "0E-9" / "0E-18"."""
    wallet = open_wallet(client_user, balance_kind="multi")
    post_adjustment(wallet, "12.5", "TON")
    post_adjustment(wallet, "0.000000000000000001", "ETH")
    post_adjustment(wallet, "10500", "USD")

    for api in (client_api, staff_api):
        for body in (api.get(detail(wallet)).json(), api.get(LIST).json()["results"][0]):
            assets = {asset["currency"]: asset for asset in body["balance"]["assets"]}
            assert assets["TON"] == {
                "currency": "TON",
                "posted": "12.500000000",
                "held": "0.000000000",
                "available": "12.500000000",
            }
            assert assets["ETH"] == {
                "currency": "ETH",
                "posted": "0.000000000000000001",
                "held": "0.000000000000000000",
                "available": "0.000000000000000001",
            }
            assert assets["USD"] == {"currency": "USD", "posted": "10500.00", "held": "0.00", "available": "10500.00"}
        as_of = {asset["currency"]: asset for asset in api.get(detail(wallet, "balance/")).json()["assets"]}
        assert (as_of["TON"]["held"], as_of["ETH"]["held"]) == ("0.000000000", "0.000000000000000000")
