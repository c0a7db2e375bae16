DROP INDEX refresh_tokens_origin_sid;
ALTER TABLE refresh_tokens DROP COLUMN origin_sid;
