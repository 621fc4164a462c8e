"""The admin header's search box (SPEC §8): one box for an email, a wallet address, a transaction id or
a wallet id. An exact match jumps to the object; anything else lists the clients and wallets that
start with what was typed (at most ``SEARCH_ROWS`` of each). The exact lookups use the unique
indexes; an operator finds only what their permissions let them view."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from transactions.models import Transaction
from users.models import User
from wallets.models import Wallet

SEARCH_ROWS = 20


@dataclass(frozen=True)
class SearchHit:
    kind: str
    label: str
    detail: str
    url: str
    exact: bool


def _user_hit(user: User, *, exact: bool) -> SearchHit:
    return SearchHit("Client" if user.role == User.Role.CLIENT else "Operator", user.email,
                     f"{user.get_full_name()} · {user.get_status_display()}",
                     reverse("admin:users_user_change", args=[user.pk]), exact)


def _wallet_hit(wallet: Wallet, *, exact: bool) -> SearchHit:
    return SearchHit("Wallet", wallet.address, f"{wallet.name} · {wallet.owner.email} · {wallet.get_status_display()}",
                     reverse("admin:wallets_wallet_change", args=[wallet.pk]), exact)


def operator_search(*, term: str, user: Any) -> list[SearchHit]:
    """What ``term`` names, exact matches first."""
    term = term.strip()[:254]
    if not term:
        return []
    may_see_users = user.has_perm("users.view_user")
    may_see_wallets = user.has_perm("wallets.view_wallet")
    hits: list[SearchHit] = []
    try:
        pk = uuid.UUID(term)
    except ValueError:
        pk = None
    if pk is not None:
        if user.has_perm("transactions.view_transaction"):
            transaction = Transaction.objects.filter(pk=pk).select_related("wallet__owner").first()
            if transaction is not None:
                hits.append(SearchHit(
                    "Transaction", str(transaction.pk),
                    f"{transaction.get_kind_display()} · {transaction.get_status_display()} · {transaction.wallet.owner.email}",
                    reverse("admin:transactions_transaction_change", args=[transaction.pk]), True,
                ))
        if may_see_wallets:
            hits += [_wallet_hit(wallet, exact=True) for wallet in Wallet.objects.filter(pk=pk).select_related("owner")]
        return hits
    if may_see_users:
        email = term.lower()
        exact = User.objects.filter(email=email).first()
        if exact is not None:
            hits.append(_user_hit(exact, exact=True))
        hits += [
            _user_hit(found, exact=False)
            for found in User.objects.filter(email__startswith=email).exclude(email=email).order_by("email")[:SEARCH_ROWS]
        ]
    if may_see_wallets and "@" not in term:
        address = term.upper()
        wallets = Wallet.objects.filter(address__startswith=address).select_related("owner").order_by("address")
        hits += [_wallet_hit(wallet, exact=wallet.address == address) for wallet in wallets[:SEARCH_ROWS]]
    return sorted(hits, key=lambda hit: not hit.exact)
