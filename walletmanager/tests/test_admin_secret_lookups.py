"""Admin list filters and searches refuse lookups on secrets (SPEC §13): password hashes, PIN hashes,
webhook secrets, TOTP keys, recovery codes and API token digests never come out one character at a
time, for Support or for a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse
from knox.models import AuthToken

from users.models import RecoveryCode, User
from users.tests.factories import StaffFactory, SuperuserFactory
from walletmanager.admin_secrets import lookup_touches_secret
from walletmanager.testing.two_factor import recovery_code, totp_device, verified_staff_login
from walletmanager.webhooks.models import WebhookEndpoint
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

# (changelist, a filter that reaches a secret). The value is a real prefix of the secret (see
# ``secret_prefix``) and, beside it, one that matches nothing: both answers must be the same 400.
SECRET_LOOKUPS = [
    ("users_user", "password__startswith"),
    ("users_user", "password__regex"),
    ("users_user", "wallets__pin__startswith"),
    ("users_user", "auth_token_set__digest__startswith"),
    ("users_user", "auth_token_set__startswith"),
    ("users_user", "webhook_endpoints__secret__startswith"),
    ("wallets_wallet", "pin__startswith"),
    ("wallets_wallet", "owner__password__startswith"),
    ("webhooks_webhookendpoint", "secret__startswith"),
    ("webhooks_webhookendpoint", "owner__password__startswith"),
    ("webhooks_webhookdelivery", "endpoint__secret__startswith"),
    ("users_authenticatordevice", "key__startswith"),
    ("users_authenticatordevice", "user__password__startswith"),
    ("users_recoverycodedevice", "codes__code__startswith"),
    ("knox_authtoken", "digest__startswith"),
    ("knox_authtoken", "token_key__startswith"),
    ("knox_authtoken", "pk__startswith"),
    ("knox_authtoken", "user__password__startswith"),
    ("walletmanager_auditevent", "actor__password__startswith"),
    ("transactions_transaction", "wallet__pin__startswith"),
    ("transactions_transaction", "created_by__password__startswith"),
    ("balances_balance", "wallet__pin__startswith"),
    ("approvals_approvalrequest", "requested_by__password__startswith"),
]


@pytest.fixture
def secrets_everywhere(django_user_model) -> dict[str, str]:
    """One row holding each kind of secret, and the first characters of each."""
    from walletmanager.testing.ledger import make_wallet

    owner = SuperuserFactory()
    wallet = make_wallet(owner=owner)
    endpoint = WebhookEndpoint.objects.create(
        owner=owner, url="https://hooks.example.com/in", events=["*"], secret="whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="
    )
    _, token = AuthToken.objects.create(user=owner)
    recovery_code(owner)
    device = totp_device(owner)
    stored = {
        "password": owner.password,
        "pin": Wallet.objects.get(pk=wallet.pk).pin,
        "secret": endpoint.secret,
        "key": device.key,
        "code": RecoveryCode.objects.filter(device__user=owner).first().code,
        "digest": AuthToken.objects.get(user=owner).digest,
        "token_key": token[:8],
    }
    return {name: value[:6] for name, value in stored.items()}


def secret_prefix(lookup: str, secrets: dict[str, str]) -> str:
    for name, prefix in secrets.items():
        if f"{name}__" in lookup or lookup.startswith(f"{name}__"):
            return prefix
    return secrets["digest"]  # pk and the token relation stand for knox's digest


@pytest.fixture(params=["Support", "superuser"])
def operator(request, client):
    user = SuperuserFactory() if request.param == "superuser" else StaffFactory(groups=["Support"])
    verified_staff_login(client, user)
    return user


@pytest.mark.parametrize(("changelist", "lookup"), SECRET_LOOKUPS)
def test_a_filter_on_a_secret_is_400_and_reveals_nothing(client, operator, secrets_everywhere, changelist, lookup):
    url = reverse(f"admin:{changelist}_changelist")
    (model_admin,) = [
        a for m, a in admin.site._registry.items() if f"{m._meta.app_label}_{m._meta.model_name}" == changelist
    ]
    can_view = model_admin.has_view_permission(_request_for(operator))

    matching = client.get(url, {lookup: secret_prefix(lookup, secrets_everywhere)})
    missing = client.get(url, {lookup: "~~nothing~~"})

    expected = 400 if can_view else 403
    assert (matching.status_code, missing.status_code) == (expected, expected), (matching.status_code, lookup)
    assert matching.content == missing.content  # not one bit of difference between a hit and a miss
    assert b"result" not in matching.content.lower()


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_the_reproduction_support_cannot_read_the_superusers_salt(client, secrets_everywhere):
    verified_staff_login(client, StaffFactory(groups=["Support"]))
    superuser = User.objects.filter(is_superuser=True).first()

    hit = client.get(reverse("admin:users_user_changelist"), {"password__startswith": superuser.password[:12]})
    miss = client.get(reverse("admin:users_user_changelist"), {"password__startswith": "argon2$zzzz"})

    assert (hit.status_code, miss.status_code) == (400, 400)
    assert hit.content == miss.content


def test_ordinary_filters_and_searches_still_work(client, operator, secrets_everywhere):
    superuser = User.objects.filter(is_superuser=True).first()
    url = reverse("admin:users_user_changelist")

    by_email = client.get(url, {"q": superuser.email})
    by_status = client.get(url, {"status__exact": "active"})

    assert by_email.status_code == 200 and superuser.email in by_email.content.decode()
    assert by_status.status_code == 200


@pytest.mark.parametrize("changelist", ["users_user", "users_authenticatordevice", "webhooks_webhookendpoint"])
def test_a_search_never_matches_a_secret(client, secrets_everywhere, changelist):
    verified_staff_login(client, SuperuserFactory())

    for prefix in secrets_everywhere.values():
        response = client.get(reverse(f"admin:{changelist}_changelist"), {"q": prefix})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0, (changelist, prefix)


def test_every_registered_admin_drops_search_fields_that_reach_a_secret():
    """A search field on a secret, added to any admin tomorrow, is dropped: the guard is on every
    ``ModelAdmin`` the operators' site registers, whoever wrote it."""
    from django.contrib.admin import ModelAdmin

    from users.admin_site import StaffAdminSite

    site = StaffAdminSite(name="throwaway")

    class CarelessAdmin(ModelAdmin):
        search_fields = ("email", "password", "=wallets__pin", "^auth_token_set__digest", "first_name")

    site.register(User, CarelessAdmin)

    assert site._registry[User].get_search_fields(_request_for(SuperuserFactory())) == ["email", "first_name"]
    for model, model_admin in admin.site._registry.items():
        assert (
            hasattr(model_admin, "lookup_allowed") and type(model_admin).__mro__[1].__name__ == "SecretLookupsRefused"
        ), model


@pytest.mark.parametrize(
    ("model", "lookup", "touches"),
    [
        (User, "password", True),
        (User, "email__startswith", False),
        (User, "wallets__name__icontains", False),
        (User, "wallets__pin", True),
        (AuthToken, "pk", True),
        (AuthToken, "user__pk", False),
        (User, "auth_token_set", True),
        (User, "auth_token_set__expiry__gt", False),
        (Wallet, "owner__wallets__owner__password__gt", True),
        (Wallet, "id", False),
    ],
)
def test_which_lookups_touch_a_secret(model, lookup, touches):
    assert lookup_touches_secret(model, lookup) is touches
