-- One call per movement (SPEC §16): ledger.move writes a new movement — a deposit request, a
-- withdrawal, a transfer, an exchange or an adjustment — in one statement, and ledger.post publishes
-- what it writes to the webhooks outbox as ledger.move does.
--
-- Guarantees of ledger.move
-- * Idempotent: the same request id with the same content returns the first transaction (replayed);
--   with other content it is refused (idempotency_key_reused). Concurrent duplicates wait for the
--   first and then return its transaction.
-- * It share-locks the client wallets, their owners and balances in wallet-id order and checks their
--   statuses; opens the client assets it needs and locks them in asset-id order; checks the floors
--   (available, credit limits) and the velocity rules of the currency (kept per quarter hour in
--   transactions_outgoingvolume, not summed over a day of rows); writes the transaction, its entries
--   (their legs derived here from its kind, amount, fee and to_amount: never supplied by the caller),
--   the audit event, the outbox row when a live endpoint subscribes, and the rollups (triggers).
-- * Python keeps policy and price: who may (ownership, permissions, four eyes, PIN, throttles), the
--   fee, the rate and to_amount. A refusal raises WM409/WM404/WM400/WM422 with the ErrorCode in DETAIL
--   (and the refused input's name in HINT for WM400).
-- Called by: transactions.services and transactions.deposits (every new movement).

-- Velocity kept per quarter hour -------------------------------------------------------------------------

CREATE FUNCTION public.transactions_outgoing_volume_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    old_live boolean := TG_OP <> 'INSERT' AND OLD.kind IN ('withdrawal', 'transfer', 'exchange')
                        AND OLD.status IN ('pending', 'posted');
    new_live boolean := TG_OP <> 'DELETE' AND NEW.kind IN ('withdrawal', 'transfer', 'exchange')
                        AND NEW.status IN ('pending', 'posted');
BEGIN
    IF old_live AND new_live AND OLD.created_at = NEW.created_at AND OLD.amount = NEW.amount
       AND OLD.wallet_id = NEW.wallet_id AND OLD.currency_id = NEW.currency_id THEN
        RETURN NULL;
    END IF;
    IF old_live THEN
        INSERT INTO public.transactions_outgoingvolume AS v (wallet_id, currency_id, bucket, outgoing, withdrawn)
        VALUES (OLD.wallet_id, OLD.currency_id,
                pg_catalog.date_bin('15 minutes', OLD.created_at, '2000-01-01 00:00:00+00'),
                -OLD.amount, CASE WHEN OLD.kind = 'withdrawal' THEN -OLD.amount ELSE 0 END)
        ON CONFLICT (wallet_id, currency_id, bucket) DO UPDATE
           SET outgoing = v.outgoing + EXCLUDED.outgoing, withdrawn = v.withdrawn + EXCLUDED.withdrawn;
    END IF;
    IF new_live THEN
        INSERT INTO public.transactions_outgoingvolume AS v (wallet_id, currency_id, bucket, outgoing, withdrawn)
        VALUES (NEW.wallet_id, NEW.currency_id,
                pg_catalog.date_bin('15 minutes', NEW.created_at, '2000-01-01 00:00:00+00'),
                NEW.amount, CASE WHEN NEW.kind = 'withdrawal' THEN NEW.amount ELSE 0 END)
        ON CONFLICT (wallet_id, currency_id, bucket) DO UPDATE
           SET outgoing = v.outgoing + EXCLUDED.outgoing, withdrawn = v.withdrawn + EXCLUDED.withdrawn;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER transaction_outgoing_volume
    AFTER INSERT OR UPDATE OR DELETE ON public.transactions_transaction
    FOR EACH ROW EXECUTE FUNCTION public.transactions_outgoing_volume_change();

INSERT INTO public.transactions_outgoingvolume (wallet_id, currency_id, bucket, outgoing, withdrawn)
SELECT t.wallet_id, t.currency_id, pg_catalog.date_bin('15 minutes', t.created_at, '2000-01-01 00:00:00+00'),
       pg_catalog.sum(t.amount), COALESCE(pg_catalog.sum(t.amount) FILTER (WHERE t.kind = 'withdrawal'), 0)
  FROM public.transactions_transaction AS t
 WHERE t.kind IN ('withdrawal', 'transfer', 'exchange') AND t.status IN ('pending', 'posted')
 GROUP BY 1, 2, 3;

-- (outgoing, withdrawn) of a wallet in a currency over the 24 hours before `moment`: every quarter
-- hour that overlaps them (up to 15 minutes more than a day: the house's side of the rounding).
CREATE FUNCTION ledger.outgoing_last_day(wallet uuid, currency text, moment timestamptz,
                                         OUT outgoing numeric, OUT withdrawn numeric)
LANGUAGE sql STABLE SET search_path = '' AS $$
    SELECT COALESCE(pg_catalog.sum(v.outgoing), 0), COALESCE(pg_catalog.sum(v.withdrawn), 0)
      FROM public.transactions_outgoingvolume AS v
     WHERE v.wallet_id = wallet AND v.currency_id = currency
       AND v.bucket > moment - interval '24 hours' - interval '15 minutes'
$$;

-- The rules of SPEC §5 for one client wallet taking part in a movement.
CREATE FUNCTION ledger.check_can_move(
    owner_status text, wallet_status text, balance_kind text, balance_currency text, balance_status text,
    currency public.balances_currency, outgoing boolean
) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = '' AS $$
BEGIN
    IF owner_status <> 'active' THEN
        RAISE EXCEPTION 'The wallet''s owner is not active.' USING ERRCODE = 'WM409', DETAIL = 'user_blocked';
    ELSIF wallet_status = 'closed' THEN
        RAISE EXCEPTION 'The wallet is closed.' USING ERRCODE = 'WM409', DETAIL = 'wallet_closed';
    ELSIF wallet_status = 'blocked' THEN
        RAISE EXCEPTION 'The wallet is blocked.' USING ERRCODE = 'WM409', DETAIL = 'wallet_blocked';
    ELSIF NOT currency.is_active THEN
        RAISE EXCEPTION '% is not active.', currency.code USING ERRCODE = 'WM409', DETAIL = 'currency_not_allowed';
    ELSIF balance_kind <> 'multi' AND balance_currency IS DISTINCT FROM currency.code THEN
        RAISE EXCEPTION 'This balance holds % only.', balance_currency
            USING ERRCODE = 'WM409', DETAIL = 'currency_not_allowed';
    ELSIF outgoing AND balance_status = 'frozen' THEN
        RAISE EXCEPTION 'The balance is frozen: no money can leave it.'
            USING ERRCODE = 'WM409', DETAIL = 'balance_frozen';
    END IF;
END;
$$;

-- The movement ---------------------------------------------------------------------------------------------

CREATE FUNCTION ledger.move(
    request_id uuid,
    kind text,
    actor bigint,
    ip inet,
    wallet uuid,
    currency text,
    amount numeric,
    fee numeric,
    to_address text,
    to_wallet uuid,
    to_currency text,
    to_amount numeric,
    rate numeric,
    description text,
    reason text,
    reference text,
    direction text
) RETURNS TABLE (txn jsonb, posted numeric, held numeric, credit_limit numeric, replayed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_variable
DECLARE
    moment timestamptz := pg_catalog.clock_timestamp();
    fingerprint text;
    new_id uuid := pg_catalog.gen_random_uuid();
    earlier record;
    cur public.balances_currency;
    to_cur public.balances_currency;
    source record;
    target record;
    has_source boolean := false;
    has_target boolean := false;
    target_id uuid;
    outgoing boolean;
    status text;
    hold numeric := 0;
    sent numeric;
    withdrawn numeric;
    system_ids record;
    legs_wallet uuid[];
    legs_currency text[];
    legs_amount numeric[];
    asset record;
    need record;
    t public.transactions_transaction;
    after_posted numeric;
    after_held numeric;
    after_limit numeric;
    audit_data jsonb;
    action text;
BEGIN
    IF kind NOT IN ('deposit', 'withdrawal', 'transfer', 'exchange', 'adjustment') THEN
        RAISE EXCEPTION 'ledger.move makes deposits, withdrawals, transfers, exchanges and adjustments, not %', kind
            USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'kind';
    END IF;

    -- The request, once: the same id again is the same movement (or a refusal).
    fingerprint := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat_ws('|',
        kind, actor, wallet, currency, ledger.format_number(amount), pg_catalog.upper(pg_catalog.btrim(to_address)),
        to_wallet, to_currency, description, reason, direction), 'UTF8')), 'hex');
    INSERT INTO public.transactions_ledgerrequest AS r (request_id, fingerprint, transaction_id, created_at)
    VALUES (request_id, fingerprint, new_id, moment)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT r.fingerprint, r.transaction_id INTO earlier
          FROM public.transactions_ledgerrequest AS r WHERE r.request_id = move.request_id;
        IF earlier.fingerprint IS DISTINCT FROM fingerprint THEN
            RAISE EXCEPTION 'This Idempotency-Key was used with a different request.'
                USING ERRCODE = 'WM422', DETAIL = 'idempotency_key_reused';
        END IF;
        SELECT * INTO t FROM public.transactions_transaction AS x WHERE x.id = earlier.transaction_id;
        SELECT a.posted, a.held, a.credit_limit INTO after_posted, after_held, after_limit
          FROM public.balances_balanceasset AS a JOIN public.balances_balance AS b ON b.id = a.balance_id
         WHERE b.wallet_id = t.wallet_id AND a.currency_id = t.currency_id;
        RETURN QUERY SELECT pg_catalog.to_jsonb(t), after_posted, after_held, after_limit, true;
        RETURN;
    END IF;

    SELECT * INTO cur FROM public.balances_currency AS c WHERE c.code = currency;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No such currency.' USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'currency';
    END IF;
    IF amount IS NULL OR amount <= 0 OR fee IS NULL OR fee < 0 THEN
        RAISE EXCEPTION 'A movement moves a positive amount.' USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'amount';
    END IF;

    -- The recipient of a transfer, by its address.
    IF kind = 'transfer' THEN
        SELECT w.id INTO target_id FROM public.wallets_wallet AS w
         WHERE w.address = pg_catalog.upper(pg_catalog.btrim(to_address)) AND w.system_role IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'No wallet has this address.' USING ERRCODE = 'WM404', DETAIL = 'not_found';
        ELSIF target_id = wallet THEN
            RAISE EXCEPTION 'A wallet cannot transfer to itself.'
                USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'to_address';
        END IF;
    ELSIF kind = 'exchange' THEN
        target_id := COALESCE(to_wallet, wallet);
        SELECT * INTO to_cur FROM public.balances_currency AS c WHERE c.code = to_currency;
        IF NOT FOUND OR to_currency = currency THEN
            RAISE EXCEPTION 'Choose two different currencies.' USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'to_currency';
        END IF;
        IF to_amount IS NULL OR to_amount <= 0 OR rate IS NULL OR rate <= 0 THEN
            RAISE EXCEPTION 'The amount is too small to buy anything at this rate.'
                USING ERRCODE = 'WM400', DETAIL = 'amount_too_small', HINT = 'amount';
        END IF;
    END IF;

    -- Share locks on the wallets, their owners and balances, in wallet order, before any asset lock
    -- (SPEC §14): a close, block or freeze waits for this movement, or this movement sees it.
    FOR asset IN
        SELECT w.id, w.status, w.owner_id, w.system_role, o.status AS owner_status,
               b.kind AS balance_kind, b.currency_id AS balance_currency, b.status AS balance_status
          FROM public.wallets_wallet AS w
          JOIN public.users_user AS o ON o.id = w.owner_id
          JOIN public.balances_balance AS b ON b.wallet_id = w.id
         WHERE w.id IN (wallet, target_id) AND w.system_role IS NULL
         ORDER BY w.id
           FOR SHARE OF w, o, b
    LOOP
        IF asset.id = wallet THEN source := asset; has_source := true; END IF;
        IF asset.id = target_id THEN target := asset; has_target := true; END IF;
    END LOOP;
    IF NOT has_source OR (target_id IS NOT NULL AND NOT has_target) THEN
        RAISE EXCEPTION 'No such wallet.' USING ERRCODE = 'WM404', DETAIL = 'not_found';
    END IF;

    outgoing := kind IN ('withdrawal', 'transfer', 'exchange') OR (kind = 'adjustment' AND direction = 'debit');
    IF kind = 'adjustment' AND direction NOT IN ('credit', 'debit') THEN
        RAISE EXCEPTION 'Choose "credit" or "debit".' USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'direction';
    END IF;
    PERFORM ledger.check_can_move(source.owner_status, source.status, source.balance_kind, source.balance_currency,
                                  source.balance_status, cur, outgoing);
    IF kind = 'transfer' THEN
        BEGIN
            PERFORM ledger.check_can_move(target.owner_status, target.status, target.balance_kind,
                                          target.balance_currency, target.balance_status, cur, false);
        EXCEPTION WHEN SQLSTATE 'WM409' THEN
            -- Whether the recipient is blocked, closed or frozen is not the sender's business.
            RAISE EXCEPTION 'The recipient''s wallet cannot receive this payment.'
                USING ERRCODE = 'WM409', DETAIL = 'recipient_unavailable';
        END;
    ELSIF kind = 'exchange' THEN
        IF target.owner_id <> source.owner_id THEN
            RAISE EXCEPTION 'The target wallet must be one of your own.'
                USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'to_wallet';
        END IF;
        PERFORM ledger.check_can_move(target.owner_status, target.status, target.balance_kind,
                                      target.balance_currency, target.balance_status, to_cur, false);
    END IF;

    SELECT
        (pg_catalog.array_agg(w.id) FILTER (WHERE w.system_role = 'external'))[1] AS external,
        (pg_catalog.array_agg(w.id) FILTER (WHERE w.system_role = 'fx'))[1] AS fx,
        (pg_catalog.array_agg(w.id) FILTER (WHERE w.system_role = 'fees'))[1] AS fees
      INTO system_ids
      FROM public.wallets_wallet AS w WHERE w.system_role IN ('external', 'fx', 'fees');

    -- The legs, from the kind (PostgreSQL checks they sum to zero per currency at COMMIT).
    status := 'posted';
    IF kind = 'deposit' THEN
        status := 'pending';
        legs_wallet := '{}'; legs_currency := '{}'; legs_amount := '{}';
    ELSIF kind = 'withdrawal' THEN
        legs_wallet := ARRAY[wallet, system_ids.external, system_ids.fees];
        legs_currency := ARRAY[currency, currency, currency];
        legs_amount := ARRAY[-(amount + fee), amount, fee];
    ELSIF kind = 'transfer' THEN
        legs_wallet := ARRAY[wallet, target_id, system_ids.fees];
        legs_currency := ARRAY[currency, currency, currency];
        legs_amount := ARRAY[-(amount + fee), amount, fee];
    ELSIF kind = 'exchange' THEN
        IF fee >= amount THEN
            RAISE EXCEPTION 'The amount must exceed the fee of % %.', ledger.format_number(fee), currency
                USING ERRCODE = 'WM400', DETAIL = 'amount_too_small', HINT = 'amount';
        END IF;
        legs_wallet := ARRAY[wallet, system_ids.fx, system_ids.fees, system_ids.fx, target_id];
        legs_currency := ARRAY[currency, currency, currency, to_currency, to_currency];
        legs_amount := ARRAY[-amount, amount - fee, fee, -to_amount, to_amount];
    ELSE  -- adjustment
        legs_wallet := ARRAY[wallet, system_ids.external];
        legs_currency := ARRAY[currency, currency];
        legs_amount := CASE WHEN direction = 'debit' THEN ARRAY[-amount, amount] ELSE ARRAY[amount, -amount] END;
    END IF;

    -- The client assets this movement changes: opened if missing (sorted), then locked in id order.
    INSERT INTO public.balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence, updated_at)
    SELECT b.id, k.currency_id, 0, 0, w.credit_limit, 0, moment
      FROM (SELECT DISTINCT l.wallet_id, l.currency_id
              FROM unnest(legs_wallet, legs_currency) AS l(wallet_id, currency_id)) AS k
      JOIN public.wallets_wallet AS w ON w.id = k.wallet_id AND w.system_role IS NULL
      JOIN public.balances_balance AS b ON b.wallet_id = w.id
     ORDER BY b.id, k.currency_id
    ON CONFLICT (balance_id, currency_id) DO NOTHING;

    -- Lock the assets in id order (two movements over the same assets lock them in the same order and
    -- cannot deadlock). Velocity and floors are read after the locks, so concurrent movements out of
    -- one wallet count each other.
    FOR need IN
        SELECT a.id, b.wallet_id, a.currency_id, a.posted, a.held, a.credit_limit
          FROM public.balances_balanceasset AS a
          JOIN public.balances_balance AS b ON b.id = a.balance_id
         WHERE b.wallet_id IN (wallet, target_id)
           AND a.currency_id IN (currency, to_currency)
         ORDER BY a.id
           FOR UPDATE OF a
    LOOP
        NULL;  -- locked, in id order
    END LOOP;

    IF kind IN ('withdrawal', 'transfer', 'exchange')
       AND (cur.daily_outgoing_limit IS NOT NULL OR (kind = 'withdrawal' AND cur.withdrawal_approval_threshold IS NOT NULL)) THEN
        SELECT v.outgoing, v.withdrawn INTO sent, withdrawn FROM ledger.outgoing_last_day(wallet, currency, moment) AS v;
        IF cur.daily_outgoing_limit IS NOT NULL AND sent + amount > cur.daily_outgoing_limit THEN
            RAISE EXCEPTION 'At most % % may leave this wallet per 24 hours; % % remain.',
                ledger.format_number(cur.daily_outgoing_limit), currency,
                ledger.format_number(GREATEST(cur.daily_outgoing_limit - sent, 0)), currency
                USING ERRCODE = 'WM409', DETAIL = 'daily_limit_exceeded';
        END IF;
        IF kind = 'withdrawal' AND cur.withdrawal_approval_threshold IS NOT NULL
           AND withdrawn + amount >= cur.withdrawal_approval_threshold THEN
            -- Held until an operator decides: no entries yet, amount + fee held.
            status := 'pending';
            hold := amount + fee;
            legs_wallet := '{}'; legs_currency := '{}'; legs_amount := '{}';
        END IF;
    END IF;

    -- Floors: every client asset whose available amount drops must stay at or above its floor.
    FOR need IN
        SELECT a.currency_id, a.posted, a.held, a.credit_limit,
               COALESCE(d.delta, 0) AS posted_delta,
               CASE WHEN b.wallet_id = wallet AND a.currency_id = currency THEN hold ELSE 0 END AS held_delta
          FROM public.balances_balanceasset AS a
          JOIN public.balances_balance AS b ON b.id = a.balance_id
          LEFT JOIN (SELECT l.wallet_id, l.currency_id, pg_catalog.sum(l.amount) AS delta
                       FROM unnest(legs_wallet, legs_currency, legs_amount) AS l(wallet_id, currency_id, amount)
                      GROUP BY l.wallet_id, l.currency_id) AS d
            ON d.wallet_id = b.wallet_id AND d.currency_id = a.currency_id
         WHERE b.wallet_id IN (wallet, target_id) AND a.currency_id IN (currency, to_currency)
    LOOP
        IF pg_catalog.abs(need.posted + need.posted_delta) >= 1e20 OR need.held + need.held_delta >= 1e20 THEN
            RAISE EXCEPTION 'The resulting balance would exceed the largest amount the ledger can hold.'
                USING ERRCODE = 'WM409', DETAIL = 'amount_out_of_range';
        END IF;
        IF need.posted_delta - need.held_delta < 0
           AND need.posted + need.posted_delta - need.held - need.held_delta + need.credit_limit < 0 THEN
            RAISE EXCEPTION 'Not enough available %: % available, % needed.', need.currency_id,
                ledger.format_number(need.posted - need.held + need.credit_limit),
                ledger.format_number(-(need.posted_delta - need.held_delta))
                USING ERRCODE = 'WM409', DETAIL = 'insufficient_funds';
        END IF;
    END LOOP;

    -- The transaction (a pending withdrawal's hold starts by trigger), its entries, its event.
    t := pg_catalog.jsonb_populate_record(NULL::public.transactions_transaction, pg_catalog.jsonb_build_object(
        'id', new_id, 'kind', kind, 'status', status, 'wallet_id', wallet, 'currency_id', currency,
        'amount', amount, 'fee', fee,
        'to_wallet_id', CASE WHEN kind IN ('transfer', 'exchange') THEN target_id END,
        'to_currency_id', CASE WHEN kind = 'exchange' THEN to_currency END,
        'to_amount', CASE WHEN kind = 'exchange' THEN to_amount END,
        'rate', CASE WHEN kind = 'exchange' THEN rate END,
        'description', COALESCE(description, ''), 'created_by_id', actor, 'created_at', moment,
        'posted_at', CASE WHEN status = 'posted' THEN moment END, 'reason', COALESCE(reason, ''),
        'reference', CASE WHEN kind = 'deposit' THEN reference END));
    INSERT INTO public.transactions_transaction SELECT t.*;
    INSERT INTO public.transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)
    SELECT new_id, l.wallet_id, l.currency_id, pg_catalog.sum(l.amount), moment
      FROM unnest(legs_wallet, legs_currency, legs_amount) WITH ORDINALITY AS l(wallet_id, currency_id, amount, n)
     GROUP BY l.wallet_id, l.currency_id
    HAVING pg_catalog.sum(l.amount) <> 0
     ORDER BY pg_catalog.min(l.n);

    SELECT a.posted, a.held, a.credit_limit INTO after_posted, after_held, after_limit
      FROM public.balances_balanceasset AS a JOIN public.balances_balance AS b ON b.id = a.balance_id
     WHERE b.wallet_id = wallet AND a.currency_id = currency;

    action := kind || CASE WHEN status = 'pending' THEN '.requested' ELSE '.posted' END;
    audit_data := pg_catalog.jsonb_build_object(
        'kind', kind, 'status', status, 'wallet', wallet::text, 'currency', currency,
        'amount', ledger.format_amount(amount, cur.decimals), 'fee', ledger.format_amount(fee, cur.decimals));
    IF t.to_wallet_id IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('to_wallet', t.to_wallet_id::text);
    END IF;
    IF kind = 'exchange' THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('to_currency', to_currency,
            'to_amount', ledger.format_amount(to_amount, to_cur.decimals), 'rate', ledger.format_number(rate));
    END IF;
    IF t.reference IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('reference', t.reference);
    END IF;
    IF kind <> 'deposit' AND after_posted IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('after', pg_catalog.jsonb_build_object(
            'posted', ledger.format_amount(after_posted, cur.decimals),
            'held', ledger.format_amount(after_held, cur.decimals)));
    END IF;
    PERFORM ledger.audit_append(actor, action, 'transactions.transaction', new_id::text, COALESCE(reason, ''),
                                audit_data, ip);
    PERFORM ledger.publish(t, status);

    RETURN QUERY SELECT pg_catalog.to_jsonb(t), after_posted, after_held, after_limit, false;
END;
$$;
COMMENT ON FUNCTION ledger.move(uuid, text, bigint, inet, uuid, text, numeric, numeric, text, uuid, text, numeric,
                                numeric, text, text, text, text) IS
    'Write one new movement (deposit request, withdrawal, transfer, exchange, adjustment) in one statement.';

-- Resolving a pending movement (SPEC §16): a withdrawal approved (posted), rejected, cancelled or
-- expired; a deposit confirmed or settled (posted with the amount received), rejected or expired. One
-- statement: the transaction's row locked first (exactly one resolution wins), the operator's checks
-- (never their own wallet, never the deposit they recorded), the wallet, owner and balance
-- share-locked and checked when money moves, the asset locked and its floor checked, the transaction
-- updated (a withdrawal's hold ends by trigger), its entries, audit event and outbox row written.
-- A settlement names the provider's payment id: the same id again returns the first result.
CREATE FUNCTION ledger.resolve(
    transaction_id uuid,
    expected_kind text,
    outcome text,
    actor bigint,
    ip inet,
    reason text,
    fee numeric,
    received_amount numeric,
    provider_id text,
    resolved_at timestamptz,
    operator_checks boolean,
    owner bigint,
    reference text,
    currency text
) RETURNS TABLE (txn jsonb, posted numeric, held numeric, credit_limit numeric, replayed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_variable
DECLARE
    moment timestamptz := pg_catalog.clock_timestamp();
    t public.transactions_transaction;
    earlier public.transactions_transaction;
    cur public.balances_currency;
    w record;
    status text;
    received numeric;
    asset record;
    legs_wallet uuid[] := '{}';
    legs_amount numeric[] := '{}';
    system_ids record;
    after_posted numeric;
    after_held numeric;
    after_limit numeric;
    action text;
    audit_data jsonb;
BEGIN
    IF provider_id IS NOT NULL THEN
        SELECT * INTO earlier FROM public.transactions_transaction AS x WHERE x.provider_id = resolve.provider_id;
        IF FOUND THEN
            RETURN QUERY SELECT pg_catalog.to_jsonb(earlier), NULL::numeric, NULL::numeric, NULL::numeric, true;
            RETURN;
        END IF;
    END IF;
    IF transaction_id IS NULL THEN
        -- A provider's settlement names the deposit by the reference the client quoted.
        SELECT x.id INTO transaction_id FROM public.transactions_transaction AS x
         WHERE x.reference = pg_catalog.upper(pg_catalog.btrim(reference)) AND x.kind = 'deposit';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'No deposit has this reference.' USING ERRCODE = 'WM404', DETAIL = 'not_found';
        END IF;
    END IF;
    SELECT * INTO t FROM public.transactions_transaction AS x WHERE x.id = transaction_id FOR NO KEY UPDATE;
    IF NOT FOUND OR (owner IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM public.wallets_wallet AS y WHERE y.id = t.wallet_id AND y.owner_id = owner)) THEN
        RAISE EXCEPTION 'No such transaction.' USING ERRCODE = 'WM404', DETAIL = 'not_found';
    END IF;
    IF provider_id IS NOT NULL AND t.provider_id IS NOT DISTINCT FROM provider_id THEN
        RETURN QUERY SELECT pg_catalog.to_jsonb(t), NULL::numeric, NULL::numeric, NULL::numeric, true;
        RETURN;
    END IF;
    IF t.kind <> expected_kind OR t.status <> 'pending' THEN
        IF expected_kind = 'deposit' THEN
            RAISE EXCEPTION 'Only a pending deposit can be confirmed or rejected; this is a % %.', t.status, t.kind
                USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
        END IF;
        RAISE EXCEPTION 'Only a pending withdrawal can be resolved; this one is %.', t.status
            USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    END IF;
    IF currency IS NOT NULL AND pg_catalog.upper(pg_catalog.btrim(currency)) <> t.currency_id THEN
        RAISE EXCEPTION 'This deposit is in %.', t.currency_id USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'currency';
    END IF;
    IF outcome NOT IN ('post', 'reject', 'cancel', 'expire') THEN
        RAISE EXCEPTION 'a pending movement is posted, rejected, cancelled or expired, not %', outcome
            USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'outcome';
    END IF;

    -- The wallet, its owner and balance, share-locked as every movement takes them.
    SELECT y.id, y.status, y.owner_id, o.status AS owner_status, b.kind AS balance_kind,
           b.currency_id AS balance_currency, b.status AS balance_status
      INTO w
      FROM public.wallets_wallet AS y
      JOIN public.users_user AS o ON o.id = y.owner_id
      JOIN public.balances_balance AS b ON b.wallet_id = y.id
     WHERE y.id = t.wallet_id
       FOR SHARE OF y, o, b;
    IF operator_checks THEN
        IF actor IS NOT NULL AND w.owner_id = actor THEN
            RAISE EXCEPTION 'This touches a wallet you own: another operator must do it.'
                USING ERRCODE = 'WM403', DETAIL = 'own_wallet';
        END IF;
        IF t.kind = 'deposit' AND actor IS NOT NULL AND t.created_by_id = actor THEN
            RAISE EXCEPTION 'You recorded this deposit: another operator must confirm or reject it.'
                USING ERRCODE = 'WM403', DETAIL = 'same_operator';
        END IF;
    END IF;
    SELECT * INTO cur FROM public.balances_currency AS c WHERE c.code = t.currency_id;

    status := CASE outcome WHEN 'post' THEN 'posted' WHEN 'reject' THEN 'rejected'
                           WHEN 'cancel' THEN 'cancelled' ELSE 'expired' END;
    IF status = 'posted' THEN
        PERFORM ledger.check_can_move(w.owner_status, w.status, w.balance_kind, w.balance_currency,
                                      w.balance_status, cur, t.kind = 'withdrawal');
        SELECT
            (pg_catalog.array_agg(s.id) FILTER (WHERE s.system_role = 'external'))[1] AS external,
            (pg_catalog.array_agg(s.id) FILTER (WHERE s.system_role = 'fees'))[1] AS fees
          INTO system_ids
          FROM public.wallets_wallet AS s WHERE s.system_role IN ('external', 'fees');
        IF t.kind = 'withdrawal' THEN
            fee := t.fee;
            legs_wallet := ARRAY[t.wallet_id, system_ids.external, system_ids.fees];
            legs_amount := ARRAY[-(t.amount + t.fee), t.amount, t.fee];
        ELSE
            received := COALESCE(received_amount, t.amount);
            IF fee IS NULL OR fee < 0 THEN
                RAISE EXCEPTION 'a deposit posts with its fee' USING ERRCODE = 'WM400', DETAIL = 'invalid', HINT = 'fee';
            ELSIF fee >= received THEN
                RAISE EXCEPTION 'The amount received must exceed the fee of % %.', ledger.format_number(fee), t.currency_id
                    USING ERRCODE = 'WM400', DETAIL = 'amount_too_small', HINT = 'amount';
            END IF;
            legs_wallet := ARRAY[system_ids.external, t.wallet_id, system_ids.fees];
            legs_amount := ARRAY[-received, received - fee, fee];
            -- A multi-currency balance's first use of the currency opens its asset.
            INSERT INTO public.balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence, updated_at)
            SELECT b.id, t.currency_id, 0, 0, y.credit_limit, 0, moment
              FROM public.balances_balance AS b JOIN public.wallets_wallet AS y ON y.id = b.wallet_id
             WHERE b.wallet_id = t.wallet_id
            ON CONFLICT (balance_id, currency_id) DO NOTHING;
        END IF;
    ELSE
        fee := t.fee;
    END IF;

    -- The asset, locked (a withdrawal's hold becomes its debit: available does not change; the
    -- asset's CHECK refuses anything below the floor all the same).
    SELECT a.id, a.posted, a.held, a.credit_limit INTO asset
      FROM public.balances_balanceasset AS a JOIN public.balances_balance AS b ON b.id = a.balance_id
     WHERE b.wallet_id = t.wallet_id AND a.currency_id = t.currency_id
       FOR UPDATE OF a;
    IF status = 'posted' AND t.kind = 'deposit' AND FOUND AND pg_catalog.abs(asset.posted + received - fee) >= 1e20 THEN
        RAISE EXCEPTION 'The resulting balance would exceed the largest amount the ledger can hold.'
            USING ERRCODE = 'WM409', DETAIL = 'amount_out_of_range';
    END IF;

    UPDATE public.transactions_transaction AS x
       SET status = status,
           fee = CASE WHEN t.kind = 'deposit' AND status = 'posted' THEN fee ELSE x.fee END,
           received_amount = CASE WHEN t.kind = 'deposit' AND status = 'posted' THEN received END,
           provider_id = resolve.provider_id,
           posted_at = CASE WHEN status = 'posted' THEN COALESCE(resolved_at, moment) END,
           resolved_at = COALESCE(resolved_at, moment),
           reason = CASE WHEN COALESCE(reason, '') <> '' THEN reason ELSE x.reason END
     WHERE x.id = t.id
    RETURNING x.* INTO t;
    INSERT INTO public.transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)
    SELECT t.id, l.wallet_id, t.currency_id, l.amount, moment
      FROM unnest(legs_wallet, legs_amount) WITH ORDINALITY AS l(wallet_id, amount, n)
     WHERE l.amount <> 0
     ORDER BY l.n;

    SELECT a.posted, a.held, a.credit_limit INTO after_posted, after_held, after_limit
      FROM public.balances_balanceasset AS a JOIN public.balances_balance AS b ON b.id = a.balance_id
     WHERE b.wallet_id = t.wallet_id AND a.currency_id = t.currency_id;

    action := CASE
        WHEN status = 'posted' AND t.kind = 'withdrawal' THEN 'withdrawal.approved'
        WHEN status = 'posted' AND actor IS NOT NULL THEN 'deposit.confirmed'
        WHEN status = 'posted' THEN 'deposit.settled'
        ELSE t.kind || '.' || status END;
    audit_data := pg_catalog.jsonb_build_object(
        'kind', t.kind, 'status', status, 'wallet', t.wallet_id::text, 'currency', t.currency_id,
        'amount', ledger.format_amount(t.amount, cur.decimals), 'fee', ledger.format_amount(t.fee, cur.decimals));
    IF t.reference IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('reference', t.reference);
    END IF;
    IF t.received_amount IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object(
            'received_amount', ledger.format_amount(t.received_amount, cur.decimals));
    END IF;
    IF t.provider_id IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('provider_id', t.provider_id);
    END IF;
    IF after_posted IS NOT NULL AND (status = 'posted' OR t.kind = 'withdrawal') THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('after', pg_catalog.jsonb_build_object(
            'posted', ledger.format_amount(after_posted, cur.decimals),
            'held', ledger.format_amount(after_held, cur.decimals)));
    END IF;
    PERFORM ledger.audit_append(actor, action, 'transactions.transaction', t.id::text, COALESCE(reason, ''),
                                audit_data, ip);
    PERFORM ledger.publish(t, status);

    RETURN QUERY SELECT pg_catalog.to_jsonb(t), after_posted, after_held, after_limit, false;
END;
$$;
COMMENT ON FUNCTION ledger.resolve(uuid, text, text, bigint, inet, text, numeric, numeric, text, timestamptz, boolean,
                                   bigint, text, text) IS
    'Resolve a pending withdrawal or deposit in one statement: post, reject, cancel or expire it.';

-- Reversing a posted transaction (SPEC §5, §16): a new transaction of kind reversal whose entries are
-- the original's, negated, and the original marked reversed, together, in one statement. Refused for
-- a reversal, a transaction reversed already or not posted, one that touches a closed wallet or a
-- wallet the operator owns, or one that would overdraw a wallet (frozen balances do not stop it: it
-- is the operators' correction). The original's row is locked first: it is reversed at most once.
CREATE FUNCTION ledger.reverse(transaction_id uuid, actor bigint, ip inet, reason text)
RETURNS TABLE (txn jsonb, posted numeric, held numeric, credit_limit numeric, replayed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_variable
DECLARE
    moment timestamptz := pg_catalog.clock_timestamp();
    original public.transactions_transaction;
    t public.transactions_transaction;
    cur public.balances_currency;
    to_cur public.balances_currency;
    need record;
    after_posted numeric;
    after_held numeric;
    after_limit numeric;
    audit_data jsonb;
BEGIN
    SELECT * INTO original FROM public.transactions_transaction AS x WHERE x.id = transaction_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No such transaction.' USING ERRCODE = 'WM404', DETAIL = 'not_found';
    ELSIF original.kind = 'reversal' THEN
        RAISE EXCEPTION 'A reversal cannot be reversed.' USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    ELSIF original.status = 'reversed' THEN
        RAISE EXCEPTION 'The transaction has already been reversed.' USING ERRCODE = 'WM409', DETAIL = 'already_reversed';
    ELSIF original.status <> 'posted' THEN
        RAISE EXCEPTION 'Only a posted transaction can be reversed; this one is %.', original.status
            USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    END IF;

    -- The client wallets it touched, share-locked in wallet order: none the operator's, none closed.
    FOR need IN
        SELECT y.id, y.status, y.owner_id
          FROM public.wallets_wallet AS y
          JOIN public.balances_balance AS b ON b.wallet_id = y.id
         WHERE y.id IN (SELECT e.wallet_id FROM public.transactions_entry AS e WHERE e.transaction_id = original.id)
           AND y.system_role IS NULL
         ORDER BY y.id
           FOR SHARE OF y, b
    LOOP
        IF actor IS NOT NULL AND need.owner_id = actor THEN
            RAISE EXCEPTION 'This touches a wallet you own: another operator must do it.'
                USING ERRCODE = 'WM403', DETAIL = 'own_wallet';
        ELSIF need.status = 'closed' THEN
            RAISE EXCEPTION 'The transaction touches a closed wallet.' USING ERRCODE = 'WM409', DETAIL = 'wallet_closed';
        END IF;
    END LOOP;

    -- Its client assets, locked in id order; each one the reversal takes money from keeps its floor.
    FOR need IN
        SELECT a.currency_id, a.posted, a.held, a.credit_limit, -d.amount AS delta
          FROM (SELECT e.wallet_id, e.currency_id, pg_catalog.sum(e.amount) AS amount
                  FROM public.transactions_entry AS e WHERE e.transaction_id = original.id
                 GROUP BY e.wallet_id, e.currency_id) AS d
          JOIN public.balances_balance AS b ON b.wallet_id = d.wallet_id
          JOIN public.balances_balanceasset AS a ON a.balance_id = b.id AND a.currency_id = d.currency_id
         ORDER BY a.id
           FOR UPDATE OF a
    LOOP
        IF need.delta < 0 AND need.posted + need.delta - need.held + need.credit_limit < 0 THEN
            RAISE EXCEPTION 'Not enough available %: % available, % needed.', need.currency_id,
                ledger.format_number(need.posted - need.held + need.credit_limit), ledger.format_number(-need.delta)
                USING ERRCODE = 'WM409', DETAIL = 'insufficient_funds';
        END IF;
    END LOOP;

    t := pg_catalog.jsonb_populate_record(NULL::public.transactions_transaction, pg_catalog.jsonb_build_object(
        'id', pg_catalog.gen_random_uuid(), 'kind', 'reversal', 'status', 'posted',
        'wallet_id', original.wallet_id, 'currency_id', original.currency_id,
        'amount', original.amount, 'fee', original.fee, 'to_wallet_id', original.to_wallet_id,
        'to_currency_id', original.to_currency_id, 'to_amount', original.to_amount, 'rate', original.rate,
        'description', 'Reversal of ' || original.id::text, 'reverses_id', original.id,
        'reason', COALESCE(reason, ''), 'created_by_id', actor, 'created_at', moment, 'posted_at', moment));
    INSERT INTO public.transactions_transaction SELECT t.*;
    UPDATE public.transactions_transaction AS x SET status = 'reversed' WHERE x.id = original.id
    RETURNING x.* INTO original;
    INSERT INTO public.transactions_entry (transaction_id, wallet_id, currency_id, amount, created_at)
    SELECT t.id, e.wallet_id, e.currency_id, -e.amount, moment
      FROM public.transactions_entry AS e
     WHERE e.transaction_id = original.id
     ORDER BY e.id;

    SELECT a.posted, a.held, a.credit_limit INTO after_posted, after_held, after_limit
      FROM public.balances_balanceasset AS a JOIN public.balances_balance AS b ON b.id = a.balance_id
     WHERE b.wallet_id = t.wallet_id AND a.currency_id = t.currency_id;
    SELECT * INTO cur FROM public.balances_currency AS c WHERE c.code = t.currency_id;
    audit_data := pg_catalog.jsonb_build_object(
        'kind', 'reversal', 'status', 'posted', 'wallet', t.wallet_id::text, 'currency', t.currency_id,
        'amount', ledger.format_amount(t.amount, cur.decimals), 'fee', ledger.format_amount(t.fee, cur.decimals));
    IF t.to_wallet_id IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('to_wallet', t.to_wallet_id::text);
    END IF;
    IF t.to_currency_id IS NOT NULL THEN
        SELECT * INTO to_cur FROM public.balances_currency AS c WHERE c.code = t.to_currency_id;
        audit_data := audit_data || pg_catalog.jsonb_build_object('to_currency', t.to_currency_id,
            'to_amount', ledger.format_amount(t.to_amount, to_cur.decimals), 'rate', ledger.format_number(t.rate));
    END IF;
    IF after_posted IS NOT NULL THEN
        audit_data := audit_data || pg_catalog.jsonb_build_object('after', pg_catalog.jsonb_build_object(
            'posted', ledger.format_amount(after_posted, cur.decimals),
            'held', ledger.format_amount(after_held, cur.decimals)));
    END IF;
    PERFORM ledger.audit_append(actor, 'reversal.posted', 'transactions.transaction', t.id::text,
                                COALESCE(reason, ''), audit_data, ip);
    PERFORM ledger.audit_append(actor, original.kind || '.reversed', 'transactions.transaction', original.id::text,
                                COALESCE(reason, ''), pg_catalog.jsonb_build_object(
                                    'before', pg_catalog.jsonb_build_object('status', 'posted'),
                                    'after', pg_catalog.jsonb_build_object('status', 'reversed'),
                                    'reversal', t.id::text), ip);
    PERFORM ledger.publish(t, 'posted');
    PERFORM ledger.publish(original, 'reversed');

    RETURN QUERY SELECT pg_catalog.to_jsonb(t), after_posted, after_held, after_limit, false;
END;
$$;
COMMENT ON FUNCTION ledger.reverse(uuid, bigint, inet, text) IS
    'Reverse a posted transaction: the reversal with the original''s entries negated, the original reversed.';
