-- Self-registration (src/registration/): a sign-up waiting for its address to be proven. The
-- account does not exist until the mailed link is used; this row holds what it will be made of:
-- the keyed digest of the link's token (never the token), the password only as its Argon2id hash
-- (wiped when the link is used), and the invitation it was made with, used up at the same time.
-- One row per tenant and address: a newer sign-up replaces the older one (only the newest link
-- works). Invitations themselves are mail_links rows (purpose `invite` or `invite_mailed`).
CREATE TABLE registrations (
    token_digest TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    invite_digest TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE UNIQUE INDEX registrations_address ON registrations (tenant_id, email_normalized);
CREATE INDEX registrations_expiry ON registrations (expires_at);
