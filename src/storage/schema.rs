//! The one diesel schema shared by SQLite and PostgreSQL (portable column types only:
//! ids are UUID text, times are Unix seconds, JSON is text).

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        display_name -> Text,
        policy -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        username -> Text,
        username_normalized -> Text,
        email -> Nullable<Text>,
        email_normalized -> Nullable<Text>,
        display_name -> Nullable<Text>,
        enabled -> Bool,
        admin_role -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        email_verified -> Bool,
        version -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        occurred_at -> BigInt,
        action -> Text,
        outcome -> Text,
        actor -> Text,
        subject -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
        seq -> Nullable<BigInt>,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
        diff -> Nullable<Text>,
    }
}

diesel::table! {
    audit_heads (chain) {
        chain -> Text,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    audit_checkpoints (chain, seq) {
        chain -> Text,
        seq -> BigInt,
        hash -> Text,
        created_at -> BigInt,
        rows_removed -> BigInt,
    }
}

diesel::table! {
    maintenance_runs (job) {
        job -> Text,
        last_run_at -> BigInt,
        rows_removed -> BigInt,
    }
}

diesel::table! {
    setup_tokens (tenant_id) {
        tenant_id -> Text,
        token_hash -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(setup_tokens -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(tenants, users, audit_events, setup_tokens);

diesel::table! {
    clients (id) {
        id -> Text,
        tenant_id -> Text,
        client_id -> Text,
        name -> Text,
        kind -> Text,
        auth_method -> Text,
        secret_hash -> Nullable<Text>,
        settings -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        tenant_id -> Text,
        alg -> Text,
        private_key -> Binary,
        public_jwk -> Text,
        created_at -> BigInt,
        activates_at -> BigInt,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        tenant_id -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        sid -> Nullable<Text>,
        scope -> Text,
        token_hash -> Text,
        auth_time -> BigInt,
        amr -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        family_expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        origin_sid -> Nullable<Text>,
    }
}

diesel::table! {
    mfa_totp (user_id) {
        user_id -> Text,
        tenant_id -> Text,
        secret_sealed -> Binary,
        confirmed_at -> Nullable<BigInt>,
        last_step -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    webauthn_credentials (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        credential_id -> Text,
        name -> Text,
        passkey -> Text,
        discoverable -> Bool,
        backup_eligible -> Bool,
        backup_state -> Bool,
        sign_count -> BigInt,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    consents (tenant_id, user_id, client_id) {
        tenant_id -> Text,
        user_id -> Text,
        client_id -> Text,
        scopes -> Text,
        granted_at -> BigInt,
    }
}

diesel::table! {
    grants (family_id) {
        family_id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        client_id -> Text,
        origin_sid -> Nullable<Text>,
        offline -> Bool,
        scope -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        risk_ip -> Nullable<Text>,
        risk_device -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    clients,
    signing_keys,
    refresh_tokens,
    grants,
    consents,
    mfa_totp,
    webauthn_credentials,
    recovery_codes
);

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        kind -> Text,
        recipient -> Text,
        content -> Binary,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        sent_at -> Nullable<BigInt>,
        failed_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    mail_links (token_digest) {
        token_digest -> Text,
        tenant_id -> Text,
        user_id -> Nullable<Text>,
        purpose -> Text,
        address -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        previous_address -> Nullable<Text>,
    }
}

diesel::table! {
    registrations (token_digest) {
        token_digest -> Text,
        tenant_id -> Text,
        username -> Text,
        email -> Text,
        email_normalized -> Text,
        password_hash -> Text,
        invite_digest -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sign_in_events (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Nullable<Text>,
        kind -> Text,
        created_at -> BigInt,
        ip -> Text,
        country -> Nullable<Text>,
        city -> Nullable<Text>,
        asn -> Nullable<BigInt>,
        device -> Text,
        device_id -> Nullable<Text>,
        level -> Text,
        score -> Integer,
        reasons -> Text,
        decision -> Text,
        enforced -> Bool,
        result -> Text,
        feedback -> Nullable<Text>,
        feedback_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    risk_profiles (user_id) {
        user_id -> Text,
        summary -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    identity_providers (id) {
        id -> Text,
        tenant_id -> Text,
        slug -> Text,
        kind -> Text,
        display_name -> Text,
        enabled -> Bool,
        settings -> Text,
        sealed_secret -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    federated_identities (idp_id, subject) {
        idp_id -> Text,
        subject -> Text,
        tenant_id -> Text,
        user_id -> Text,
        email -> Nullable<Text>,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::joinable!(federated_identities -> identity_providers (idp_id));
diesel::allow_tables_to_appear_in_same_query!(identity_providers, federated_identities);

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        secret_digest -> Text,
        permissions -> Text,
        created_by -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}
