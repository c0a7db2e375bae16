-- Risk scoring (src/risk, src/auth/risk.rs). sign_in_events: one row per risk evaluation of a
-- sign-in (after the password, or a block before it) and per continuous evaluation that found a
-- change: where from (address, country, city, ASN, device description and known-device id), the
-- level with its score and reasons (JSON), the decision and whether it was enforced (audit-only
-- mode records without enforcing), the result, and the user's or an operator's feedback. Indexed
-- for a user's history, a tenant's history and the retention purge.
CREATE TABLE sign_in_events (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    country TEXT,
    city TEXT,
    asn BIGINT,
    device TEXT NOT NULL,
    device_id TEXT,
    level TEXT NOT NULL,
    score INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    decision TEXT NOT NULL,
    enforced BOOLEAN NOT NULL,
    result TEXT NOT NULL,
    feedback TEXT,
    feedback_at BIGINT
);
CREATE INDEX sign_in_events_user ON sign_in_events (tenant_id, user_id, created_at);
CREATE INDEX sign_in_events_tenant ON sign_in_events (tenant_id, created_at);
CREATE INDEX sign_in_events_created ON sign_in_events (created_at);
-- A user's recent successful sign-ins in brief (src/risk/profile.rs), one small JSON value,
-- rewritten under the row's lock at every successful sign-in.
CREATE TABLE risk_profiles (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    summary TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
