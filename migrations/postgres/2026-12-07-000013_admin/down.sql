DROP INDEX users_admins;
UPDATE users SET admin_role = 'read-write' WHERE admin_role IN ('tenant_admin', 'instance_admin', 'user_manager');
UPDATE users SET admin_role = 'read-only' WHERE admin_role IN ('tenant_viewer', 'auditor');
ALTER TABLE clients DROP COLUMN version;
ALTER TABLE users DROP COLUMN version;
DROP TABLE api_keys;
