-- The redemption as 2026-11-23-000003 made it.
CREATE OR REPLACE FUNCTION ww_redeem_refresh(
    p_hash TEXT, p_tenant TEXT, p_client TEXT, p_now BIGINT,
    p_new_id TEXT, p_new_hash TEXT, p_idle BIGINT, p_scope TEXT
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    status TEXT;
    n INTEGER;
BEGIN
    SELECT t.*, u.enabled AS user_enabled INTO r
        FROM refresh_tokens t LEFT JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
        WHERE t.token_hash = p_hash;
    IF NOT FOUND OR r.tenant_id <> p_tenant OR r.client_id <> p_client THEN
        RETURN '{"status":"invalid"}';
    END IF;
    IF r.revoked_at IS NOT NULL THEN
        status := 'revoked';
    ELSIF r.used_at IS NOT NULL THEN
        UPDATE refresh_tokens t SET revoked_at = p_now WHERE t.family_id = r.family_id AND t.revoked_at IS NULL;
        UPDATE refresh_tokens t SET revoked_at = p_now WHERE t.family_id = r.family_id AND t.revoked_at IS NULL;
        status := 'reused';
    ELSIF p_now >= r.expires_at OR p_now >= r.family_expires_at THEN
        status := 'expired';
    ELSIF p_scope IS NOT NULL AND NOT (string_to_array(p_scope, ' ') <@ string_to_array(r.scope, ' ')) THEN
        status := 'scope';
    ELSIF r.user_enabled IS DISTINCT FROM TRUE THEN
        status := 'disabled';
    ELSE
        UPDATE refresh_tokens t SET used_at = p_now
            WHERE t.id = r.id AND t.used_at IS NULL AND t.revoked_at IS NULL;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            -- Used or revoked since the read: the other redemption or revocation wins.
            SELECT * INTO r FROM refresh_tokens t WHERE t.id = r.id;
            IF r.revoked_at IS NULL AND r.used_at IS NOT NULL THEN
                UPDATE refresh_tokens t SET revoked_at = p_now WHERE t.family_id = r.family_id AND t.revoked_at IS NULL;
                UPDATE refresh_tokens t SET revoked_at = p_now WHERE t.family_id = r.family_id AND t.revoked_at IS NULL;
                status := 'reused';
            ELSE
                status := 'revoked';
            END IF;
        ELSE
            INSERT INTO refresh_tokens (id, tenant_id, family_id, client_id, user_id, sid, scope,
                token_hash, auth_time, amr, issued_at, expires_at, family_expires_at, used_at,
                revoked_at, origin_sid)
            VALUES (p_new_id, r.tenant_id, r.family_id, r.client_id, r.user_id, r.sid, r.scope,
                p_new_hash, r.auth_time, r.amr, p_now, LEAST(p_now + p_idle, r.family_expires_at),
                r.family_expires_at, NULL, NULL, r.origin_sid);
            status := 'ok';
        END IF;
    END IF;
    RETURN json_build_object(
        'status', status, 'family_id', r.family_id, 'user_id', r.user_id, 'sid', r.sid,
        'scope', r.scope, 'auth_time', r.auth_time, 'amr', r.amr, 'origin_sid', r.origin_sid,
        'expires_at', LEAST(p_now + p_idle, r.family_expires_at))::TEXT;
END $$;

ALTER TABLE grants DROP COLUMN risk_device, DROP COLUMN risk_ip;
