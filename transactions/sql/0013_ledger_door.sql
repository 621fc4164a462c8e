-- The ledger's one door (SPEC §16), transactions part: the `ledger` schema's helpers (amounts and
-- times as the API renders them, the outbox), ledger.lock_assets, and every trigger function of the
-- ledger's tables made immune to the caller's search_path. The movements themselves are
-- ledger.move, ledger.resolve and ledger.reverse (0014_ledger_move.sql).
--
-- Guarantees
-- * The runtime role holds SELECT only on transactions, entries and the daily rollups; it writes them
--   through the ledger's functions alone (walletmanager.database.roles).
-- * ledger.publish writes a transaction's event to the webhooks outbox, with its dispatch job, in the
--   caller's statement, when a live endpoint subscribes: a rollback leaves no event, a commit always
--   leaves one.
-- * ledger.lock_assets opens a client asset at zero (never in a currency a single-currency balance
--   does not hold) and locks assets in id order.
-- * (Multi-argument unnest() is FROM-clause syntax and cannot be qualified; pg_catalog comes first
--   with an empty search_path, and functions are never looked up in pg_temp.)
-- Called by: the ledger's functions (0014); ledger.lock_assets by tests that open an asset ahead.

DROP FUNCTION IF EXISTS public.ledger_post(jsonb, boolean, uuid[], text[], numeric[], jsonb);
DROP FUNCTION IF EXISTS public.ledger_lock_assets(uuid[], text[]);

-- Trigger functions, re-created with an empty search_path and qualified names ----------------------

CREATE OR REPLACE FUNCTION public.walletmanager_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    IF pg_catalog.current_setting('walletmanager.allow_truncate', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION '% is part of the ledger and cannot be truncated', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION public.transactions_entry_zero_sum() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT e.currency_id, pg_catalog.sum(e.amount) AS total INTO unbalanced
      FROM public.transactions_entry e
     WHERE e.transaction_id = NEW.transaction_id
     GROUP BY e.currency_id
    HAVING pg_catalog.sum(e.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entries of transaction % do not sum to zero in %: %',
            NEW.transaction_id, unbalanced.currency_id, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION public.transactions_transaction_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
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
                  NEW.created_by_id, NEW.created_at, NEW.posted_at, NEW.reason, NEW.reference,
                  NEW.provider_id, NEW.received_amount)
              IS DISTINCT FROM
              ROW(OLD.kind, OLD.wallet_id, OLD.currency_id, OLD.amount, OLD.fee, OLD.to_wallet_id,
                  OLD.to_currency_id, OLD.to_amount, OLD.rate, OLD.description, OLD.reverses_id,
                  OLD.created_by_id, OLD.created_at, OLD.posted_at, OLD.reason, OLD.reference,
                  OLD.provider_id, OLD.received_amount)
        THEN
            RAISE EXCEPTION 'transaction % is % and immutable', OLD.id, OLD.status
                USING ERRCODE = 'restrict_violation';
        END IF;
    ELSIF OLD.status IN ('rejected', 'cancelled', 'expired') AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'transaction % is already resolved as %', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation';
    ELSIF OLD.status = 'pending' AND (
          ROW(NEW.kind, NEW.wallet_id, NEW.currency_id, NEW.amount, NEW.reference)
              IS DISTINCT FROM ROW(OLD.kind, OLD.wallet_id, OLD.currency_id, OLD.amount, OLD.reference)
          OR (OLD.kind = 'withdrawal' AND NEW.fee IS DISTINCT FROM OLD.fee))
    THEN
        RAISE EXCEPTION 'transaction % is pending: only its resolution may change it', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.ledger_entry_move_posted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    NEW.created_at := pg_catalog.clock_timestamp();
    UPDATE public.balances_balanceasset AS a
       SET posted = a.posted + NEW.amount, sequence = a.sequence + 1, updated_at = NEW.created_at
      FROM public.balances_balance AS b
     WHERE b.wallet_id = NEW.wallet_id AND a.balance_id = b.id AND a.currency_id = NEW.currency_id
    RETURNING a.posted, a.sequence INTO NEW.balance_after, NEW.sequence;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM public.wallets_wallet w WHERE w.id = NEW.wallet_id AND w.system_role IS NOT NULL) THEN
            RAISE EXCEPTION 'wallet % has no % asset to post this entry to', NEW.wallet_id, NEW.currency_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        NEW.balance_after := NULL;
        NEW.sequence := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.ledger_move_held(wallet uuid, currency varchar, delta numeric) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    UPDATE public.balances_balanceasset AS a
       SET held = a.held + delta, updated_at = pg_catalog.clock_timestamp()
      FROM public.balances_balance AS b
     WHERE b.wallet_id = wallet AND a.balance_id = b.id AND a.currency_id = currency;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'wallet % has no % asset to hold money on', wallet, currency
            USING ERRCODE = 'foreign_key_violation';
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION public.ledger_move_held(uuid, varchar, numeric) FROM PUBLIC;

CREATE OR REPLACE FUNCTION public.ledger_transaction_move_held() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    old_holds boolean := TG_OP <> 'INSERT' AND OLD.kind = 'withdrawal' AND OLD.status = 'pending';
    new_holds boolean := TG_OP <> 'DELETE' AND NEW.kind = 'withdrawal' AND NEW.status = 'pending';
BEGIN
    IF old_holds AND new_holds AND OLD.wallet_id = NEW.wallet_id AND OLD.currency_id = NEW.currency_id
       AND OLD.amount + OLD.fee = NEW.amount + NEW.fee THEN
        RETURN NULL;  -- still the same hold
    END IF;
    IF old_holds THEN
        PERFORM public.ledger_move_held(OLD.wallet_id, OLD.currency_id, -(OLD.amount + OLD.fee));
    END IF;
    IF new_holds THEN
        PERFORM public.ledger_move_held(NEW.wallet_id, NEW.currency_id, NEW.amount + NEW.fee);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION public.balances_asset_positions_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.posted <> 0 OR NEW.held <> 0 OR NEW.sequence <> 0 THEN
            RAISE EXCEPTION 'a balance asset starts at zero: positions come from entries and holds'
                USING ERRCODE = 'restrict_violation';
        END IF;
    ELSIF ROW(NEW.posted, NEW.held, NEW.sequence) IS DISTINCT FROM ROW(OLD.posted, OLD.held, OLD.sequence)
          AND pg_catalog.pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'posted, held and sequence change only through entries and holds'
            USING ERRCODE = 'restrict_violation';
    ELSIF ROW(NEW.balance_id, NEW.currency_id) IS DISTINCT FROM ROW(OLD.balance_id, OLD.currency_id) THEN
        RAISE EXCEPTION 'an asset stays with its balance and currency'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.transactions_daily_volume_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    -- Each session adds to its own shard of a day's row (backend pid modulo 16): concurrent movements
    -- never wait on one another's row; readers sum the shards.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.transactions_dailyvolume AS volume (day, kind, currency_id, shard, transactions, amount, posted)
        SELECT change.day, change.kind, change.currency_id, pg_catalog.pg_backend_pid() % 16,
               pg_catalog.sum(change.transactions), pg_catalog.sum(change.amount), pg_catalog.sum(change.posted)
          FROM (SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.kind, r.currency_id,
                       1 AS transactions, 1 * r.amount AS amount,
                       CASE WHEN r.status IN ('posted', 'reversed') THEN 1 ELSE 0 END AS posted
                  FROM new_rows r) AS change
         GROUP BY change.day, change.kind, change.currency_id
        HAVING pg_catalog.sum(change.transactions) <> 0 OR pg_catalog.sum(change.amount) <> 0
            OR pg_catalog.sum(change.posted) <> 0
         ORDER BY change.day, change.kind, change.currency_id  -- one lock order for every session
        ON CONFLICT (day, kind, currency_id, shard) DO UPDATE
           SET transactions = volume.transactions + EXCLUDED.transactions,
               amount = volume.amount + EXCLUDED.amount,
               posted = volume.posted + EXCLUDED.posted;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO public.transactions_dailyvolume AS volume (day, kind, currency_id, shard, transactions, amount, posted)
        SELECT change.day, change.kind, change.currency_id, pg_catalog.pg_backend_pid() % 16,
               pg_catalog.sum(change.transactions), pg_catalog.sum(change.amount), pg_catalog.sum(change.posted)
          FROM (SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.kind, r.currency_id,
                       -1 AS transactions, -1 * r.amount AS amount,
                       CASE WHEN r.status IN ('posted', 'reversed') THEN -1 ELSE 0 END AS posted
                  FROM old_rows r) AS change
         GROUP BY change.day, change.kind, change.currency_id
        HAVING pg_catalog.sum(change.transactions) <> 0 OR pg_catalog.sum(change.amount) <> 0
            OR pg_catalog.sum(change.posted) <> 0
         ORDER BY change.day, change.kind, change.currency_id  -- one lock order for every session
        ON CONFLICT (day, kind, currency_id, shard) DO UPDATE
           SET transactions = volume.transactions + EXCLUDED.transactions,
               amount = volume.amount + EXCLUDED.amount,
               posted = volume.posted + EXCLUDED.posted;
    ELSE
        INSERT INTO public.transactions_dailyvolume AS volume (day, kind, currency_id, shard, transactions, amount, posted)
        SELECT change.day, change.kind, change.currency_id, pg_catalog.pg_backend_pid() % 16,
               pg_catalog.sum(change.transactions), pg_catalog.sum(change.amount), pg_catalog.sum(change.posted)
          FROM (SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.kind, r.currency_id,
                       1 AS transactions, 1 * r.amount AS amount,
                       CASE WHEN r.status IN ('posted', 'reversed') THEN 1 ELSE 0 END AS posted
                  FROM new_rows r UNION ALL SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.kind, r.currency_id,
                       -1 AS transactions, -1 * r.amount AS amount,
                       CASE WHEN r.status IN ('posted', 'reversed') THEN -1 ELSE 0 END AS posted
                  FROM old_rows r) AS change
         GROUP BY change.day, change.kind, change.currency_id
        HAVING pg_catalog.sum(change.transactions) <> 0 OR pg_catalog.sum(change.amount) <> 0
            OR pg_catalog.sum(change.posted) <> 0
         ORDER BY change.day, change.kind, change.currency_id  -- one lock order for every session
        ON CONFLICT (day, kind, currency_id, shard) DO UPDATE
           SET transactions = volume.transactions + EXCLUDED.transactions,
               amount = volume.amount + EXCLUDED.amount,
               posted = volume.posted + EXCLUDED.posted;
    END IF;
    RETURN NULL;
END;
$$;

-- Amounts and times as the API renders them -------------------------------------------------------------

CREATE FUNCTION ledger.format_amount(amount numeric, decimals integer) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
    SELECT pg_catalog.round(amount, decimals)::text
$$;

CREATE FUNCTION ledger.format_number(amount numeric) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
    SELECT pg_catalog.trim_scale(amount)::text
$$;

CREATE FUNCTION ledger.format_time(moment timestamptz) RETURNS text
LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT pg_catalog.to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN pg_catalog.date_trunc('second', moment) = moment THEN ''
                ELSE pg_catalog.to_char(moment AT TIME ZONE 'UTC', '.US') END
        || 'Z'
$$;

-- A transaction as a client sees it (transactions.serializers.TransactionSerializer, without the
-- balance after it): what the outbox carries.
CREATE FUNCTION ledger.transaction_json(t public.transactions_transaction) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT pg_catalog.jsonb_build_object(
        'id', t.id::text, 'kind', t.kind, 'status', t.status, 'wallet', t.wallet_id::text,
        'currency', t.currency_id,
        'amount', ledger.format_amount(t.amount, c.decimals), 'fee', ledger.format_amount(t.fee, c.decimals),
        'to_wallet', t.to_wallet_id::text, 'to_currency', t.to_currency_id,
        'to_amount', ledger.format_amount(t.to_amount, q.decimals), 'rate', ledger.format_number(t.rate),
        'description', t.description, 'reverses', t.reverses_id::text, 'reference', t.reference,
        'received_amount', ledger.format_amount(t.received_amount, c.decimals),
        'created_at', ledger.format_time(t.created_at), 'posted_at', ledger.format_time(t.posted_at),
        'resolved_at', ledger.format_time(t.resolved_at))
      FROM public.balances_currency AS c
      LEFT JOIN public.balances_currency AS q ON q.code = t.to_currency_id
     WHERE c.code = t.currency_id
$$;

-- Defer a Procrastinate job in the caller's transaction. Procrastinate's own trigger functions name
-- their tables unqualified, so this runs with public on the path (pg_temp last: nothing temporary
-- stands in, and nobody but the owner may create a temporary object anyway).
CREATE FUNCTION ledger.defer_job(queue text, task text, args jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO public.procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    VALUES (queue, task, 0, NULL, NULL, args, NULL);
END;
$$;

-- The outbox (SPEC §15): the event of a transaction that reached `status`, for the owners of the
-- wallets it touches, when a live endpoint subscribes to it; its dispatch job with it.
CREATE FUNCTION ledger.publish(t public.transactions_transaction, status text) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
    event_type text := (CASE WHEN t.kind = 'deposit' THEN 'deposit.' ELSE 'transaction.' END) || status;
    owners bigint[];
    event_id uuid;
BEGIN
    SELECT pg_catalog.array_agg(DISTINCT w.owner_id ORDER BY w.owner_id) INTO owners
      FROM public.wallets_wallet AS w WHERE w.id IN (t.wallet_id, t.to_wallet_id);
    IF NOT EXISTS (
        SELECT 1 FROM public.webhooks_webhookendpoint AS e
         WHERE e.is_active AND e.deleted_at IS NULL
           AND (e.scope = 'all' OR (e.scope = 'own' AND e.owner_id = ANY(owners)))
           AND (e.events @> ARRAY[event_type]::varchar[] OR e.events @> ARRAY['*']::varchar[])
    ) THEN
        RETURN;
    END IF;
    event_id := pg_catalog.gen_random_uuid();
    INSERT INTO public.webhooks_webhookevent (id, type, data, owner_ids, created_at)
    VALUES (event_id, event_type, ledger.transaction_json(t) || pg_catalog.jsonb_build_object('status', status),
            COALESCE(owners, '{}'), pg_catalog.clock_timestamp());
    PERFORM ledger.defer_job('webhooks', 'webhook_dispatch', pg_catalog.jsonb_build_object('event_id', event_id::text));
END;
$$;

-- The posting functions -----------------------------------------------------------------------------

-- Open the client assets of (wallet, currency) pairs that do not exist yet (a multi-currency balance's
-- first use of a currency; never a currency a single-currency balance does not hold), then lock them
-- all in primary-key order: two movements over the same assets always lock them in the same order.
CREATE FUNCTION ledger.lock_assets(wallet_ids uuid[], currencies text[]) RETURNS SETOF public.balances_balanceasset
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    INSERT INTO public.balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence, updated_at)
    SELECT b.id, k.currency, 0, 0, w.credit_limit, 0, pg_catalog.clock_timestamp()
      FROM unnest(wallet_ids, currencies) AS k(wallet_id, currency)
      JOIN public.wallets_wallet AS w ON w.id = k.wallet_id AND w.system_role IS NULL
      JOIN public.balances_balance AS b ON b.wallet_id = w.id
      JOIN public.balances_currency AS c ON c.code = k.currency
     WHERE b.kind = 'multi' OR b.currency_id = k.currency
     ORDER BY b.id, k.currency
    ON CONFLICT (balance_id, currency_id) DO NOTHING;

    RETURN QUERY
    SELECT a.*
      FROM public.balances_balanceasset AS a
      JOIN public.balances_balance AS b ON b.id = a.balance_id
      JOIN unnest(wallet_ids, currencies) AS k(wallet_id, currency)
        ON b.wallet_id = k.wallet_id AND a.currency_id = k.currency
     ORDER BY a.id
       FOR UPDATE OF a;
END;
$$;
COMMENT ON FUNCTION ledger.lock_assets(uuid[], text[]) IS
    'Open the missing client assets of (wallet, currency) pairs and lock them all in id order.';
