-- Tamper-evident audit log (src/domain/audit_chain.rs, src/storage/audit.rs): every audit row
-- gets its position in its tenant's chain (`seq`, from 1; instance-level rows, tenant_id NULL,
-- form the chain ""), the hash of the row before it and its own hash,
-- hash = SHA-256(prev_hash || canonical JSON of the row). `diff`: before/after of an
-- administrative change, secrets redacted (src/domain/audit_diff.rs). Rows written before this
-- migration keep a NULL seq: they are outside the chain and `watchword audit verify` reports
-- them as unchained.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
ALTER TABLE audit_events ADD COLUMN diff TEXT;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (tenant_id, seq);
-- NULLs are distinct in a unique index: instance-level rows get their own.
CREATE UNIQUE INDEX audit_events_instance_chain ON audit_events (seq) WHERE tenant_id IS NULL;
CREATE INDEX audit_events_subject ON audit_events (tenant_id, subject, occurred_at);
-- The end of each chain: its last seq and hash, advanced by one upsert under the row's lock in
-- the transaction that appends the row.
CREATE TABLE audit_heads (
    chain TEXT PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
-- Where the retention purge cut a chain: the seq and hash of the last row it deleted, so the
-- chain still verifies from there.
CREATE TABLE audit_checkpoints (
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    rows_removed BIGINT NOT NULL,
    PRIMARY KEY (chain, seq)
);
-- The last run of each retention job (src/jobs.rs): `audit_events`, `sign_in_events`.
CREATE TABLE maintenance_runs (
    job TEXT PRIMARY KEY NOT NULL,
    last_run_at BIGINT NOT NULL,
    rows_removed BIGINT NOT NULL
);
