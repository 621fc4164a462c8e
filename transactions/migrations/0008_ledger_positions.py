from django.db import migrations

# Positions are derived by PostgreSQL (SPEC §14). The functions that move them are SECURITY DEFINER:
# they run with the rights of the schema owner (who runs the migrations), so the application's
# runtime role, which may not write ``posted``, ``held`` or ``sequence`` itself, moves them only by
# inserting entries and by starting or ending pending withdrawals.

BACKFILL_SQL = """
-- Existing entries of client assets get their running balance and sequence, in the order their
-- positions moved (time, then id); the assets get the sequence of their last entry.
ALTER TABLE transactions_entry DISABLE TRIGGER entry_append_only;
WITH numbered AS (
    SELECT e.id,
           SUM(e.amount) OVER history AS running,
           ROW_NUMBER() OVER history AS number
      FROM transactions_entry e
      JOIN balances_balance b ON b.wallet_id = e.wallet_id
      JOIN balances_balanceasset a ON a.balance_id = b.id AND a.currency_id = e.currency_id
    WINDOW history AS (PARTITION BY e.wallet_id, e.currency_id ORDER BY e.created_at, e.id)
)
UPDATE transactions_entry e
   SET balance_after = numbered.running, sequence = numbered.number
  FROM numbered
 WHERE e.id = numbered.id;
ALTER TABLE transactions_entry ENABLE TRIGGER entry_append_only;

UPDATE balances_balanceasset a
   SET sequence = counts.entries
  FROM (SELECT b.id AS balance_id, e.currency_id, COUNT(*) AS entries
          FROM transactions_entry e JOIN balances_balance b ON b.wallet_id = e.wallet_id
         GROUP BY b.id, e.currency_id) AS counts
 WHERE a.balance_id = counts.balance_id AND a.currency_id = counts.currency_id;
"""

POSITIONS_SQL = """
-- An inserted entry moves its asset's posted position, under the row lock the UPDATE takes: the
-- new position is the entry's balance_after, the asset's next number its sequence, and the moment
-- the position moved its created_at (so per asset, time and sequence grow together). The floor
-- CHECK of the asset fires on this very write. System wallets have no asset rows: their positions
-- are the sums of their entries, and their entries carry no running balance.
CREATE OR REPLACE FUNCTION ledger_entry_move_posted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    NEW.created_at := clock_timestamp();
    UPDATE balances_balanceasset AS a
       SET posted = a.posted + NEW.amount, sequence = a.sequence + 1, updated_at = NEW.created_at
      FROM balances_balance AS b
     WHERE b.wallet_id = NEW.wallet_id AND a.balance_id = b.id AND a.currency_id = NEW.currency_id
    RETURNING a.posted, a.sequence INTO NEW.balance_after, NEW.sequence;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM wallets_wallet WHERE id = NEW.wallet_id AND system_role IS NOT NULL) THEN
            RAISE EXCEPTION 'wallet % has no % asset to post this entry to', NEW.wallet_id, NEW.currency_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        NEW.balance_after := NULL;
        NEW.sequence := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER entry_move_posted
    BEFORE INSERT ON transactions_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_move_posted();

-- held is the sum of amount + fee of the asset's pending withdrawals: a hold starts when one is
-- inserted pending and ends when it leaves pending (approved, rejected, cancelled, expired).
CREATE OR REPLACE FUNCTION ledger_move_held(wallet uuid, currency varchar, delta numeric) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE balances_balanceasset AS a
       SET held = a.held + delta, updated_at = clock_timestamp()
      FROM balances_balance AS b
     WHERE b.wallet_id = wallet AND a.balance_id = b.id AND a.currency_id = currency;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'wallet % has no % asset to hold money on', wallet, currency
            USING ERRCODE = 'foreign_key_violation';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION ledger_move_held(uuid, varchar, numeric) FROM PUBLIC;

CREATE OR REPLACE FUNCTION ledger_transaction_move_held() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    old_holds boolean := TG_OP <> 'INSERT' AND OLD.kind = 'withdrawal' AND OLD.status = 'pending';
    new_holds boolean := TG_OP <> 'DELETE' AND NEW.kind = 'withdrawal' AND NEW.status = 'pending';
BEGIN
    IF old_holds AND new_holds AND OLD.wallet_id = NEW.wallet_id AND OLD.currency_id = NEW.currency_id
       AND OLD.amount + OLD.fee = NEW.amount + NEW.fee THEN
        RETURN NULL;  -- still the same hold
    END IF;
    IF old_holds THEN
        PERFORM ledger_move_held(OLD.wallet_id, OLD.currency_id, -(OLD.amount + OLD.fee));
    END IF;
    IF new_holds THEN
        PERFORM ledger_move_held(NEW.wallet_id, NEW.currency_id, NEW.amount + NEW.fee);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER transaction_move_held
    AFTER INSERT OR UPDATE OR DELETE ON transactions_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_move_held();

-- Positions move only through the two functions above (which write from inside a trigger, at
-- depth 2); any other statement, whatever its role, is refused. A new asset starts at zero.
CREATE OR REPLACE FUNCTION balances_asset_positions_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.posted <> 0 OR NEW.held <> 0 OR NEW.sequence <> 0 THEN
            RAISE EXCEPTION 'a balance asset starts at zero: positions come from entries and holds'
                USING ERRCODE = 'restrict_violation';
        END IF;
    ELSIF ROW(NEW.posted, NEW.held, NEW.sequence) IS DISTINCT FROM ROW(OLD.posted, OLD.held, OLD.sequence)
          AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'posted, held and sequence change only through entries and holds'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER asset_positions_guard
    BEFORE INSERT OR UPDATE ON balances_balanceasset
    FOR EACH ROW EXECUTE FUNCTION balances_asset_positions_guard();

-- A pending transaction may change only by being resolved: the money it holds (its kind, wallet,
-- currency, amount, fee) is fixed from the start. Posted ones stay immutable as before.
CREATE OR REPLACE FUNCTION transactions_transaction_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN ('posted', 'reversed') THEN
            RAISE EXCEPTION 'transaction % is % and cannot be deleted', OLD.id, OLD.status
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status IN ('posted', 'reversed') THEN
        IF NOT (OLD.status = 'posted' AND NEW.status IN ('posted', 'reversed'))
           OR ROW(NEW.kind, NEW.wallet_id, NEW.currency_id, NEW.amount, NEW.fee, NEW.to_wallet_id,
                  NEW.to_currency_id, NEW.to_amount, NEW.rate, NEW.description, NEW.reverses_id,
                  NEW.created_by_id, NEW.created_at, NEW.posted_at, NEW.reason)
              IS DISTINCT FROM
              ROW(OLD.kind, OLD.wallet_id, OLD.currency_id, OLD.amount, OLD.fee, OLD.to_wallet_id,
                  OLD.to_currency_id, OLD.to_amount, OLD.rate, OLD.description, OLD.reverses_id,
                  OLD.created_by_id, OLD.created_at, OLD.posted_at, OLD.reason)
        THEN
            RAISE EXCEPTION 'transaction % is % and immutable', OLD.id, OLD.status
                USING ERRCODE = 'restrict_violation';
        END IF;
    ELSIF OLD.status IN ('rejected', 'cancelled', 'expired') AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'transaction % is already resolved as %', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation';
    ELSIF OLD.status = 'pending'
          AND ROW(NEW.kind, NEW.wallet_id, NEW.currency_id, NEW.amount, NEW.fee)
              IS DISTINCT FROM ROW(OLD.kind, OLD.wallet_id, OLD.currency_id, OLD.amount, OLD.fee)
    THEN
        RAISE EXCEPTION 'transaction % is pending: only its resolution may change it', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- No TRUNCATE of the ledger: the runtime role has no TRUNCATE privilege at all, and the owner must
-- say it means it (SET walletmanager.allow_truncate = on; only the test suite's flush does).
CREATE OR REPLACE FUNCTION walletmanager_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('walletmanager.allow_truncate', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION '% is part of the ledger and cannot be truncated', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER entry_no_truncate BEFORE TRUNCATE ON transactions_entry
    FOR EACH STATEMENT EXECUTE FUNCTION walletmanager_refuse_truncate();
CREATE TRIGGER transaction_no_truncate BEFORE TRUNCATE ON transactions_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION walletmanager_refuse_truncate();
CREATE TRIGGER asset_no_truncate BEFORE TRUNCATE ON balances_balanceasset
    FOR EACH STATEMENT EXECUTE FUNCTION walletmanager_refuse_truncate();
CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON walletmanager_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION walletmanager_refuse_truncate();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS auditevent_no_truncate ON walletmanager_auditevent;
DROP TRIGGER IF EXISTS asset_no_truncate ON balances_balanceasset;
DROP TRIGGER IF EXISTS transaction_no_truncate ON transactions_transaction;
DROP TRIGGER IF EXISTS entry_no_truncate ON transactions_entry;
DROP FUNCTION IF EXISTS walletmanager_refuse_truncate();
DROP TRIGGER IF EXISTS asset_positions_guard ON balances_balanceasset;
DROP FUNCTION IF EXISTS balances_asset_positions_guard();
DROP TRIGGER IF EXISTS transaction_move_held ON transactions_transaction;
DROP FUNCTION IF EXISTS ledger_transaction_move_held();
DROP FUNCTION IF EXISTS ledger_move_held(uuid, varchar, numeric);
DROP TRIGGER IF EXISTS entry_move_posted ON transactions_entry;
DROP FUNCTION IF EXISTS ledger_entry_move_posted();
"""


class Migration(migrations.Migration):
    """PostgreSQL derives positions from entries and holds, numbers every client entry with its
    running balance, and refuses direct writes of positions and truncation of the ledger (SPEC §14)."""

    dependencies = [
        ("transactions", "0007_running_balances"),
        ("balances", "0005_balanceasset_sequence"),
        ("wallets", "0002_drop_pin_counters"),
        ("walletmanager", "0002_auditevent_append_only"),
    ]

    operations = [
        migrations.RunSQL(BACKFILL_SQL, migrations.RunSQL.noop),
        migrations.RunSQL(POSITIONS_SQL, REVERSE_SQL),
    ]
