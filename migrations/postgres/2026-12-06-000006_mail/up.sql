-- Mail and self-service recovery.
-- Whether a user's address was proven (a verification link, or marked by an operator on import).
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- Outgoing mail, written in the transaction of the event that causes it and delivered by a
-- worker (src/mail/worker.rs). The message (subject and bodies, which may hold a one-time link)
-- is sealed with AES-256-GCM and wiped once delivered or given up. A row is claimed by setting
-- claimed_until (on PostgreSQL with FOR UPDATE SKIP LOCKED, so replicas never claim one twice).
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    content BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_created ON mail_outbox (created_at);

-- Single-use links sent by mail (verify an address, reset a password, accept an invitation):
-- the keyed digest of the token, never the token; one purpose each, so a link for one purpose
-- never works for another.
CREATE TABLE mail_links (
    token_digest TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT,
    purpose TEXT NOT NULL,
    address TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX mail_links_user ON mail_links (tenant_id, user_id, purpose);
CREATE INDEX mail_links_expiry ON mail_links (expires_at);
