-- Administration (src/admin, issue 13): API keys, versions for If-Match, roles renamed.
-- An API key: its secret is stored only as a SHA-256 digest; `permissions` is a space-separated
-- list of `module:read|write`. Keys never hold `admins:write` (checked by src/admin/api_keys.rs).
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_digest TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
-- Optimistic concurrency (ETag / If-Match): every change of a row's representation bumps it.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- The earlier two rights are now roles.
UPDATE users SET admin_role = 'tenant_admin' WHERE admin_role = 'read-write';
UPDATE users SET admin_role = 'tenant_viewer' WHERE admin_role = 'read-only';
CREATE INDEX users_admins ON users (tenant_id, admin_role);
