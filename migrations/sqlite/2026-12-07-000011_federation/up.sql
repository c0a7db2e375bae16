-- Federation (src/federation): a tenant's upstream identity providers and the identities linked
-- to its users. A provider's settings are one JSON value (domains, linking, mapping, MFA trust,
-- protocol); its client secret is sealed with the master key (AES-GCM), never in the JSON.
CREATE TABLE identity_providers (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    settings TEXT NOT NULL,
    sealed_secret TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_providers_slug ON identity_providers (tenant_id, slug);
-- One row per (provider, upstream subject): OIDC `sub` (issuer-scoped), Entra `tid:oid`, SAML
-- persistent NameID. Never keyed by e-mail. The primary key makes concurrent first sign-ins of
-- one upstream subject converge on one user.
CREATE TABLE federated_identities (
    idp_id TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (idp_id, subject)
);
CREATE INDEX federated_identities_user ON federated_identities (user_id);
