-- The browser session a grant was issued in, also for offline grants (whose `sid` is NULL because
-- they outlive the session): a session ended against its holder (evicted by the session limit,
-- ended by the user or an administrator) revokes them too. A session-bound grant's `sid` equals
-- its `origin_sid`, so one index serves both lookups.
ALTER TABLE refresh_tokens ADD COLUMN origin_sid TEXT;
UPDATE refresh_tokens SET origin_sid = sid WHERE sid IS NOT NULL;
DROP INDEX refresh_tokens_sid;
CREATE INDEX refresh_tokens_origin_sid ON refresh_tokens (tenant_id, origin_sid);
