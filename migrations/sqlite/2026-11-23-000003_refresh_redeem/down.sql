DROP INDEX refresh_tokens_origin_sid;
CREATE INDEX refresh_tokens_sid ON refresh_tokens (tenant_id, sid);
ALTER TABLE refresh_tokens DROP COLUMN origin_sid;
