-- The browser session a grant was issued in, also for offline grants (whose `sid` is NULL because
-- they outlive the session): a session ended against its holder (evicted by the session limit,
-- ended by the user or an administrator) revokes them too.
ALTER TABLE refresh_tokens ADD COLUMN origin_sid TEXT;
CREATE INDEX refresh_tokens_origin_sid ON refresh_tokens (tenant_id, origin_sid);
