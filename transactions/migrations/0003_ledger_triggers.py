from django.db import migrations

LEDGER_SQL = """
-- The legs of a transaction sum to zero in every currency. Checked at COMMIT (deferred), after all
-- legs of the transaction are in, so a half-written transaction can never commit.
CREATE OR REPLACE FUNCTION transactions_entry_zero_sum() RETURNS trigger AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT currency_id, SUM(amount) AS total INTO unbalanced
      FROM transactions_entry
     WHERE transaction_id = NEW.transaction_id
     GROUP BY currency_id
    HAVING SUM(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entries of transaction % do not sum to zero in %: %',
            NEW.transaction_id, unbalanced.currency_id, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER entry_zero_sum
    AFTER INSERT ON transactions_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION transactions_entry_zero_sum();

-- Entries are never updated or deleted: a correction is a new transaction (a reversal).
CREATE TRIGGER entry_append_only
    BEFORE UPDATE OR DELETE ON transactions_entry
    FOR EACH ROW EXECUTE FUNCTION walletmanager_refuse_change();

-- A transaction is immutable once posted, except its status becoming 'reversed'; a posted or
-- reversed transaction is never deleted.
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
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER transaction_guard
    BEFORE UPDATE OR DELETE ON transactions_transaction
    FOR EACH ROW EXECUTE FUNCTION transactions_transaction_guard();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS transaction_guard ON transactions_transaction;
DROP FUNCTION IF EXISTS transactions_transaction_guard();
DROP TRIGGER IF EXISTS entry_append_only ON transactions_entry;
DROP TRIGGER IF EXISTS entry_zero_sum ON transactions_entry;
DROP FUNCTION IF EXISTS transactions_entry_zero_sum();
"""


class Migration(migrations.Migration):
    """Ledger invariants that PostgreSQL enforces whatever the application does (SPEC §5)."""

    dependencies = [
        ("transactions", "0002_initial"),
        ("walletmanager", "0002_auditevent_append_only"),
    ]

    operations = [migrations.RunSQL(LEDGER_SQL, REVERSE_SQL)]
