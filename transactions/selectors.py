"""Reads of the ledger for the API and the admin (SPEC §7)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from transactions.models import Entry, ExchangeRate, Transaction
from transactions.reversals import with_amounts_moved
from walletmanager.actors import is_staff_user
from walletmanager.compiled_query import CompiledQuery
from walletmanager.exceptions import NotFoundError
from wallets.models import Wallet

# The ids of a client's wallets, compiled once (walletmanager.compiled_query). Stand-in: no user has
# a negative id.
_OWN_WALLET_IDS = CompiledQuery(
    lambda owner_id: Wallet.objects.filter(owner_id=owner_id).values_list("pk", flat=True), prepare=True, owner_id=-1
)


def transaction_list_for(*, user: Any) -> QuerySet[Transaction]:
    """A client's transactions are those whose wallet or to_wallet is theirs; staff see all. Newest
    first; currencies joined so amounts render with their decimals at a constant query count."""
    transactions = with_amounts_moved(
        Transaction.objects.select_related("currency", "to_currency").order_by("-created_at", "-id")
    )
    if is_staff_user(user):
        return transactions
    # The ids as literals (one query): a page of a busy client's list is then an ordered index scan
    # per wallet and direction (``TransactionQuerySet.involving_wallets``), not a sort of their history.
    return transactions.involving_wallets(_OWN_WALLET_IDS.run(owner_id=user.pk))


def transaction_get_for(*, user: Any, transaction_id: Any, with_entries: bool = False) -> Transaction:
    """One transaction the user may see; another user's, or a malformed id, is 404."""
    try:
        transaction_id = uuid.UUID(str(transaction_id))
    except ValueError:
        raise NotFoundError("No such transaction.") from None
    transactions = with_amounts_moved(Transaction.objects.select_related("currency", "to_currency"))
    if not is_staff_user(user):
        own = Wallet.objects.filter(owner=user).values("pk")
        transactions = transactions.filter(Q(wallet_id__in=own) | Q(to_wallet_id__in=own))
    if with_entries:
        transactions = transactions.prefetch_related(
            Prefetch("entries", queryset=Entry.objects.select_related("currency", "wallet").order_by("id"))
        )
    transaction = transactions.filter(pk=transaction_id).first()
    if transaction is None:
        raise NotFoundError("No such transaction.")
    return transaction


def _movement_wallets() -> QuerySet[Wallet]:
    return Wallet.objects.filter(system_role__isnull=True).select_related("owner", "balance")


# The wallet a movement starts from, compiled once (walletmanager.compiled_query): building and
# compiling this query (wallet, owner and balance) took 0.6 of the 0.95 ms CPU of the lookup
# (in-process, production settings). Stand-ins: no wallet has the nil UUID, no user a negative id.
_WALLET_STAND_IN = uuid.UUID(int=0)
_ANY_CLIENT_WALLET = CompiledQuery(
    lambda wallet_id: _movement_wallets().filter(pk=wallet_id)[:1], prepare=True, wallet_id=_WALLET_STAND_IN
)
_OWN_WALLET = CompiledQuery(
    lambda wallet_id, owner_id: _movement_wallets().filter(owner_id=owner_id, pk=wallet_id)[:1],
    prepare=True,
    wallet_id=_WALLET_STAND_IN,
    owner_id=-1,
)


def wallet_for_movement(*, user: Any, wallet_id: Any, own_only: bool) -> Wallet:
    """The wallet a movement starts from: the user's own (staff: any client wallet unless
    ``own_only``); anything else is 404."""
    if not isinstance(wallet_id, uuid.UUID):
        try:
            wallet_id = uuid.UUID(str(wallet_id))
        except ValueError:
            raise NotFoundError("No such wallet.") from None
    if own_only or not is_staff_user(user):
        found = _OWN_WALLET.run(wallet_id=wallet_id, owner_id=user.pk)
    else:
        found = _ANY_CLIENT_WALLET.run(wallet_id=wallet_id)
    if not found:
        raise NotFoundError("No such wallet.")
    return found[0]


def rate_list_current() -> QuerySet[ExchangeRate]:
    """The newest rate of every pair (PostgreSQL ``DISTINCT ON``)."""
    return ExchangeRate.objects.order_by("base_id", "quote_id", "-created_at", "-id").distinct("base_id", "quote_id")
