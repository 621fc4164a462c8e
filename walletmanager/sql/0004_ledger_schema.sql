-- The ledger's one door (SPEC §16), kernel part: the `ledger` schema, the audit trail's writers, and
-- the kernel's trigger functions made immune to the caller's search_path.
--
-- Guarantees
-- * Every function here is owned by the owner role. The definer ones run with its rights and resolve
--   no name through the caller's search_path (SET search_path = '', every object schema-qualified), so
--   a temporary table, sequence or function of the caller can never stand in for one of ours.
-- * Nobody may create temporary objects in this database but its owner (TEMP revoked from PUBLIC).
-- * The runtime role appends audit events and seals only through ledger.audit_append and
--   ledger.audit_seal_append; a seal must chain onto the newest block and cover exactly the next
--   events, none past the settled horizon.
-- Called by: walletmanager.audit (every audit event) and walletmanager.audit_seal (sealing).

CREATE SCHEMA IF NOT EXISTS ledger;
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;

DO $$
BEGIN
    EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', pg_catalog.current_database());
END $$;

-- Trigger functions of the kernel, re-created with an empty search_path.
CREATE OR REPLACE FUNCTION public.walletmanager_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE OR REPLACE FUNCTION public.walletmanager_auditevent_number() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
    PERFORM pg_catalog.pg_current_xact_id();
    NEW.id := pg_catalog.nextval('public.walletmanager_auditevent_id_seq'::pg_catalog.regclass);
    RETURN NEW;
END;
$$;

-- One audit event, stamped now, numbered by the audit sequence (trigger). Returns its id and time.
CREATE FUNCTION ledger.audit_append(
    actor bigint, action text, target_type text, target_id text, reason text, data jsonb, ip inet,
    OUT id bigint, OUT created_at timestamptz
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
    IF action IS NULL OR action = '' THEN
        RAISE EXCEPTION 'an audit event needs an action' USING ERRCODE = 'not_null_violation';
    END IF;
    INSERT INTO public.walletmanager_auditevent AS e (actor_id, action, target_type, target_id, reason, data, ip, created_at)
    VALUES (actor, action, COALESCE(target_type, ''), COALESCE(target_id, ''), COALESCE(reason, ''),
            COALESCE(data, '{}'::jsonb), ip, pg_catalog.clock_timestamp())
    RETURNING e.id, e.created_at INTO id, created_at;
END;
$$;
COMMENT ON FUNCTION ledger.audit_append(bigint, text, text, text, text, jsonb, inet) IS
    'Append one audit event (stamped now); the only way the runtime role writes the trail.';

-- A block of the seal. The hash is the sealer's (verify_audit recomputes every block); what the
-- database guarantees is the chain's shape: one successor per block, no gap, no overlap, nothing
-- past the last event the audit sequence handed out.
CREATE FUNCTION ledger.audit_seal_append(
    first_event_id bigint, last_event_id bigint, event_count integer, previous_hash text, hash text
) RETURNS public.walletmanager_auditseal
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    tip public.walletmanager_auditseal;
    expected_first bigint;
    horizon bigint;
    counted bigint;
    sealed public.walletmanager_auditseal;
BEGIN
    -- The sealers' lock ("seal" in ASCII): two sealers chain one after the other.
    PERFORM pg_catalog.pg_advisory_xact_lock(1936023916);
    SELECT * INTO tip FROM public.walletmanager_auditseal s ORDER BY s.last_event_id DESC LIMIT 1;
    IF previous_hash IS DISTINCT FROM COALESCE(tip.hash, pg_catalog.repeat('0', 64)) THEN
        RAISE EXCEPTION 'a seal must chain onto the newest block'
            USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    END IF;
    SELECT pg_catalog.min(e.id) INTO expected_first
      FROM public.walletmanager_auditevent e WHERE e.id > COALESCE(tip.last_event_id, 0);
    horizon := COALESCE(pg_catalog.pg_sequence_last_value('public.walletmanager_auditevent_id_seq'::pg_catalog.regclass), 0);
    IF expected_first IS NULL OR first_event_id IS DISTINCT FROM expected_first THEN
        RAISE EXCEPTION 'a seal must start at the first unsealed event (%)', expected_first
            USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    END IF;
    IF last_event_id IS NULL OR last_event_id < first_event_id OR last_event_id > horizon
       OR NOT EXISTS (SELECT 1 FROM public.walletmanager_auditevent e WHERE e.id = last_event_id) THEN
        RAISE EXCEPTION 'a seal must end at an event that exists (at most #%)', horizon
            USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    END IF;
    SELECT pg_catalog.count(*) INTO counted
      FROM public.walletmanager_auditevent e WHERE e.id BETWEEN first_event_id AND last_event_id;
    IF counted IS DISTINCT FROM event_count::bigint THEN
        RAISE EXCEPTION 'the block holds % events, not %', counted, event_count
            USING ERRCODE = 'WM409', DETAIL = 'invalid_state';
    END IF;
    -- An event that an older transaction commits later inside this range makes the block's hash
    -- wrong, which verify_audit reports: the sealer (walletmanager.audit_seal) waits for those first.
    INSERT INTO public.walletmanager_auditseal AS s
        (first_event_id, last_event_id, event_count, previous_hash, hash, sealed_at)
    VALUES (first_event_id, last_event_id, event_count, previous_hash, hash, pg_catalog.clock_timestamp())
    RETURNING s.* INTO sealed;
    RETURN sealed;
END;
$$;
COMMENT ON FUNCTION ledger.audit_seal_append(bigint, bigint, integer, text, text) IS
    'Append the next block of the audit seal: chained onto the newest, covering exactly the next events.';
