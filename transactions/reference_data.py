"""Reference data every money movement reads, cached so a movement does not query it each time.

* The three system wallets (external, fx, fees) are created by a migration and never change: they
  are loaded once per process. ``flush`` (and therefore every transactional test) emits
  ``post_migrate``, which clears them; ``clear_system_wallets()`` does it by hand.
* Fee rules are few and change rarely (admin): all active ones are kept in Django's cache (local
  memory, or Redis shared by every web process) for ``FEE_RULES_TTL`` seconds. Saving or deleting
  a rule through the ORM (the admin does) drops the cached copy at once and again when its
  transaction commits, so an admin edit takes effect on the next movement; a change made behind
  the ORM's back (``QuerySet.update()``, SQL) takes effect within ``FEE_RULES_TTL`` seconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from django.core.cache import cache
from django.db import transaction as db_transaction
from django.db.models.signals import post_delete, post_migrate, post_save

from transactions.models import FeeRule
from wallets.models import Wallet

FEE_RULES_CACHE_KEY = "transactions:fee-rules:v1"
FEE_RULES_TTL = 5  # seconds: the longest a rule changed without save()/delete() stays unseen


class FeeTerms(NamedTuple):
    percent_bps: int
    flat: Decimal
    min_fee: Decimal
    max_fee: Decimal | None


# --- system wallets ------------------------------------------------------------------------------

# Replaced as a whole, never mutated: threads (the concurrency tests) may read it while another
# thread reloads or clears it.
_system_wallets: dict[str, Wallet] = {}


def system_wallets() -> dict[str, Wallet]:
    """The system wallets by role (with owner and balance loaded); fewer than 3 while any is missing."""
    global _system_wallets
    cached = _system_wallets
    if len(cached) == len(Wallet.SystemRole):
        return cached
    rows = Wallet.objects.select_related("owner", "balance").filter(system_role__isnull=False)
    found = {row.system_role: row for row in rows}
    if len(found) == len(Wallet.SystemRole):
        _system_wallets = found
    # Not cached while incomplete: the migration (or a test's seeding) has yet to create them.
    return found


def clear_system_wallets(**kwargs) -> None:
    global _system_wallets
    _system_wallets = {}


# --- fee rules -----------------------------------------------------------------------------------


def fee_terms(*, kind: str, currency_code: str) -> FeeTerms | None:
    """The active rule for ``kind`` in this currency, else the any-currency one, else None."""
    rules = cache.get(FEE_RULES_CACHE_KEY)
    if rules is None:
        rules = {
            (kind_, currency_ or ""): FeeTerms(percent_bps, flat, min_fee, max_fee)
            for kind_, currency_, percent_bps, flat, min_fee, max_fee in FeeRule.objects.filter(
                is_active=True
            ).values_list("kind", "currency_id", "percent_bps", "flat", "min_fee", "max_fee")
        }
        cache.set(FEE_RULES_CACHE_KEY, rules, timeout=FEE_RULES_TTL)
    return rules.get((kind, currency_code)) or rules.get((kind, ""))


def clear_fee_rules(**kwargs) -> None:
    cache.delete(FEE_RULES_CACHE_KEY)
    # A movement running between this save and its commit may re-cache the old rules: drop them
    # again once the change is visible to everyone.
    db_transaction.on_commit(lambda: cache.delete(FEE_RULES_CACHE_KEY))


def connect() -> None:
    """Drop the caches when what they hold changes; called from ``TransactionsConfig.ready()``."""
    post_migrate.connect(clear_system_wallets, dispatch_uid="transactions:reference-data:system-wallets")
    post_save.connect(clear_fee_rules, sender=FeeRule, dispatch_uid="transactions:reference-data:fee-rules-saved")
    post_delete.connect(clear_fee_rules, sender=FeeRule, dispatch_uid="transactions:reference-data:fee-rules-deleted")
