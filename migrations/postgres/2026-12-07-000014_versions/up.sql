-- Optimistic concurrency (ETag / If-Match) for the admin API's policy and identity-provider
-- updates: every change of a tenant row or a provider row bumps its version.
ALTER TABLE tenants ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE identity_providers ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
