-- The ledger's one door (SPEC §16), balances part: a wallet's balance is opened by ledger.balance_open.
--
-- Guarantees
-- * The runtime role inserts no balance or asset itself: a balance is opened once per client wallet
--   (a single-currency one with its asset, at the wallet's credit limit), an asset appears only
--   through this function or ledger.lock_assets, starting at zero.
-- * Of a balance, the runtime role may change only what an operator changes through a service
--   (status, freeze reason, frozen time); a balance never moves to another wallet.
-- Called by: balances.services.balance_open (wallet_create).

CREATE FUNCTION ledger.balance_open(wallet uuid, kind text, currency text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    opened bigint;
    limit_ numeric;
BEGIN
    SELECT w.credit_limit INTO limit_ FROM public.wallets_wallet AS w
     WHERE w.id = wallet AND w.system_role IS NULL
       FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'No such wallet.' USING ERRCODE = 'WM404', DETAIL = 'not_found';
    END IF;
    IF kind = 'regular' THEN
        IF NOT EXISTS (SELECT 1 FROM public.balances_currency AS c WHERE c.code = currency AND c.is_active) THEN
            RAISE EXCEPTION '% is not an active currency.', currency USING ERRCODE = 'WM409', DETAIL = 'currency_not_allowed';
        END IF;
    ELSIF kind = 'multi' THEN
        currency := NULL;
    ELSE
        RAISE EXCEPTION 'a balance is regular or multi, not %', kind USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    END IF;
    INSERT INTO public.balances_balance AS b (wallet_id, kind, currency_id, status, freeze_reason, frozen_at, created_at)
    VALUES (wallet, kind, currency, 'active', '', NULL, pg_catalog.clock_timestamp())
    RETURNING b.id INTO opened;
    IF kind = 'regular' THEN
        INSERT INTO public.balances_balanceasset (balance_id, currency_id, posted, held, credit_limit, sequence, updated_at)
        VALUES (opened, currency, 0, 0, COALESCE(limit_, 0), 0, pg_catalog.clock_timestamp());
    END IF;
    RETURN opened;
END;
$$;
COMMENT ON FUNCTION ledger.balance_open(uuid, text, text) IS
    'Open a client wallet''s balance (a single-currency one with its asset); returns its id.';
