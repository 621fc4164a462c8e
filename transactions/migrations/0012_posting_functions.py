from django.db import migrations

# A movement's writes in one round trip each (SPEC §10, §14). Python keeps the policy (who may,
# fees, rates, states, the error messages); these two functions do the set-based work:
#
# * ``ledger_lock_assets`` opens the client assets a movement touches that do not exist yet (a
#   multi-currency balance's first use of a currency) and locks them all, in primary-key order;
# * ``ledger_post`` writes the movement: the transaction (new, or the resolution of a pending one),
#   its entries and its audit event, in that order. The triggers of migration 0008 then move the
#   positions as before, the floor CHECK fires on that very write and the zero sum at COMMIT.
#
# Both are SECURITY INVOKER: they run with the caller's rights, so the runtime role does through
# them exactly what it may do statement by statement (insert entries and events, resolve a pending
# transaction), and nothing it may not.

FUNCTIONS_SQL = """
CREATE FUNCTION ledger_lock_assets(wallet_ids uuid[], currencies text[]) RETURNS SETOF balances_balanceasset
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    -- Missing rows first, sorted and before any lock: two movements opening the same new assets
    -- insert them in the same order, so they cannot deadlock on each other's uncommitted rows. A
    -- row that exists is a unique-index probe that writes nothing.
    INSERT INTO balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence, updated_at)
    SELECT b.id, k.currency, 0, 0, w.credit_limit, 0, clock_timestamp()
      FROM unnest(wallet_ids, currencies) AS k(wallet_id, currency)
      JOIN wallets_wallet AS w ON w.id = k.wallet_id
      JOIN balances_balance AS b ON b.wallet_id = w.id
     ORDER BY b.id, k.currency
    ON CONFLICT (balance_id, currency_id) DO NOTHING;

    -- The locks, in primary-key order (rows are locked as the sort emits them): two movements over
    -- the same assets always lock them in the same order and cannot deadlock.
    RETURN QUERY
    SELECT a.*
      FROM balances_balanceasset AS a
      JOIN balances_balance AS b ON b.id = a.balance_id
      JOIN unnest(wallet_ids, currencies) AS k(wallet_id, currency)
        ON b.wallet_id = k.wallet_id AND a.currency_id = k.currency
     ORDER BY a.id
       FOR UPDATE OF a;
END;
$$;
COMMENT ON FUNCTION ledger_lock_assets(uuid[], text[]) IS
    'Open the missing client assets of (wallet, currency) pairs and lock them all in id order.';

CREATE FUNCTION ledger_post(
    movement jsonb,
    is_new boolean,
    entry_wallets uuid[],
    entry_currencies text[],
    entry_amounts numeric[],
    event jsonb
) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    txn transactions_transaction := jsonb_populate_record(NULL::transactions_transaction, movement);
BEGIN
    IF is_new THEN
        INSERT INTO transactions_transaction SELECT txn.*;
    ELSE
        -- A pending transaction's resolution: only these columns may change (the guard trigger of
        -- migration 0008 refuses the rest); a pending withdrawal's hold ends by trigger.
        UPDATE transactions_transaction AS t
           SET status = txn.status, fee = txn.fee, received_amount = txn.received_amount,
               provider_id = txn.provider_id, posted_at = txn.posted_at, resolved_at = txn.resolved_at,
               reason = txn.reason
         WHERE t.id = txn.id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'transaction % does not exist', txn.id USING ERRCODE = 'no_data_found';
        END IF;
    END IF;

    -- Entries in the caller's order; the trigger stamps each one's time, running balance and sequence.
    INSERT INTO transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)
    SELECT txn.id, e.wallet_id, e.currency_id, e.amount, clock_timestamp()
      FROM unnest(entry_wallets, entry_currencies, entry_amounts) WITH ORDINALITY AS e(wallet_id, currency_id, amount, n)
     ORDER BY e.n;

    IF event IS NOT NULL THEN
        -- Its id comes from the audit sequence by trigger (migration walletmanager 0003).
        INSERT INTO walletmanager_auditevent (actor_id, action, target_type, target_id, reason, data, ip, created_at)
        SELECT e.actor_id, e.action, e.target_type, e.target_id, e.reason, e.data, e.ip, e.created_at
          FROM jsonb_populate_record(NULL::walletmanager_auditevent, event) AS e;
    END IF;
END;
$$;
COMMENT ON FUNCTION ledger_post(jsonb, boolean, uuid[], text[], numeric[], jsonb) IS
    'Write a movement: its transaction (new, or a pending one resolved), its entries and its audit event.';
"""

DROP_SQL = """
DROP FUNCTION IF EXISTS ledger_post(jsonb, boolean, uuid[], text[], numeric[], jsonb);
DROP FUNCTION IF EXISTS ledger_lock_assets(uuid[], text[]);
"""


class Migration(migrations.Migration):
    """The posting functions: a movement's asset locks and its writes, one round trip each."""

    dependencies = [
        ("transactions", "0011_wallet_list_indexes"),
        ("walletmanager", "0003_auditseal"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS_SQL, reverse_sql=DROP_SQL)]
