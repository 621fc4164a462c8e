"""The admin header's search box (SPEC §8): one box for an email, a wallet address, a transaction id or
a wallet id. An exact match jumps to the object; anything else lists the clients and wallets that
start with what was typed (at most ``SEARCH_ROWS`` of each). The exact lookups use the unique
indexes; an operator finds only what their permissions let them view."""

from __future__ import annotations

import re
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
    return SearchHit(
        "System account" if user.is_system else "Client" if user.role == User.Role.CLIENT else "Operator",
        user.email,
        f"{user.get_full_name()} · {user.get_status_display()}",
        reverse("admin:users_user_change", args=[user.pk]),
        exact,
    )


def _wallet_hit(wallet: Wallet, *, exact: bool) -> SearchHit:
    return SearchHit(
        "Wallet",
        wallet.address,
        f"{wallet.name} · {wallet.owner.email} · {wallet.get_status_display()}",
        reverse("admin:wallets_wallet_change", args=[wallet.pk]),
        exact,
    )


def _transaction_hit(transaction: Transaction, *, exact: bool) -> SearchHit:
    return SearchHit(
        "Transaction",
        str(transaction.pk),
        f"{transaction.get_kind_display()} · {transaction.get_status_display()} · {transaction.wallet.owner.email}",
        reverse("admin:transactions_transaction_change", args=[transaction.pk]),
        exact,
    )


SHORT_ID = re.compile(r"[0-9a-f]{8}")


def id_range(prefix: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The ids that start with the eight characters the lists show: a range the primary key's index
    answers, unlike ``id::text LIKE``."""
    return uuid.UUID(prefix + "0" * 24), uuid.UUID(prefix + "f" * 24)


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
    may_see_transactions = user.has_perm("transactions.view_transaction")
    transactions = Transaction.objects.select_related("wallet__owner")
    if pk is not None:
        if may_see_transactions:
            hits += [_transaction_hit(transaction, exact=True) for transaction in transactions.filter(pk=pk)]
        if may_see_wallets:
            hits += [_wallet_hit(wallet, exact=True) for wallet in Wallet.objects.filter(pk=pk).select_related("owner")]
        return hits
    if may_see_transactions and term.upper().startswith("WM-"):  # a deposit's reference, as the client quotes it
        hits += [
            _transaction_hit(transaction, exact=True) for transaction in transactions.filter(reference=term.upper())
        ]
        return hits
    if SHORT_ID.fullmatch(term.lower()):  # an id as the lists show it: its first eight characters
        first, last = id_range(term.lower())
        if may_see_transactions:
            found = list(transactions.filter(pk__range=(first, last)).order_by("pk")[:SEARCH_ROWS])
            hits += [_transaction_hit(transaction, exact=len(found) == 1) for transaction in found]
        if may_see_wallets:
            found = list(
                Wallet.objects.filter(pk__range=(first, last)).select_related("owner").order_by("pk")[:SEARCH_ROWS]
            )
            hits += [_wallet_hit(wallet, exact=len(found) == 1 and not hits) for wallet in found]
        if hits:
            return sorted(hits, key=lambda hit: not hit.exact)
    if may_see_users:
        email = term.lower()
        exact = User.objects.filter(email=email).first()
        if exact is not None:
            hits.append(_user_hit(exact, exact=True))
        hits += [
            _user_hit(found, exact=False)
            for found in User.objects.filter(email__startswith=email)
            .exclude(email=email)
            .order_by("email")[:SEARCH_ROWS]
        ]
    if may_see_wallets and "@" not in term:
        address = term.upper()
        wallets = Wallet.objects.filter(address__startswith=address).select_related("owner").order_by("address")
        hits += [_wallet_hit(wallet, exact=wallet.address == address) for wallet in wallets[:SEARCH_ROWS]]
    return sorted(hits, key=lambda hit: not hit.exact)
