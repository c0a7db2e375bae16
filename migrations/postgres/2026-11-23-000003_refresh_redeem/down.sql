ALTER TABLE refresh_tokens RESET (fillfactor);
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
DROP FUNCTION ww_redeem_refresh(TEXT, TEXT, TEXT, BIGINT, TEXT, TEXT, BIGINT, TEXT);
DROP INDEX refresh_tokens_origin_sid;
CREATE INDEX refresh_tokens_sid ON refresh_tokens (tenant_id, sid);
ALTER TABLE refresh_tokens DROP COLUMN origin_sid;
