CREATE INDEX refresh_tokens_origin_sid ON refresh_tokens (tenant_id, origin_sid);
DROP TABLE grants;
