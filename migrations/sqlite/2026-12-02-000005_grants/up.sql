-- One row per grant (refresh-token family), written once when a code is exchanged: who granted
-- what to which client, in which browser session, until when. Listing a user's grants (the
-- account page's applications), revoking a user's, a client's or a session's grants go through
-- it, so the per-rotation refresh_tokens table needs no index for them.
CREATE TABLE grants (
    family_id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    origin_sid TEXT,
    offline BOOLEAN NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX grants_user ON grants (tenant_id, user_id);
CREATE INDEX grants_client ON grants (tenant_id, client_id);
CREATE INDEX grants_origin_sid ON grants (tenant_id, origin_sid);
CREATE INDEX grants_expiry ON grants (expires_at);
INSERT INTO grants (family_id, tenant_id, user_id, client_id, origin_sid, offline, scope, created_at, expires_at)
    SELECT family_id, MIN(tenant_id), MIN(user_id), MIN(client_id), MIN(origin_sid),
           MIN(sid) IS NULL, MIN(scope), MIN(issued_at), MAX(family_expires_at)
    FROM refresh_tokens GROUP BY family_id;
-- Session lookups now go through grants.
DROP INDEX refresh_tokens_origin_sid;
