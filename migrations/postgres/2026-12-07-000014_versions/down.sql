ALTER TABLE identity_providers DROP COLUMN version;
ALTER TABLE tenants DROP COLUMN version;
